#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/http/address_guard.h"

namespace hookrelay::http {

// A delivery attempt's whole time (connect, send, answer): a hook's timeout_ms when set,
// else the default; the registry accepts hooks up to the maximum.
inline constexpr absl::Duration kDefaultDeliveryTimeout = absl::Seconds(10);
inline constexpr absl::Duration kMaxDeliveryTimeout = absl::Seconds(30);
// `timeout_ms` as a hook states it (0: the default), at most kMaxDeliveryTimeout.
absl::Duration DeliveryTimeout(int64_t timeout_ms);

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration timeout = kDefaultDeliveryTimeout;
};

// Why an attempt got no HTTP answer.
enum class FailureKind {
  kNone,  // an HTTP response arrived (any status)
  kTimeout,
  kConnect,  // refused, reset, closed without an answer
  kDns,
  kTls,
  kBlocked,        // the address guard refused every address of the host
  kInvalidTarget,  // bad URL, scheme not allowed
  kAborted,        // the sender stopped before the request finished
};
const char* FailureKindName(FailureKind kind);

struct HttpResponse {
  FailureKind failure = FailureKind::kNone;
  std::string error;  // human-readable when failure != kNone
  int status = 0;
  std::string body;         // the first SenderOptions::max_response_bytes bytes
  std::string retry_after;  // the Retry-After header, verbatim
  absl::Duration duration;
};

struct SenderOptions {
  int max_in_flight = 256;
  size_t max_response_bytes = 4096;
  absl::Duration connect_timeout = absl::Seconds(5);
  // Threads that open connections (DNS, connect, TLS handshake), started as needed.
  int connect_threads = 16;
  bool allow_http = false;  // plain http:// targets (tests, local development)
  // PEM bundle of the CAs that subscribers' certificates must chain to; empty: the system's.
  std::string ca_file;
  std::string user_agent = "hookrelay/0.1";
  absl::Status Validate() const;
};

// Sends HTTP POSTs from an epoll loop on one thread of its own: many requests in flight,
// HTTP/1.1 connections kept alive and reused, no redirects followed. libcurl opens the
// connections (DNS, TCP, TLS with verification) on dialing threads, and every address is
// checked by the AddressGuard right before connecting (after DNS, so rebinding cannot slip
// through). Submit() is thread-safe and formats the request on the caller's thread;
// completions run on the sender thread and must be quick. A completed request's memory (and
// its completion, with what it captured) is freed by a later Submit() on the submitting
// thread, or by the sender once more than a thousand wait.
class HttpSender {
 public:
  using Completion = std::function<void(HttpResponse)>;

  static absl::StatusOr<std::unique_ptr<HttpSender>> Start(SenderOptions options,
                                                           AddressGuard guard);
  ~HttpSender();  // Stop(absl::ZeroDuration())

  // Queues a request. `done` runs exactly once, on the sender thread. Requests beyond
  // max_in_flight wait in the queue; callers bound what they submit.
  void Submit(HttpRequest request, Completion done);
  // Requests submitted and not yet completed.
  int InFlight() const;
  // Stops taking requests, lets those in flight finish until `deadline` passes, then aborts
  // the rest (their completions see kAborted) and joins the thread.
  void Stop(absl::Duration deadline);

 private:
  class Impl;
  explicit HttpSender(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookrelay::http
