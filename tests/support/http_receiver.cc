#include "tests/support/http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/status_macros.h"
#include "tests/support/http_wire.h"
#include "tests/support/unique_fd.h"

namespace hookrelay::testing {
namespace {

constexpr size_t kMaxHeadSize = 1 << 20;
constexpr size_t kMaxLineSize = 64 << 10;
constexpr size_t kReadChunk = 64 << 10;

// Milliseconds until `deadline` for poll(): at least 1 unless passed, at most INT_MAX.
int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1, INT_MAX));
}

// Polls `fd` for `events` together with `stop_fd` for readability until `deadline`. Returns
// the revents of `fd` (0 on timeout), or -1 once `stop_fd` is readable.
int PollWithStop(int fd, short events, int stop_fd, absl::Time deadline = absl::InfiniteFuture()) {
  pollfd fds[2] = {{stop_fd, POLLIN, 0}, {fd, events, 0}};
  while (true) {
    const int n = poll(fds, fd >= 0 ? 2 : 1, PollTimeoutMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[0].revents != 0) return -1;
    if (n > 0 || absl::Now() >= deadline) return fds[1].revents;
  }
}

// One accepted connection: buffered reads and writes that also give up once the receiver
// stops (its stop eventfd becomes readable). Used by one thread.
class Connection {
 public:
  Connection(UniqueFd fd, int stop_fd) : fd_(std::move(fd)), stop_fd_(stop_fd) {}

  // Moves the bytes before `delimiter` into `out` and drops the delimiter. Returns false on
  // EOF, error, stop, or more than `limit` bytes without the delimiter.
  bool ReadUntil(absl::string_view delimiter, size_t limit, std::string& out) {
    size_t pos;
    while ((pos = buffer_.find(delimiter.data(), 0, delimiter.size())) == std::string::npos) {
      if (buffer_.size() >= limit + delimiter.size() || !Fill()) return false;
    }
    out.assign(buffer_, 0, pos);
    buffer_.erase(0, pos + delimiter.size());
    return true;
  }

  // Appends the next `n` bytes to `out`.
  bool ReadExactly(size_t n, std::string& out) {
    while (buffer_.size() < n) {
      if (!Fill()) return false;
    }
    out.append(buffer_, 0, n);
    buffer_.erase(0, n);
    return true;
  }

  size_t buffered() const { return buffer_.size(); }

  bool WriteAll(absl::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return false;
      } else if (n < 0 && errno == EAGAIN && PollWithStop(fd_.get(), POLLOUT, stop_fd_) < 0) {
        return false;
      }
    }
    return true;
  }

  // Waits for `delay`. Returns false if the receiver stops meanwhile.
  bool Delay(absl::Duration delay) {
    return PollWithStop(-1, 0, stop_fd_, absl::Now() + delay) >= 0;
  }

  // Returns once the peer closes or resets the connection, or the receiver stops.
  void Hang() { PollWithStop(fd_.get(), POLLRDHUP, stop_fd_); }

  // Closes the connection with a TCP RST.
  void Reset() {
    const linger abort = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    fd_.Reset();
  }

 private:
  bool Fill() {
    char chunk[kReadChunk];
    while (true) {
      const ssize_t n = recv(fd_.get(), chunk, sizeof(chunk), MSG_DONTWAIT);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) return false;
      if (errno == EAGAIN && PollWithStop(fd_.get(), POLLIN, stop_fd_) < 0) return false;
    }
  }

  UniqueFd fd_;
  const int stop_fd_;
  std::string buffer_;
};

bool ReadChunkedBody(Connection& connection, std::string& body) {
  std::string line;
  while (true) {
    if (!connection.ReadUntil("\r\n", kMaxLineSize, line)) return false;
    absl::StatusOr<size_t> size = http_wire::ParseChunkSize(line);
    if (!size.ok()) return false;
    if (*size == 0) break;
    if (!connection.ReadExactly(*size, body) || !connection.ReadUntil("\r\n", 0, line)) {
      return false;
    }
  }
  do {  // Trailer fields up to the blank line.
    if (!connection.ReadUntil("\r\n", kMaxLineSize, line)) return false;
  } while (!line.empty());
  return true;
}

