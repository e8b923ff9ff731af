#include "libs/http/sender.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/thread_name.h"
#include "libs/http/connector.h"
#include "libs/http/idle_pool.h"
#include "libs/http/response_parser.h"
#include "libs/http/target.h"

namespace hookrelay::http {

absl::Duration DeliveryTimeout(int64_t timeout_ms) {
  if (timeout_ms <= 0) return kDefaultDeliveryTimeout;
  return std::min(absl::Milliseconds(timeout_ms), kMaxDeliveryTimeout);
}
namespace {

constexpr size_t kReadChunk = 16 * 1024;
// How long an unused connection is kept. Servers close idle ones too (Node after 5 s, nginx
// after 75 s); a request that finds its reused connection closed is sent once more on a
// fresh one.
constexpr absl::Duration kMaxIdle = absl::Seconds(30);
constexpr absl::Duration kSweepEvery = absl::Seconds(1);
constexpr int kMaxSendsPerRequest = 2;
constexpr size_t kMaxCachedTargets = 4096;
// Completed transfers kept for the submitting thread to free (see finished_), at most.
constexpr size_t kMaxFinished = 1024;

void GlobalInit() {
  static const bool once = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)once;
}

}  // namespace

const char* FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kNone:
      return "none";
    case FailureKind::kTimeout:
      return "timeout";
    case FailureKind::kConnect:
      return "connect";
    case FailureKind::kDns:
      return "dns";
    case FailureKind::kTls:
      return "tls";
    case FailureKind::kBlocked:
      return "blocked";
    case FailureKind::kInvalidTarget:
      return "invalid_target";
    case FailureKind::kAborted:
      return "aborted";
  }
  return "unknown";
}

