#pragma once

#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/http/sender.h"
#include "libs/queue/retry_policy.h"

namespace hookrelay::worker {

// What a finished attempt means for its delivery.
struct Decision {
  v1::DeliveryStatus status = v1::DELIVERY_STATUS_FAILED;
  v1::ErrorClass error_class = v1::ERROR_CLASS_UNSPECIFIED;
  std::optional<absl::Duration> retry_in;  // set with RETRY_SCHEDULED
  bool disable_hook = false;               // 410 Gone: the receiver asked us to stop
};

// Success is any 2xx. 410 fails the delivery and disables the hook. Blocked and invalid
// targets fail at once. Everything else (timeouts, connection errors, 408, 429, 5xx, other
// non-2xx) is retried on the hook's schedule, honouring Retry-After, until it runs out.
Decision Decide(const http::HttpResponse& response, int attempt,
                const queue::RetrySchedule& schedule, absl::Time now, absl::BitGenRef rng);

// The error class of a response (UNSPECIFIED for a 2xx).
v1::ErrorClass ClassifyError(const http::HttpResponse& response);

// The `reason` label of hookrelay_worker_failures_total for an error class.
const char* FailureReason(v1::ErrorClass error_class);

}  // namespace hookrelay::worker
