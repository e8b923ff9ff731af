#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "hookrelay/v1/delivery.pb.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/http/sender.h"
#include "libs/queue/task_queue.h"
#include "libs/store/hook_health.h"
#include "services/worker/caches.h"
#include "services/worker/outcome.h"

namespace hookrelay::worker {

// One stream entry on its way through the worker: read → (fetch, render, sign, send) →
// recorded and acknowledged. Owned by exactly one stage at a time.
struct Job {
  enum class Kind {
    kHttp,             // sent (or to be sent); `response` holds the outcome
    kCancelled,        // hook deleted or disabled
    kExpired,          // event past retention
    kRenderFailed,     // the hook's format or signer cannot produce this request
    kPoison,           // the entry does not hold a DeliveryTask
    kTooManyReclaims,  // handed out more than max_reclaims + 1 times
    kDeferred,         // its hook was stalled or had too many queued; `defer_for` says how long
    kHandBack,         // never finished here (shutdown): back to the stream for another worker
  };
  Kind kind = Kind::kHttp;
  queue::StreamEntry entry;
  v1::DeliveryTask task;
  std::shared_ptr<const CachedHook> hook;
  std::shared_ptr<const v1::Event> event;
  std::string error;
  http::HttpResponse response;
  absl::Time started;
  absl::Time queued_at;  // when it joined its hook's queue (HookSlots)
  absl::Duration defer_for;
  absl::Time held_at;                // when it joined its hook's queue in the RateGate
  absl::Duration rate_waited;        // time a rate limit or pause held it (or put it off) here
  bool rate_deferred = false;        // put off by the RateGate rather than by HookSlots
  std::optional<Decision> decision;  // set by the recorder for kHttp
  // Set by the recorder for a failed delivery: its hook's health after it.
  std::optional<store::HealthFailure> health;

  // "<tenant>/<hook id>": the hook's key in the worker's per-hook state.
  std::string HookKey() const { return task.tenant() + "/" + task.webhook_id(); }
};

}  // namespace hookrelay::worker