absl::Status SenderOptions::Validate() const {
  if (max_in_flight < 1 || max_in_flight > 65536) {
    return absl::InvalidArgumentError("max_in_flight: must be in [1, 65536]");
  }
  if (connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout: must be positive");
  }
  if (connect_threads < 1 || connect_threads > 256) {
    return absl::InvalidArgumentError("connect_threads: must be in [1, 256]");
  }
  if (!ca_file.empty() && access(ca_file.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ca_file: cannot read ", ca_file));
  }
  return absl::OkStatus();
}

struct Connection;

// One request on its way, from Submit to its completion.
struct Transfer {
  HttpSender::Completion done;
  HttpResponse response;
  FailureKind invalid = FailureKind::kNone;  // the request cannot be sent (set by Submit)
  std::string origin;
  std::string wire;  // request line, headers and body, as sent
  size_t sent = 0;
  int sends = 0;  // connections it was sent on
  absl::Time start;
  absl::Time deadline;
  absl::Duration timeout;
  std::optional<ResponseParser> parser;
  Connection* conn = nullptr;
  std::multimap<absl::Time, Transfer*>::iterator timer;
};

// A kept-alive connection: its libcurl handle, and the transfer it carries, if any.
struct Connection {
  CURL* easy = nullptr;
  int fd = -1;
  std::string origin;
  Transfer* transfer = nullptr;
  bool reused = false;   // carried a request before
  bool writing = false;  // waiting for EPOLLOUT
};

class HttpSender::Impl {
 public:
  Impl(SenderOptions options, AddressGuard guard)
      : options_(std::move(options)),
        guard_(std::move(guard)),
        epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
        wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
        connector_(std::make_unique<Connector>(guard_, options_, [this] { Wake(); })) {
    epoll_event ev{.events = EPOLLIN, .data = {.ptr = nullptr}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  }
  ~Impl() {
    connector_.reset();  // joins the dialing threads, which wake the loop through wake_fd_
    for (Connection* c : idle_.TakeAll()) CloseConnection(c);
    close(wake_fd_);
    close(epoll_fd_);
  }

  absl::Status Ready() const {
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      return absl::InternalError("http sender: cannot create epoll or eventfd");
    }
    return absl::OkStatus();
  }

  void StartThread() {
    thread_ = std::thread([this] {
      core::NameThisThread("hr-sender");
      Loop();
    });
  }

  // Formats the request on the caller's thread, and frees the transfers completed since the
  // last call: what a thread allocates is freed by that thread (freeing another thread's
  // memory takes glibc's arena lock, which the two threads then fight over: 0.56 futex calls
  // per delivery in a drain before, 0.05 after).
  void Submit(HttpRequest request, Completion done) {
    auto t = std::make_unique<Transfer>();
    t->done = std::move(done);
    t->timeout = request.timeout;
    Prepare(request, t.get());
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    bool wake = false;
    bool queued = false;
    std::vector<std::unique_ptr<Transfer>> finished;  // freed below, outside the lock
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished.swap(finished_);
      if (!stopping_) {
        // The loop takes the whole queue at once: only the first request of a burst needs
        // to wake it, and none submitted from the loop itself (completions submit more).
        wake = incoming_.empty() && std::this_thread::get_id() != loop_id_;
        incoming_.push_back(std::move(t));
        queued = true;
      }
    }
    if (!queued) {
      Answer(*t, FailureKind::kAborted, "sender stopped");  // freed here, on its own thread
      return;
    }
    if (wake) Wake();
  }

  int InFlight() const { return in_flight_.load(std::memory_order_relaxed); }

  void Stop(absl::Duration deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        stopping_ = true;
        abort_at_ = absl::Now() + deadline;
      }
    }
    Wake();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Wake() {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
  void Loop();
  int WaitMillis(absl::Time now) const;
  void TakeIncoming();
  void StartWaiting();
  void Prepare(const HttpRequest& request, Transfer* t);
  void Begin(std::unique_ptr<Transfer> t);
  void Dial(Transfer* t);
  void TakeConnections();
  void Bind(Transfer* t, Connection* c);
  void Write(Connection* c);
  void Read(Connection* c);
  void OnEvent(Connection* c, uint32_t events);
  void Succeeded(Connection* c);
  void Broke(Connection* c, std::string error);
  void Expire(absl::Time now);
  void SweepIdle(absl::Time now);
  void Watch(Connection* c, bool writing);
  void CloseConnection(Connection* c);
  void DropIdle(Connection* c);
  void Complete(Transfer* t, FailureKind failure, std::string error);
  void AbortAll();
  void Finish(std::unique_ptr<Transfer> t, FailureKind failure, std::string error);
  // Completes `t` with `failure` (kNone: its response) and counts it out of the in-flight.
  void Answer(Transfer& t, FailureKind failure, std::string error);

  const SenderOptions options_;
  const AddressGuard guard_;
  const int epoll_fd_;
  const int wake_fd_;  // eventfd: Submit(), Stop() and finished dials wake the loop
  std::unique_ptr<Connector> connector_;
  std::thread thread_;
  std::thread::id loop_id_;
  std::atomic<int> in_flight_{0};

  std::mutex mu_;  // guards incoming_, finished_, stopping_, abort_at_
  std::vector<std::unique_ptr<Transfer>> incoming_;
  // Completed transfers, handed back to be freed by the next Submit(): most were allocated
  // by the submitting thread, and glibc frees a block of another thread's arena under that
  // arena's lock, which the submitter's allocations then wait on.
  std::vector<std::unique_ptr<Transfer>> finished_;
  bool stopping_ = false;
  absl::Time abort_at_;

  std::mutex targets_mu_;                             // guards targets_
  absl::flat_hash_map<std::string, Target> targets_;  // by URL

  // Loop thread only.
  std::vector<std::unique_ptr<Transfer>> taken_;
  std::vector<std::unique_ptr<Transfer>> spent_;  // completed; moved to finished_ in batches
  std::deque<std::unique_ptr<Transfer>> waiting_;
  int active_ = 0;        // transfers dialing or on a connection
  bool aborted_ = false;  // AbortAll() ran: finished dials are not used any more
  uint64_t next_dial_ = 0;
  absl::flat_hash_map<uint64_t, Transfer*> dialing_;
  absl::flat_hash_map<Connection*, std::unique_ptr<Transfer>> busy_;  // owns bound transfers
  IdlePool<Connection> idle_;
  std::multimap<absl::Time, Transfer*> timers_;  // deadlines on the wire
  absl::Time next_sweep_;
  char buf_[kReadChunk];
};

