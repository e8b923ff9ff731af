#include "services/registry/registry_metrics.h"

namespace hookrelay::registry {

RegistryMetrics::RegistryMetrics(prometheus::Registry& r)
    : events_published(prometheus::BuildCounter()
                           .Name("hookrelay_registry_events_published_total")
                           .Help("Events stored (duplicates excluded)")
                           .Register(r)
                           .Add({})),
      deliveries_fanned_out(prometheus::BuildCounter()
                                .Name("hookrelay_registry_deliveries_fanned_out_total")
                                .Help("Deliveries created by publishes")
                                .Register(r)
                                .Add({})),
      publish_duplicates(prometheus::BuildCounter()
                             .Name("hookrelay_registry_publish_duplicates_total")
                             .Help("Publishes answered with an earlier event (idempotency key)")
                             .Register(r)
                             .Add({})),
      rpcs_(prometheus::BuildCounter()
                .Name("hookrelay_registry_rpcs_total")
                .Help("Finished RPCs by method and status code")
                .Register(r)),
      rpc_duration_(prometheus::BuildHistogram()
                        .Name("hookrelay_registry_rpc_duration_seconds")
                        .Help("RPC latency by method")
                        .Register(r)) {
  // Pre-create the publish series so dashboards show zeros instead of no data.
  for (const char* m : {"PublishEvent", "PublishEvents", "CreateWebhook"}) {
    rpcs_.Add({{"method", m}, {"code", "OK"}});
  }
}

void RegistryMetrics::ObserveRpc(const std::string& method, const std::string& code,
                                 absl::Duration latency) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
  rpcs_.Add({{"method", method}, {"code", code}}).Increment();
  rpc_duration_.Add({{"method", method}}, kBuckets).Observe(absl::ToDoubleSeconds(latency));
}

}  // namespace hookrelay::registry
