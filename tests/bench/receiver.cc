// bench_receiver: the webhook subscriber of the benchmark. An epoll HTTP/1.1 server on
// 127.0.0.1 that answers every POST with 204 No Content, keeps connections alive and counts.
//
// When a request body holds `"bench_ns":<unix ns>` (the load generator puts its send time
// there), the receiver records now - bench_ns into a histogram: publish-to-delivered latency
// measured on the same clock at both ends, at 10 µs resolution (100 ms beyond 1 s).
//
//   GET /stats   {"requests":N,"latency_count":N,"p50_ms":..,"p99_ms":..,"max_ms":..,
//                 "first_ns":..,"last_ns":..}   (POSTs since start or the last reset)
//   GET /reset   zeroes the counters and the histogram (call it while idle)
//   GET /wait?requests=N&ms=T   {"requests":N} once N POSTs have arrived, or after T ms:
//                one cheap call per second instead of a poll loop of /stats, so that
//                watching a run does not take CPU from what it measures
//
// Usage: bench_receiver [--port=0] [--threads=2]. Prints {"port":N} on stdout once listening.
// One SO_REUSEPORT listener and epoll loop per thread; counters are per-thread atomics.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// Latency buckets: 10 µs wide up to 1 s, then 100 ms wide up to 60 s (the last one open).
constexpr int kFineBuckets = 100000;
constexpr int64_t kFineNs = 10000;
constexpr int64_t kCoarseNs = 100000000;
constexpr int kBuckets = kFineBuckets + 590;
constexpr std::string_view kNoContent = "HTTP/1.1 204 No Content\r\nServer: bench\r\n\r\n";

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t UpperEdgeNs(int bucket) {
  if (bucket < kFineBuckets) return (bucket + 1) * kFineNs;
  return kFineBuckets * kFineNs + (bucket - kFineBuckets + 1) * kCoarseNs;
}

int BucketOf(int64_t ns) {
  if (ns < kFineBuckets * kFineNs) return static_cast<int>(std::max<int64_t>(ns, 0) / kFineNs);
  const int64_t coarse = (ns - kFineBuckets * kFineNs) / kCoarseNs;
  return static_cast<int>(std::min<int64_t>(kFineBuckets + coarse, kBuckets - 1));
}

struct Stats {
  std::atomic<uint64_t> requests{0};
  std::atomic<int64_t> first_ns{0};
  std::atomic<int64_t> last_ns{0};
  std::unique_ptr<std::atomic<uint32_t>[]> hist { new std::atomic<uint32_t>[ kBuckets ]() };
};

std::vector<std::unique_ptr<Stats>> g_stats;

void Reset() {
  for (auto& s : g_stats) {
    s->requests = 0;
    s->first_ns = 0;
    s->last_ns = 0;
    for (int i = 0; i < kBuckets; ++i) s->hist[i].store(0, std::memory_order_relaxed);
  }
}

std::string StatsJson() {
  uint64_t requests = 0, count = 0;
  int64_t first = 0, last = 0;
  std::vector<uint64_t> h(kBuckets, 0);
  for (auto& s : g_stats) {
    requests += s->requests.load();
    const int64_t f = s->first_ns.load();
    if (f != 0 && (first == 0 || f < first)) first = f;
    last = std::max(last, s->last_ns.load());
    for (int i = 0; i < kBuckets; ++i) {
      h[i] += s->hist[i].load(std::memory_order_relaxed);
      count += s->hist[i].load(std::memory_order_relaxed);
    }
  }
  auto quantile_ms = [&](double q) {
    if (count == 0) return -1.0;
    const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(q * count + 0.999999));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += h[i];
      if (seen >= rank) return UpperEdgeNs(i) / 1e6;
    }
    return UpperEdgeNs(kBuckets - 1) / 1e6;
  };
  char buf[512];
  snprintf(buf, sizeof(buf),
           "{\"requests\":%llu,\"latency_count\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"first_ns\":%lld,\"last_ns\":%lld}",
           static_cast<unsigned long long>(requests), static_cast<unsigned long long>(count),
           quantile_ms(0.5), quantile_ms(0.9), quantile_ms(0.99), quantile_ms(1.0),
           static_cast<long long>(first), static_cast<long long>(last));
  return buf;
}

// Case-insensitive search for a header's value in a request head.
size_t ContentLength(std::string_view head) {
  constexpr std::string_view kName = "\r\ncontent-length:";
  for (size_t i = 0; i + kName.size() <= head.size(); ++i) {
    size_t j = 0;
    while (j < kName.size() && std::tolower(static_cast<unsigned char>(head[i + j])) == kName[j]) {
      ++j;
    }
    if (j == kName.size()) return strtoull(head.data() + i + j, nullptr, 10);
  }
  return 0;
}