void HttpSender::Impl::Loop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    loop_id_ = std::this_thread::get_id();
  }
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (true) {
    TakeConnections();
    TakeIncoming();
    bool stopping;
    bool incoming;
    absl::Time abort_at;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = stopping_;
      incoming = !incoming_.empty();
      abort_at = abort_at_;
    }
    // A request submitted just before Stop() may still sit in incoming_: take it first.
    if (stopping && active_ == 0 && waiting_.empty() && !incoming) return;
    absl::Time now = absl::Now();
    if (stopping && !aborted_ && now >= abort_at) {
      AbortAll();  // dials still running come back aborted
      continue;
    }
    int wait = incoming ? 0 : WaitMillis(now);
    if (stopping) wait = std::min(wait, 50);
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, wait);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof(count));
        continue;
      }
      OnEvent(static_cast<Connection*>(events[i].data.ptr), events[i].events);
    }
    now = absl::Now();
    Expire(now);
    if (now >= next_sweep_) SweepIdle(now);
    StartWaiting();
  }
}

int HttpSender::Impl::WaitMillis(absl::Time now) const {
  absl::Time until = next_sweep_;
  if (!timers_.empty()) until = std::min(until, timers_.begin()->first);
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(until - now, absl::Milliseconds(1)));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

void HttpSender::Impl::TakeIncoming() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    taken_.swap(incoming_);
    if (finished_.size() < kMaxFinished) {
      if (finished_.empty()) {
        finished_.swap(spent_);
      } else {
        for (auto& t : spent_) finished_.push_back(std::move(t));
      }
    }
  }
  spent_.clear();  // beyond kMaxFinished nobody is submitting: free them here
  for (auto& t : taken_) waiting_.push_back(std::move(t));
  taken_.clear();
  StartWaiting();
}

void HttpSender::Impl::StartWaiting() {
  while (!waiting_.empty() && active_ < options_.max_in_flight) {
    std::unique_ptr<Transfer> t = std::move(waiting_.front());
    waiting_.pop_front();
    Begin(std::move(t));
  }
}

// The target of the request's URL (parsed once per URL) and the bytes to send, or why the
// request cannot be sent (in t->invalid and t->response.error).
void HttpSender::Impl::Prepare(const HttpRequest& request, Transfer* t) {
  std::lock_guard<std::mutex> lock(targets_mu_);
  auto it = targets_.find(request.url);
  if (it == targets_.end()) {
    if (targets_.size() >= kMaxCachedTargets) targets_.clear();
    it = targets_.emplace(request.url, ParseTarget(request.url, options_.allow_http)).first;
  }
  const Target& target = it->second;
  if (target.failure != FailureKind::kNone) {
    t->invalid = target.failure;
    t->response.error = target.error;
  } else if (!FormatRequest(target, request, options_.user_agent, &t->wire)) {
    t->invalid = FailureKind::kInvalidTarget;
    t->response.error = "header with a line break or no name";
  } else {
    t->origin = target.origin;
  }
}

// Sends the request on an idle connection to its origin, or dials one.
void HttpSender::Impl::Begin(std::unique_ptr<Transfer> t) {
  t->start = absl::Now();
  t->deadline = t->start + t->timeout;
  if (t->invalid != FailureKind::kNone) {
    const FailureKind failure = t->invalid;
    std::string error = std::move(t->response.error);
    Finish(std::move(t), failure, std::move(error));
    return;
  }
  ++active_;
  Transfer* raw = t.get();
  if (Connection* c = idle_.Take(raw->origin)) {
    busy_[c] = std::move(t);
    Bind(raw, c);
    return;
  }
  Dial(t.release());
}

// Opens a connection for `t` (owned by dialing_ until the connector answers).
void HttpSender::Impl::Dial(Transfer* t) {
  const uint64_t id = ++next_dial_;
  dialing_[id] = t;
  connector_->Connect(id, t->origin, t->deadline);
}

