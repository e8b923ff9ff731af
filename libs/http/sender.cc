#include "libs/http/sender.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/thread_name.h"

namespace hookrelay::http {
namespace {

struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void GlobalInit() {
  static const bool once = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)once;
}

FailureKind Classify(CURLcode code, bool blocked) {
  switch (code) {
    case CURLE_OK:
      return FailureKind::kNone;
    case CURLE_OPERATION_TIMEDOUT:
      return FailureKind::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
      return FailureKind::kDns;
    case CURLE_COULDNT_CONNECT:
      return blocked ? FailureKind::kBlocked : FailureKind::kConnect;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return FailureKind::kInvalidTarget;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return FailureKind::kTls;
    default:
      return blocked ? FailureKind::kBlocked : FailureKind::kConnect;
  }
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
  return absl::OkStatus();
}

// One request on its way: owns everything libcurl points into until completion.
struct Transfer {
  CURL* easy = nullptr;
  HttpRequest request;
  HttpSender::Completion done;
  std::unique_ptr<curl_slist, SlistFree> headers;
  HttpResponse response;
  absl::Time start;
  bool blocked = false;
  size_t max_body = 0;
  const AddressGuard* guard = nullptr;
};

class HttpSender::Impl {
 public:
  Impl(SenderOptions options, AddressGuard guard)
      : options_(std::move(options)),
        guard_(std::move(guard)),
        multi_(curl_multi_init()),
        epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
        wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_in_flight));
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    epoll_event ev{.events = EPOLLIN, .data = {.fd = wake_fd_}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  }
  ~Impl() {
    for (CURL* e : free_easy_) curl_easy_cleanup(e);
    curl_multi_cleanup(multi_);
    close(wake_fd_);
    close(epoll_fd_);
  }

  absl::Status Ready() const {
    if (multi_ == nullptr || epoll_fd_ < 0 || wake_fd_ < 0) {
      return absl::InternalError("http sender: cannot create the curl multi handle or epoll");
    }
    return absl::OkStatus();
  }

  void StartThread() {
    thread_ = std::thread([this] {
      core::NameThisThread("hr-sender");
      Loop();
    });
  }

  void Submit(HttpRequest request, Completion done) {
    auto t = std::make_unique<Transfer>();
    t->request = std::move(request);
    t->done = std::move(done);
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        // The sender takes the whole queue at once: only the first request of a burst
        // needs to wake it.
        wake = incoming_.empty();
        incoming_.push_back(std::move(t));
        t = nullptr;
      }
    }
    if (t != nullptr) {
      Finish(std::move(t), FailureKind::kAborted, "sender stopped");
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
  int WaitMillis() const;
  void TakeIncoming();
  void StartTransfer(std::unique_ptr<Transfer> t);
  CURL* NewEasy();
  void ConfigureEasy(Transfer* t);
  void ReapFinished();
  void AbortAll();
  void Finish(std::unique_ptr<Transfer> t, FailureKind failure, std::string error);

  static int OnSocket(CURL* easy, curl_socket_t fd, int what, void* user, void* socket_data);
  static int OnTimer(CURLM* multi, long timeout_ms, void* user);
  static size_t OnBody(char* data, size_t size, size_t n, void* user);
  static size_t OnHeader(char* data, size_t size, size_t n, void* user);
  static curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* addr);

  const SenderOptions options_;
  const AddressGuard guard_;
  CURLM* const multi_;
  const int epoll_fd_;
  const int wake_fd_;  // eventfd: Submit() and Stop() wake the loop through it
  std::thread thread_;
  std::atomic<int> in_flight_{0};

  std::mutex mu_;  // guards incoming_, stopping_, abort_at_
  std::vector<std::unique_ptr<Transfer>> incoming_;
  bool stopping_ = false;
  absl::Time abort_at_;

  // Sender thread only.
  std::vector<std::unique_ptr<Transfer>> taken_;
  std::deque<std::unique_ptr<Transfer>> waiting_;
  int active_ = 0;
  std::unordered_set<Transfer*> active_set_;
  std::vector<CURL*> free_easy_;
  absl::Time timer_at_ = absl::InfiniteFuture();  // when libcurl wants its timeout action
};

// libcurl tells which sockets to watch for what (CURLMOPT_SOCKETFUNCTION); the loop waits on
// them with epoll and hands back only the sockets that are ready, so the work per wakeup
// is proportional to what happened, not to the number of connections.
int HttpSender::Impl::OnSocket(CURL*, curl_socket_t fd, int what, void* user, void* socket_data) {
  auto* self = static_cast<Impl*>(user);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);  // may be closed already
    return 0;
  }
  epoll_event ev{.events = 0, .data = {.fd = fd}};
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  if (socket_data == nullptr) {
    if (epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST) {
      epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    }
    curl_multi_assign(self->multi_, fd, self);  // marks the socket as registered
  } else if (epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  return 0;
}

int HttpSender::Impl::OnTimer(CURLM*, long timeout_ms, void* user) {
  auto* self = static_cast<Impl*>(user);
  self->timer_at_ =
      timeout_ms < 0 ? absl::InfiniteFuture() : absl::Now() + absl::Milliseconds(timeout_ms);
  return 0;
}

int HttpSender::Impl::WaitMillis() const {
  constexpr int64_t kMaxWaitMs = 1000;  // stop requests arrive through wake_fd_ anyway
  if (timer_at_ == absl::InfiniteFuture()) return kMaxWaitMs;
  const int64_t ms =
      absl::ToInt64Milliseconds(absl::Ceil(timer_at_ - absl::Now(), absl::Milliseconds(1)));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, kMaxWaitMs));
}

