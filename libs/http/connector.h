#pragma once

#include <curl/curl.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "libs/http/address_guard.h"
#include "libs/http/sender.h"

namespace hookrelay::http {

// Opens connections for the HttpSender with libcurl (CURLOPT_CONNECT_ONLY): DNS, the
// AddressGuard check of every resolved address right before connecting, TCP, and for https
// the TLS handshake with certificate and host name verification (ALPN offers HTTP/1.1
// only). Each connection stays owned by its easy handle; the sender then moves bytes over it
// with curl_easy_send / curl_easy_recv. Dials run on a small pool of threads, started as
// they are needed, so one slow host does not hold up the sender's loop. Thread-safe.
class Connector {
 public:
  struct Result {
    uint64_t id = 0;
    CURL* easy = nullptr;  // the connected handle (the caller owns it), or nullptr
    int fd = -1;
    FailureKind failure = FailureKind::kNone;
    std::string error;
  };

  // `wake` runs (on a dialing thread) whenever a result is ready.
  // Uses options' connect_timeout, allow_http, connect_threads and ca_file.
  Connector(const AddressGuard& guard, const SenderOptions& options, std::function<void()> wake);
  ~Connector();  // Abort(), joins the threads, closes results nobody took

  // Dials `origin` ("scheme://host:port") for request `id`, giving up at `deadline`.
  void Connect(uint64_t id, std::string origin, absl::Time deadline);
  // Moves the finished dials into `out`.
  void TakeResults(std::vector<Result>* out);
  // Dials in progress and queued ones finish at once, as kAborted.
  void Abort();

 private:
  struct Dial {
    uint64_t id;
    std::string origin;
    absl::Time deadline;
  };
  void Run();
  Result DialOne(const Dial& d);

  const AddressGuard& guard_;
  const absl::Duration connect_timeout_;
  const bool allow_http_;
  const int max_threads_;
  const std::string ca_file_;
  const std::function<void()> wake_;
  std::atomic<bool> abort_{false};

  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::deque<Dial> queue_;
  std::vector<Result> results_;
  std::vector<std::thread> threads_;
  int idle_threads_ = 0;
  bool stop_ = false;
};

}  // namespace hookrelay::http
