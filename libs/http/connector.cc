#include "libs/http/connector.h"

#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "libs/core/thread_name.h"

namespace hookrelay::http {
namespace {

// What one dial's callbacks see.
struct DialContext {
  const AddressGuard* guard;
  const std::atomic<bool>* abort;
  bool blocked = false;
};

curl_socket_t OpenSocket(void* user, curlsocktype, curl_sockaddr* addr) {
  auto* ctx = static_cast<DialContext*>(user);
  if (!ctx->guard->Allowed(&addr->addr)) {
    ctx->blocked = true;
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<DialContext*>(user)->abort->load(std::memory_order_relaxed) ? 1 : 0;
}

FailureKind Classify(CURLcode code, bool blocked) {
  switch (code) {
    case CURLE_OK:
      return FailureKind::kNone;
    case CURLE_OPERATION_TIMEDOUT:
      return FailureKind::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
      return FailureKind::kDns;
    case CURLE_ABORTED_BY_CALLBACK:
      return FailureKind::kAborted;
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
    default:  // CURLE_COULDNT_CONNECT and the rest
      return blocked ? FailureKind::kBlocked : FailureKind::kConnect;
  }
}

}  // namespace

Connector::Connector(const AddressGuard& guard, const SenderOptions& options,
                     std::function<void()> wake)
    : guard_(guard),
      connect_timeout_(options.connect_timeout),
      allow_http_(options.allow_http),
      max_threads_(std::max(1, options.connect_threads)),
      ca_file_(options.ca_file),
      wake_(std::move(wake)) {}

Connector::~Connector() {
  Abort();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  for (Result& r : results_) {
    if (r.easy != nullptr) curl_easy_cleanup(r.easy);
  }
}

void Connector::Connect(uint64_t id, std::string origin, absl::Time deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Dial{id, std::move(origin), deadline});
    if (idle_threads_ == 0 && static_cast<int>(threads_.size()) < max_threads_) {
      threads_.emplace_back([this] {
        core::NameThisThread("hr-connect");
        Run();
      });
      return;  // the new thread takes it
    }
  }
  cv_.notify_one();
}

void Connector::TakeResults(std::vector<Result>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Result& r : results_) out->push_back(std::move(r));
  results_.clear();
}

void Connector::Abort() {
  abort_.store(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Dial& d : queue_) {
      results_.push_back(
          Result{.id = d.id, .failure = FailureKind::kAborted, .error = "sender stopped"});
    }
    queue_.clear();
  }
  wake_();
}

void Connector::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ++idle_threads_;
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    --idle_threads_;
    if (queue_.empty()) return;  // stopping
    Dial d = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Result r = DialOne(d);
    lock.lock();
    results_.push_back(std::move(r));
    lock.unlock();
    wake_();
    lock.lock();
  }
}

Connector::Result Connector::DialOne(const Dial& d) {
  Result r{.id = d.id};
  const absl::Duration left = d.deadline - absl::Now();
  if (abort_.load()) {
    r.failure = FailureKind::kAborted;
    r.error = "sender stopped";
    return r;
  }
  if (left <= absl::ZeroDuration()) {
    r.failure = FailureKind::kTimeout;
    r.error = "timed out before connecting";
    return r;
  }
  DialContext ctx{.guard = &guard_, .abort = &abort_};
  CURL* e = curl_easy_init();
  if (e == nullptr) {
    r.failure = FailureKind::kConnect;
    r.error = "curl_easy_init failed";
    return r;
  }
  const std::string url = d.origin + "/";
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, allow_http_ ? "http,https" : "https");
  if (!ca_file_.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, ca_file_.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  // No proxy from http_proxy/https_proxy: the guard must see the subscriber's own address.
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 1024L);  // unused: bytes go through curl_easy_recv
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(connect_timeout_)));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left))));
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &ctx);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &Progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &ctx);
  const CURLcode code = curl_easy_perform(e);
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (code == CURLE_OK) curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &fd);
  if (code != CURLE_OK || fd == CURL_SOCKET_BAD) {
    r.failure = code == CURLE_OK ? FailureKind::kConnect : Classify(code, ctx.blocked);
    r.error = ctx.blocked ? "address refused by the SSRF guard" : curl_easy_strerror(code);
    curl_easy_cleanup(e);
    return r;
  }
  // The handle outlives this dial: its callbacks must not point at `ctx` any more.
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, nullptr);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, nullptr);
  r.easy = e;
  r.fd = fd;
  return r;
}

}  // namespace hookrelay::http