void RecordLatency(Stats& s, std::string_view body, int64_t now) {
  constexpr std::string_view kKey = "\"bench_ns\":";
  const size_t at = body.find(kKey);
  if (at == std::string_view::npos) return;
  const int64_t sent = strtoll(body.data() + at + kKey.size(), nullptr, 10);
  if (sent < 1500000000000000000LL) return;  // not a send time (see payload.h)
  s.hist[BucketOf(now - sent)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t Requests() {
  uint64_t n = 0;
  for (auto& s : g_stats) n += s->requests.load(std::memory_order_relaxed);
  return n;
}

struct Conn {
  int fd;
  std::string in;
  std::string out;
  // A /wait in progress: answered once Requests() >= wait_requests or at wait_until_ns.
  uint64_t wait_requests = 0;
  int64_t wait_until_ns = 0;
};

// The value of `name=` in a request target's query, or `fallback`.
int64_t QueryInt(std::string_view head, std::string_view name, int64_t fallback) {
  const std::string_view target = head.substr(0, head.find(' ', 4));
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return fallback;
  size_t at = q;
  while ((at = target.find(name, at + 1)) != std::string_view::npos) {
    const char before = target[at - 1];
    if ((before == '?' || before == '&') && target.substr(at + name.size(), 1) == "=") {
      return strtoll(target.data() + at + name.size() + 1, nullptr, 10);
    }
  }
  return fallback;
}

void AppendJson(Conn& c, const std::string& payload) {
  c.out += "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ";
  c.out += std::to_string(payload.size()) + "\r\n\r\n" + payload;
}

bool Flush(Conn& c) {
  while (!c.out.empty()) {
    const ssize_t n = write(c.fd, c.out.data(), c.out.size());
    if (n < 0) return errno == EAGAIN;
    c.out.erase(0, n);
  }
  return true;
}

// Answers a waiting /wait if it is due; true when answered.
bool AnswerWait(Conn& c, int64_t now) {
  const uint64_t got = Requests();
  if (got < c.wait_requests && now < c.wait_until_ns) return false;
  c.wait_until_ns = 0;
  AppendJson(c, "{\"requests\":" + std::to_string(got) + "}");
  return true;
}

// Answers every complete request in c.in; returns false to close the connection.
bool Serve(Conn& c, Stats& s) {
  size_t pos = 0;
  while (true) {
    const size_t end = c.in.find("\r\n\r\n", pos);
    if (end == std::string::npos) break;
    const std::string_view head(c.in.data() + pos, end - pos);
    const size_t body_len = ContentLength(head);
    if (c.in.size() < end + 4 + body_len) break;
    const std::string_view body(c.in.data() + end + 4, body_len);
    if (head.substr(0, 4) == "GET ") {
      if (head.substr(4, 6) == "/reset") {
        Reset();
        AppendJson(c, "{}");
      } else if (head.substr(4, 6) == "/wait?") {
        c.wait_requests = QueryInt(head, "requests", 0);
        c.wait_until_ns = NowNs() + QueryInt(head, "ms", 1000) * 1000000;
        if (!AnswerWait(c, NowNs())) {  // the loop answers it later
          pos = end + 4 + body_len;
          break;
        }
      } else {
        AppendJson(c, StatsJson());
      }
    } else {
      const int64_t now = NowNs();
      s.requests.fetch_add(1, std::memory_order_relaxed);
      int64_t zero = 0;
      s.first_ns.compare_exchange_strong(zero, now, std::memory_order_relaxed);
      s.last_ns.store(now, std::memory_order_relaxed);
      RecordLatency(s, body, now);
      c.out += kNoContent;
    }
    pos = end + 4 + body_len;
  }
  c.in.erase(0, pos);
  return Flush(c);
}

int Listen(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4096) != 0) {
    perror("bench_receiver: bind/listen");
    exit(1);
  }
  return fd;
}

void Loop(int listen_fd, Stats& s) {
  const int ep = epoll_create1(0);
  epoll_event ev{.events = EPOLLIN, .data = {.ptr = nullptr}};
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  std::vector<epoll_event> events(256);
  char buf[65536];
  std::vector<Conn*> waiting;  // connections with a /wait in progress
  while (true) {
    const int n =
        epoll_wait(ep, events.data(), static_cast<int>(events.size()), waiting.empty() ? -1 : 2);
    const int64_t now = NowNs();
    std::erase_if(waiting, [&](Conn* c) {
      if (c->wait_until_ns == 0) return true;  // closed meanwhile
      if (!AnswerWait(*c, now)) return false;
      Flush(*c);
      return true;
    });
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        int fd;
        while ((fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          const int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          epoll_event cev{.events = EPOLLIN, .data = {.ptr = new Conn{fd, {}, {}}}};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      std::unique_ptr<Conn> c(static_cast<Conn*>(events[i].data.ptr));
      bool open = true;
      while (open) {
        const ssize_t r = read(c->fd, buf, sizeof(buf));
        if (r > 0) {
          c->in.append(buf, r);
          if (r < static_cast<ssize_t>(sizeof(buf))) break;
        } else {
          open = r < 0 && errno == EAGAIN;
          break;
        }
      }
      if (open && c->wait_until_ns == 0) open = Serve(*c, s);
      if (open) {
        if (c->wait_until_ns != 0 &&
            std::find(waiting.begin(), waiting.end(), c.get()) == waiting.end()) {
          waiting.push_back(c.get());
        }
        c.release();  // still owned by epoll
      } else {
        std::erase(waiting, c.get());
        close(c->fd);  // also removes it from the epoll set
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, threads = 2;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--port=", 0) == 0) port = atoi(argv[i] + 7);
    if (a.rfind("--threads=", 0) == 0) threads = std::max(1, atoi(argv[i] + 10));
  }
  std::vector<int> fds;
  fds.push_back(Listen(port));
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  getsockname(fds[0], reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  for (int i = 1; i < threads; ++i) fds.push_back(Listen(port));
  for (int i = 0; i < threads; ++i) g_stats.push_back(std::make_unique<Stats>());
  printf("{\"port\":%d}\n", port);
  fflush(stdout);
  std::vector<std::thread> loops;
  for (int i = 0; i < threads; ++i) loops.emplace_back(Loop, fds[i], std::ref(*g_stats[i]));
  for (auto& t : loops) t.join();
}