void HttpSender::Impl::Loop() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  int running = 0;
  while (true) {
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
    if (stopping && absl::Now() >= abort_at) {
      AbortAll();
      return;
    }
    int wait = incoming ? 0 : WaitMillis();
    if (stopping) wait = std::min(wait, 50);
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, wait);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof(count));
        continue;
      }
      int flags = 0;
      if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi_, fd, flags, &running);
    }
    if (timer_at_ <= absl::Now()) {
      timer_at_ = absl::InfiniteFuture();
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    ReapFinished();
  }
}

void HttpSender::Impl::TakeIncoming() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    taken_.swap(incoming_);
  }
  for (auto& t : taken_) waiting_.push_back(std::move(t));
  taken_.clear();
  while (!waiting_.empty() && active_ < options_.max_in_flight) {
    std::unique_ptr<Transfer> t = std::move(waiting_.front());
    waiting_.pop_front();
    StartTransfer(std::move(t));
  }
}

void HttpSender::Impl::StartTransfer(std::unique_ptr<Transfer> t) {
  if (free_easy_.empty()) {
    t->easy = NewEasy();
  } else {
    t->easy = free_easy_.back();
    free_easy_.pop_back();
  }
  t->guard = &guard_;
  t->max_body = options_.max_response_bytes;
  ConfigureEasy(t.get());
  t->start = absl::Now();
  if (curl_multi_add_handle(multi_, t->easy) != CURLM_OK) {
    Finish(std::move(t), FailureKind::kConnect, "curl_multi_add_handle failed");
    return;
  }
  ++active_;
  active_set_.insert(t.release());  // owned through active_set_ until ReapFinished
}

// An easy handle with the options every request shares; handles are reused, and options
// stay set across transfers.
CURL* HttpSender::Impl::NewEasy() {
  CURL* e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, options_.allow_http ? "http,https" : "https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::OnOpenSocket);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  // No proxy from http_proxy/https_proxy: the SSRF guard must see the subscriber's own
  // address, not a proxy's (and libcurl then skips reading the environment per request).
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  return e;
}

void HttpSender::Impl::ConfigureEasy(Transfer* t) {
  CURL* e = t->easy;
  curl_slist* list = nullptr;
  std::string line;
  for (const auto& [name, value] : t->request.headers) {
    line.clear();
    absl::StrAppend(&line, name, ": ", value);
    list = curl_slist_append(list, line.c_str());
  }
  list = curl_slist_append(list, "Expect:");
  t->headers.reset(list);
  curl_easy_setopt(e, CURLOPT_URL, t->request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->request.body.size()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(t->request.timeout)));
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
}

void HttpSender::Impl::ReapFinished() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* raw = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
    std::unique_ptr<Transfer> t(raw);
    active_set_.erase(raw);
    const CURLcode code = msg->data.result;
    curl_multi_remove_handle(multi_, t->easy);
    --active_;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    t->response.status = static_cast<int>(status);
    free_easy_.push_back(t->easy);
    t->easy = nullptr;
    if (code == CURLE_OK) {
      Finish(std::move(t), FailureKind::kNone, "");
    } else {
      const bool blocked = t->blocked;
      std::string error = blocked ? "address refused by the SSRF guard" : curl_easy_strerror(code);
      Finish(std::move(t), Classify(code, blocked), std::move(error));
    }
  }
}

void HttpSender::Impl::AbortAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);  // stopping_ is set: nothing new arrives
    for (auto& t : incoming_) waiting_.push_back(std::move(t));
    incoming_.clear();
  }
  for (Transfer* raw : active_set_) {
    std::unique_ptr<Transfer> t(raw);
    curl_multi_remove_handle(multi_, t->easy);
    curl_easy_cleanup(t->easy);
    t->easy = nullptr;
    Finish(std::move(t), FailureKind::kAborted, "sender stopped");
  }
  active_set_.clear();
  active_ = 0;
  while (!waiting_.empty()) {
    std::unique_ptr<Transfer> t = std::move(waiting_.front());
    waiting_.pop_front();
    Finish(std::move(t), FailureKind::kAborted, "sender stopped");
  }
}

void HttpSender::Impl::Finish(std::unique_ptr<Transfer> t, FailureKind failure, std::string error) {
  t->response.failure = failure;
  t->response.error = std::move(error);
  t->response.duration = t->start == absl::Time() ? absl::ZeroDuration() : absl::Now() - t->start;
  Completion done = std::move(t->done);
  HttpResponse response = std::move(t->response);
  t.reset();
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  done(std::move(response));
}

size_t HttpSender::Impl::OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string& body = t->response.body;
  if (body.size() < t->max_body) body.append(data, std::min(len, t->max_body - body.size()));
  return len;
}

size_t HttpSender::Impl::OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  absl::string_view line(data, len);
  if (line.size() > 12 && absl::StartsWithIgnoreCase(line, "retry-after:")) {
    t->response.retry_after = std::string(absl::StripAsciiWhitespace(line.substr(12)));
  }
  return len;
}

curl_socket_t HttpSender::Impl::OnOpenSocket(void* user, curlsocktype purpose,
                                             curl_sockaddr* addr) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->guard->Allowed(&addr->addr)) {
    t->blocked = true;
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
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