void HttpSender::Impl::TakeConnections() {
  std::vector<Connector::Result> results;
  connector_->TakeResults(&results);
  for (Connector::Result& r : results) {
    auto it = dialing_.find(r.id);
    std::unique_ptr<Transfer> t(it->second);
    dialing_.erase(it);
    if (r.easy != nullptr && aborted_) {
      curl_easy_cleanup(r.easy);
      r = {.failure = FailureKind::kAborted, .error = "sender stopped"};
    }
    if (r.easy == nullptr) {
      --active_;
      Finish(std::move(t), r.failure, std::move(r.error));
      continue;
    }
    auto* c = new Connection{.easy = r.easy, .fd = r.fd, .origin = t->origin};
    epoll_event ev{.events = EPOLLIN | EPOLLRDHUP, .data = {.ptr = c}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev);
    Transfer* raw = t.get();
    busy_[c] = std::move(t);
    Bind(raw, c);
  }
}

void HttpSender::Impl::Bind(Transfer* t, Connection* c) {
  c->transfer = t;
  t->conn = c;
  t->sent = 0;
  ++t->sends;
  t->parser.emplace(options_.max_response_bytes);
  t->timer = timers_.emplace(t->deadline, t);
  Write(c);
}

void HttpSender::Impl::Watch(Connection* c, bool writing) {
  if (c->writing == writing) return;
  c->writing = writing;
  epoll_event ev{.events = EPOLLIN | EPOLLRDHUP | (writing ? EPOLLOUT : 0u), .data = {.ptr = c}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

void HttpSender::Impl::Write(Connection* c) {
  Transfer* t = c->transfer;
  while (t->sent < t->wire.size()) {
    size_t n = 0;
    const CURLcode rc =
        curl_easy_send(c->easy, t->wire.data() + t->sent, t->wire.size() - t->sent, &n);
    if (rc == CURLE_AGAIN) {
      Watch(c, true);
      return;
    }
    if (rc != CURLE_OK) {
      Broke(c, absl::StrCat("send failed: ", curl_easy_strerror(rc)));
      return;
    }
    t->sent += n;
  }
  Watch(c, false);
}

void HttpSender::Impl::OnEvent(Connection* c, uint32_t events) {
  if (c->transfer == nullptr) {
    // An idle connection became readable: the server closed it (or, over TLS, sent a
    // session ticket, which curl_easy_recv consumes and then reports no data).
    size_t n = 0;
    if (curl_easy_recv(c->easy, buf_, sizeof(buf_), &n) != CURLE_AGAIN) DropIdle(c);
    return;
  }
  if ((events & EPOLLOUT) && c->transfer->sent < c->transfer->wire.size()) {
    Write(c);
    if (c->transfer == nullptr) return;  // the write broke the connection
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) Read(c);
}

void HttpSender::Impl::Read(Connection* c) {
  Transfer* t = c->transfer;
  while (true) {
    size_t n = 0;
    const CURLcode rc = curl_easy_recv(c->easy, buf_, sizeof(buf_), &n);
    if (rc == CURLE_AGAIN) return;
    if (rc != CURLE_OK) {
      Broke(c, curl_easy_strerror(rc));
      return;
    }
    const ResponseParser::Result r =
        n == 0 ? t->parser->Finish() : t->parser->Feed(absl::string_view(buf_, n));
    if (r == ResponseParser::Result::kDone) {
      Succeeded(c);
      return;
    }
    if (r == ResponseParser::Result::kError) {
      Broke(c, t->parser->error());
      return;
    }
  }
}

// The response is complete: the connection goes back to the pool if it may carry another.
void HttpSender::Impl::Succeeded(Connection* c) {
  Transfer* t = c->transfer;
  t->response.status = t->parser->status();
  t->response.body = t->parser->body();
  t->response.retry_after = t->parser->retry_after();
  // An answer that came before the whole request was sent (an early 413, say) leaves the
  // rest of the request on the connection: it cannot carry another.
  const bool keep = t->parser->keep_alive() && t->sent == t->wire.size();
  auto owned = std::move(busy_[c]);
  busy_.erase(c);
  timers_.erase(t->timer);
  c->transfer = nullptr;
  if (keep) {
    c->reused = true;
    idle_.Put(c->origin, c, absl::Now());
  } else {
    CloseConnection(c);
  }
  --active_;
  Finish(std::move(owned), FailureKind::kNone, "");
}

// The connection failed under a transfer. A reused connection that broke before any byte of
// the answer most likely was closed by the server while idle: the request goes once more,
// on a fresh connection. Otherwise the transfer fails as a connection failure.
void HttpSender::Impl::Broke(Connection* c, std::string error) {
  Transfer* t = c->transfer;
  const bool again = c->reused && !t->parser->started() && t->sends < kMaxSendsPerRequest;
  auto owned = std::move(busy_[c]);
  busy_.erase(c);
  timers_.erase(t->timer);
  c->transfer = nullptr;
  t->conn = nullptr;
  CloseConnection(c);
  if (again) {
    Dial(owned.release());
    return;
  }
  --active_;
  Finish(std::move(owned), FailureKind::kConnect, std::move(error));
}

void HttpSender::Impl::Expire(absl::Time now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    Transfer* t = timers_.begin()->second;
    Connection* c = t->conn;
    auto owned = std::move(busy_[c]);
    busy_.erase(c);
    timers_.erase(timers_.begin());
    c->transfer = nullptr;
    CloseConnection(c);
    --active_;
    Finish(std::move(owned), FailureKind::kTimeout,
           absl::StrCat("timed out after ", absl::FormatDuration(t->timeout)));
  }
}

// Closes connections idle for longer than kMaxIdle, and the oldest ones beyond
// max_in_flight idle connections.
void HttpSender::Impl::SweepIdle(absl::Time now) {
  next_sweep_ = now + kSweepEvery;
  for (Connection* c : idle_.Sweep(now, kMaxIdle, static_cast<size_t>(options_.max_in_flight))) {
    CloseConnection(c);
  }
}

void HttpSender::Impl::DropIdle(Connection* c) {
  idle_.Remove(c->origin, c);
  CloseConnection(c);
}

void HttpSender::Impl::CloseConnection(Connection* c) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  curl_easy_cleanup(c->easy);  // closes the socket (and the TLS session)
  delete c;
}

