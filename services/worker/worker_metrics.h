#pragma once

#include <array>

#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace hookrelay::worker {

// The worker's Prometheus metrics (names are stable and documented in the README). Built
// once at startup, passed by reference. Thread-safe (prometheus-cpp metrics are atomic).
class WorkerMetrics {
 public:
  explicit WorkerMetrics(prometheus::Registry& registry);

  // One finished attempt: `http_status` 0 means no response.
  void CountAttempt(bool success, int http_status);
  // A failure reason: timeout, connect, dns, tls, http_4xx, http_5xx, blocked,
  // invalid_target, render.
  void CountFailure(absl::string_view reason);

  prometheus::Histogram& attempt_duration;
  prometheus::Histogram& delivery_latency;
  prometheus::Gauge& inflight;
  prometheus::Counter& retries_scheduled;
  prometheus::Counter& succeeded;
  prometheus::Counter& dead;
  prometheus::Counter& hooks_disabled;
  prometheus::Counter& reclaimed;
  prometheus::Counter& deferred;
  prometheus::Counter& rate_limited;
  prometheus::Counter& rate_limit_wait;
  prometheus::Gauge& stream_lag;
  prometheus::Gauge& stream_pending;
  prometheus::Gauge& retry_set_size;

 private:
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Family<prometheus::Counter>& failures_;
  // [success][status class index: none, 1xx..5xx]
  std::array<std::array<prometheus::Counter*, 6>, 2> attempt_counters_{};
};

}  // namespace hookrelay::worker
