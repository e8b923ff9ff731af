#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/queue/publisher.h"
#include "libs/store/hook_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"
#include "services/worker/caches.h"
#include "services/worker/job.h"
#include "services/worker/worker_metrics.h"

namespace hookrelay::worker {

struct EndpointHealthOptions {
  // A hook is disabled (with a reason and a webhook.disabled event for its tenant) after this
  // many consecutive failed deliveries, or after failing without a success for
  // `disable_after`. 0 turns either off.
  int disable_after_failures = 10;
  absl::Duration disable_after = absl::Hours(24 * 5);
  // How long a hook's health is kept after its last delivery.
  absl::Duration retention = absl::Hours(24 * 30);
  absl::Status Validate() const;
};

// Endpoint health, kept by the recorder: hooks whose receivers asked us to stop (410 Gone) or
// keep failing are disabled with a reason, and their tenant gets a webhook.disabled event.
// Per batch: AddWrites() for each finished delivery inside the recorder's transaction, then,
// after EXEC, DisableUnhealthy(). Recorder thread only.
class EndpointHealth {
 public:
  EndpointHealth(EndpointHealthOptions options, const store::KeySchema& keys, core::Clock& clock,
                 store::HookStore& hook_store, queue::Publisher& publisher, HookCache& cache,
                 WorkerMetrics& metrics)
      : options_(options),
        keys_(keys),
        clock_(clock),
        hook_store_(hook_store),
        publisher_(publisher),
        cache_(cache),
        metrics_(metrics) {}

  // A success resets the hook's consecutive failures (at most once a second per hook and
  // worker: it is on the hot path); a failed (dead) delivery counts one more. `first`: the
  // index in `p` of the transaction's first command.
  void AddWrites(Job& job, absl::Time now, size_t first, store::Pipeline* p);
  // Disables the hooks that answered 410 or whose deliveries keep failing, as the EXEC reply
  // `exec` of the transaction holding `jobs`' writes tells.
  void DisableUnhealthy(const std::vector<Job*>& jobs, const std::vector<store::RedisReply>& exec);
  // Disables the hook (unless deleted or disabled already, compare-and-set against concurrent
  // edits), drops its tenant from the cache, and publishes webhook.disabled to the tenant's hooks
  // that subscribe to it.
  void Disable(const v1::DeliveryTask& t, const std::string& reason);

 private:
  const EndpointHealthOptions options_;
  const store::KeySchema& keys_;
  core::Clock& clock_;
  store::HookStore& hook_store_;
  queue::Publisher& publisher_;
  HookCache& cache_;
  WorkerMetrics& metrics_;
  absl::flat_hash_map<std::string, absl::Time> reset_;  // when each hook's count was last reset
};

}  // namespace hookrelay::worker