// Reads the next request. Returns false if the connection must close: EOF, error, stop, or
// a malformed request (answered with 400).
bool ReadRequest(Connection& connection, ReceivedRequest& request, bool& keep_alive) {
  std::string head_text;
  if (!connection.ReadUntil("\r\n\r\n", kMaxHeadSize, head_text)) return false;
  absl::StatusOr<http_wire::RequestHead> head = http_wire::ParseRequestHead(head_text);
  absl::StatusOr<http_wire::BodyFraming> framing =
      head.ok() ? http_wire::GetBodyFraming(*head) : head.status();
  if (!framing.ok()) {
    connection.WriteAll(http_wire::kBadRequest);  // Best effort: closing either way.
    return false;
  }
  const bool body_pending = framing->chunked || connection.buffered() < framing->content_length;
  if (body_pending && http_wire::ExpectsContinue(*head) &&
      !connection.WriteAll(http_wire::kContinue)) {
    return false;
  }
  std::string body;
  if (!(framing->chunked ? ReadChunkedBody(connection, body)
                         : connection.ReadExactly(framing->content_length, body))) {
    return false;
  }
  keep_alive = http_wire::KeepAlive(*head);
  request = ReceivedRequest{.method = std::move(head->method),
                            .path = std::move(head->target),
                            .body = std::move(body),
                            .headers = std::move(head->headers),
                            .received_at = absl::Now()};
  return true;
}

// Returns a socket listening on 127.0.0.1 on an ephemeral port.
absl::StatusOr<UniqueFd> ListenOnLoopback() {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "http receiver: socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::ErrnoToStatus(errno, "http receiver: bind 127.0.0.1:0");
  }
  if (listen(fd.get(), SOMAXCONN) != 0) return absl::ErrnoToStatus(errno, "http receiver: listen");
  return fd;
}

absl::StatusOr<int> LocalPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::ErrnoToStatus(errno, "http receiver: getsockname");
  }
  return ntohs(addr.sin_port);
}

}  // namespace

// Design: one accept thread; one thread per connection, which reads a request, records it,
// asks the handler, waits the reply's delay, and answers or misbehaves. Every wait also
// polls a stop eventfd that the destructor makes readable (and nobody ever reads), so all
// threads return promptly; the accept thread joins the connection threads before it exits.
class HttpReceiver::Impl {
 public:
  Impl(UniqueFd listen_fd, UniqueFd stop_fd, int port, Handler handler)
      : listen_fd_(std::move(listen_fd)),
        stop_fd_(std::move(stop_fd)),
        port_(port),
        handler_(std::move(handler)),
        accept_thread_([this] { AcceptLoop(); }) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;  // Releases handlers blocked in WaitForRequests().
    }
    cv_.notify_all();
    eventfd_write(stop_fd_.get(), 1);
    accept_thread_.join();
  }

  int port() const { return port_; }

  void SetHandler(Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }

  std::vector<ReceivedRequest> Requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  size_t RequestCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }

  bool WaitForRequests(size_t n, absl::Duration timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                 [this, n] { return requests_.size() >= n || stopping_; });
    return requests_.size() >= n;
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.clear();
  }

 private:
  struct ConnectionThread {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void AcceptLoop();
  void Serve(UniqueFd fd);
  // Records `request` and returns the handler's reply to it.
  Reply RecordAndDecide(const ReceivedRequest& request);
  // Applies `reply`'s delay and fault, or sends it. Returns whether to keep the connection.
  bool Answer(Connection& connection, const ReceivedRequest& request, const Reply& reply,
              bool keep_alive);

  const UniqueFd listen_fd_;
  const UniqueFd stop_fd_;
  const int port_;
  // std::mutex, not absl::Mutex: ThreadSanitizer sees its ordering (Debian's Abseil is not
  // built for TSan).
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;     // requests_ grew or stopping_
  Handler handler_;                        // guarded by mu_
  std::vector<ReceivedRequest> requests_;  // guarded by mu_
  bool stopping_ = false;                  // guarded by mu_
  std::thread accept_thread_;              // Last: starts once everything else is initialised.
};

