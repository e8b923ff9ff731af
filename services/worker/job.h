#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "hookrelay/v1/delivery.pb.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/http/sender.h"
#include "libs/queue/task_stream.h"
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
    kDeferred,         // its hook already had max_in_flight_per_hook requests out
  };
  Kind kind = Kind::kHttp;
  queue::StreamEntry entry;
  v1::DeliveryTask task;
  std::shared_ptr<const CachedHook> hook;
  std::shared_ptr<const v1::Event> event;
  std::string error;
  http::HttpResponse response;
  absl::Time started;
  std::optional<Decision> decision;  // set by the recorder for kHttp
  // Index in the recorder's EXEC reply of this failed delivery's HINCRBY of the hook's
  // consecutive failures (the HGET of its failing-since follows two later); -1 if none.
  int health_reply = -1;
};

}  // namespace hookrelay::worker