void HttpSender::Impl::AbortAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);  // stopping_ is set: nothing new arrives
    for (auto& t : incoming_) waiting_.push_back(std::move(t));
    incoming_.clear();
  }
  aborted_ = true;
  connector_->Abort();
  for (auto& [c, t] : busy_) {
    timers_.erase(t->timer);
    c->transfer = nullptr;
    CloseConnection(c);
    --active_;
    Finish(std::move(t), FailureKind::kAborted, "sender stopped");
  }
  busy_.clear();
  while (!waiting_.empty()) {
    std::unique_ptr<Transfer> t = std::move(waiting_.front());
    waiting_.pop_front();
    Finish(std::move(t), FailureKind::kAborted, "sender stopped");
  }
}

// Loop thread only: completes the transfer, which then waits in spent_ for its submitting
// thread to free it (see finished_).
void HttpSender::Impl::Finish(std::unique_ptr<Transfer> t, FailureKind failure, std::string error) {
  Answer(*t, failure, std::move(error));
  spent_.push_back(std::move(t));
}

void HttpSender::Impl::Answer(Transfer& t, FailureKind failure, std::string error) {
  t.response.failure = failure;
  t.response.error = std::move(error);
  t.response.duration = t.start == absl::Time() ? absl::ZeroDuration() : absl::Now() - t.start;
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  t.done(std::move(t.response));
}

HttpSender::HttpSender(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpSender::~HttpSender() { impl_->Stop(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<HttpSender>> HttpSender::Start(SenderOptions options,
                                                              AddressGuard guard) {
  if (absl::Status st = options.Validate(); !st.ok()) return st;
  GlobalInit();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(guard));
  if (absl::Status st = impl->Ready(); !st.ok()) return st;
  impl->StartThread();
  return std::unique_ptr<HttpSender>(new HttpSender(std::move(impl)));
}

void HttpSender::Submit(HttpRequest request, Completion done) {
  impl_->Submit(std::move(request), std::move(done));
}
int HttpSender::InFlight() const { return impl_->InFlight(); }
void HttpSender::Stop(absl::Duration deadline) { impl_->Stop(deadline); }

}  // namespace hookrelay::http