void HttpReceiver::Impl::AcceptLoop() {
  std::list<ConnectionThread> connections;
  while (PollWithStop(listen_fd_.get(), POLLIN, stop_fd_.get()) >= 0) {
    UniqueFd fd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) continue;
    const int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (auto it = connections.begin(); it != connections.end();) {
      if (!it->done.load()) {
        ++it;
        continue;
      }
      it->thread.join();
      it = connections.erase(it);
    }
    ConnectionThread& connection = connections.emplace_back();
    connection.thread = std::thread([this, fd = std::move(fd), &done = connection.done]() mutable {
      Serve(std::move(fd));
      done.store(true);
    });
  }
  for (ConnectionThread& connection : connections) connection.thread.join();
}

void HttpReceiver::Impl::Serve(UniqueFd fd) {
  Connection connection(std::move(fd), stop_fd_.get());
  ReceivedRequest request;
  bool keep_alive = false;
  while (ReadRequest(connection, request, keep_alive)) {
    const Reply reply = RecordAndDecide(request);
    if (!Answer(connection, request, reply, keep_alive)) return;
  }
}

Reply HttpReceiver::Impl::RecordAndDecide(const ReceivedRequest& request) {
  Handler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    handler = handler_;
  }
  cv_.notify_all();
  return handler ? handler(request) : Reply{};
}

bool HttpReceiver::Impl::Answer(Connection& connection, const ReceivedRequest& request,
                                const Reply& reply, bool keep_alive) {
  if (reply.delay > absl::ZeroDuration() && !connection.Delay(reply.delay)) return false;
  switch (reply.fault) {
    case Reply::Fault::kReset:
      connection.Reset();
      return false;
    case Reply::Fault::kHang:
      connection.Hang();
      return false;
    case Reply::Fault::kNone:
      break;
  }
  const bool close = !keep_alive || http_wire::ClosesConnection(reply);
  const bool head_request = request.method == "HEAD";
  return connection.WriteAll(http_wire::SerializeReply(reply, close, head_request)) && !close;
}

absl::StatusOr<std::unique_ptr<HttpReceiver>> HttpReceiver::Start(Handler handler) {
  HR_ASSIGN_OR_RETURN(UniqueFd listen_fd, ListenOnLoopback());
  HR_ASSIGN_OR_RETURN(const int port, LocalPort(listen_fd.get()));
  UniqueFd stop_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd.valid()) return absl::ErrnoToStatus(errno, "http receiver: eventfd");
  auto impl =
      std::make_unique<Impl>(std::move(listen_fd), std::move(stop_fd), port, std::move(handler));
  return std::unique_ptr<HttpReceiver>(new HttpReceiver(std::move(impl)));
}

HttpReceiver::HttpReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpReceiver::~HttpReceiver() = default;

int HttpReceiver::port() const { return impl_->port(); }

std::string HttpReceiver::Url(absl::string_view path) const {
  return absl::StrCat("http://127.0.0.1:", impl_->port(), path);
}

void HttpReceiver::SetHandler(Handler handler) { impl_->SetHandler(std::move(handler)); }
std::vector<ReceivedRequest> HttpReceiver::Requests() const { return impl_->Requests(); }
size_t HttpReceiver::RequestCount() const { return impl_->RequestCount(); }
bool HttpReceiver::WaitForRequests(size_t n, absl::Duration timeout) const {
  return impl_->WaitForRequests(n, timeout);
}
void HttpReceiver::Clear() { impl_->Clear(); }

}  // namespace hookrelay::testing
