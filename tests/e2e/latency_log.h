#pragma once

// Publish → delivered latency as a user measures it: the publisher stamps its clock into the
// payload ("sent_ns"), the receiver subtracts it from the request's arrival time.

#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/support/http_receiver.h"

namespace hookrelay::testing {

class LatencyLog {
 public:
  // A JSON payload carrying the current time: {"sent_ns":<unix ns>}.
  static std::string StampedPayload();

  // A handler for HttpReceiver::Start: records the latency of each request and answers 204. The log
  // must outlive the receiver.
  Handler Recorder();

  // Waits until `n` requests have been recorded (a receiver counts a request before its
  // handler has run). False on timeout.
  bool WaitForCount(size_t n, absl::Duration timeout) const;

  struct Summary {
    size_t count = 0;
    absl::Duration p50, p99, max;
  };
  // Over the requests so far; zero durations when there were none.
  Summary Summarize() const;

 private:
  mutable std::mutex mu_;
  std::vector<absl::Duration> latencies_;
};

}  // namespace hookrelay::testing
