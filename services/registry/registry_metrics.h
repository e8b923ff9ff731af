#pragma once

#include <string>

#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace hookrelay::registry {

// The registry's Prometheus metrics (stable names, documented in the README). Thread-safe.
class RegistryMetrics {
 public:
  explicit RegistryMetrics(prometheus::Registry& registry);

  // One finished RPC: `code` is the canonical gRPC code name ("OK", "INVALID_ARGUMENT").
  void ObserveRpc(const std::string& method, const std::string& code, absl::Duration latency);

  prometheus::Counter& events_published;
  prometheus::Counter& deliveries_fanned_out;
  prometheus::Counter& publish_duplicates;

 private:
  prometheus::Family<prometheus::Counter>& rpcs_;
  prometheus::Family<prometheus::Histogram>& rpc_duration_;
};

}  // namespace hookrelay::registry
