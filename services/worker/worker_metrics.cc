#include "services/worker/worker_metrics.h"

#include <string>

namespace hookrelay::worker {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

prometheus::Counter& Counter(prometheus::Registry& r, const char* name, const char* help) {
  return BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& Gauge(prometheus::Registry& r, const char* name, const char* help) {
  return BuildGauge().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

WorkerMetrics::WorkerMetrics(prometheus::Registry& r)
    : attempt_duration(BuildHistogram()
                           .Name("hookrelay_worker_attempt_duration_seconds")
                           .Help("Duration of one HTTP delivery attempt")
                           .Register(r)
                           .Add({}, LatencyBuckets())),
      delivery_latency(BuildHistogram()
                           .Name("hookrelay_worker_delivery_latency_seconds")
                           .Help("Time from publish to successful delivery")
                           .Register(r)
                           .Add({}, LatencyBuckets())),
      inflight(Gauge(r, "hookrelay_worker_inflight_requests", "Deliveries in flight")),
      retries_scheduled(Counter(r, "hookrelay_worker_retries_scheduled_total",
                                "Failed attempts scheduled for a retry")),
      succeeded(Counter(r, "hookrelay_worker_deliveries_succeeded_total",
                        "Deliveries that ended SUCCEEDED")),
      dead(Counter(r, "hookrelay_worker_deliveries_dead_total",
                   "Deliveries that ended FAILED (retries exhausted or not retryable)")),
      hooks_disabled(Counter(r, "hookrelay_worker_hooks_disabled_total",
                             "Webhooks disabled by the worker (410 Gone, failing endpoint)")),
      reclaimed(Counter(r, "hookrelay_worker_reclaimed_total",
                        "Stream entries reclaimed from dead consumers")),
      deferred(Counter(r, "hookrelay_worker_deferred_total",
                       "Tasks put off because their hook had max_in_flight_per_hook requests out")),
      rate_limited(Counter(r, "hookrelay_worker_rate_limited_total",
                           "Times a delivery waited, or was put off, for its hook's rate limit "
                           "or a receiver's Retry-After pause")),
      rate_limit_wait(Counter(r, "hookrelay_worker_rate_limit_wait_seconds_total",
                              "Time deliveries spent waiting for rate limits and pauses")),
      stream_lag(Gauge(r, "hookrelay_stream_lag", "Stream entries not yet read by the group")),
      stream_pending(
          Gauge(r, "hookrelay_stream_pending", "Stream entries read but not yet acknowledged")),
      retry_set_size(Gauge(r, "hookrelay_retry_set_size", "Deliveries waiting for a retry")),
      attempts_(BuildCounter()
                    .Name("hookrelay_worker_attempts_total")
                    .Help("Delivery attempts by outcome and HTTP status class")
                    .Register(r)),
      failures_(BuildCounter()
                    .Name("hookrelay_worker_failures_total")
                    .Help("Failed delivery attempts by reason")
                    .Register(r)) {
  static constexpr const char* kClasses[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int s = 0; s < 2; ++s) {
    for (int c = 0; c < 6; ++c) {
      attempt_counters_[s][c] =
          &attempts_.Add({{"outcome", s ? "success" : "failure"}, {"status_class", kClasses[c]}});
    }
  }
  for (const char* reason : {"timeout", "connect", "dns", "tls", "http_4xx", "http_5xx", "blocked",
                             "invalid_target", "render"}) {
    failures_.Add({{"reason", reason}});
  }
}

void WorkerMetrics::CountAttempt(bool success, int http_status) {
  const int cls = http_status >= 100 && http_status < 600 ? http_status / 100 : 0;
  attempt_counters_[success ? 1 : 0][cls]->Increment();
}

void WorkerMetrics::CountFailure(absl::string_view reason) {
  failures_.Add({{"reason", std::string(reason)}}).Increment();
}

}  // namespace hookrelay::worker
