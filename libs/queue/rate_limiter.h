#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"

namespace hookrelay::queue {

// INVALID_ARGUMENT naming the field ("rate_limit.per_second: ...") unless per_second is in
// [1, 10000] and burst in [0, 10000].
absl::Status ValidateRateLimit(const v1::RateLimit& limit, absl::string_view field);

// A hook's limit as the limiter applies it: one request per `interval` (1.03 s / per_second:
// 3 % to spare for delays between worker and receiver), and `burst` at once after a quiet
// spell (GCRA: tolerance (burst - 1) × interval).
struct RateSpec {
  absl::Duration interval;
  int burst = 1;
  static RateSpec Of(const v1::RateLimit& limit);
};

// Tokens asked for one hook: up to `count` requests that may go within `horizon` from now.
struct RateRequest {
  std::string tenant;
  std::string hook_id;
  RateSpec spec;
  int count = 0;
  absl::Duration horizon;
};

// What Redis granted: `granted` requests, the i-th of which may go `At(i)` from now (the
// offsets are on Redis's clock, so the workers' clocks need not agree); the next request
// after them may go `next` from now.
struct RateGrant {
  int granted = 0;
  absl::Duration first;  // may be negative: the token was free already
  absl::Duration interval;
  absl::Duration next;
  absl::Duration At(int i) const { return std::max(absl::ZeroDuration(), first + interval * i); }
};

// Per-hook rate limits shared by every worker of a deployment: a GCRA state per hook
// (<p>{T}:t:<t>:hook:<id>:rate, the theoretical arrival time on Redis's clock) that workers
// reserve tokens from in batches: one script call per limited hook and batch, all of a
// batch's in one round trip, however many requests it grants. A receiver's Retry-After
// pushes the state forward (Pause), so every worker waits, and is published on
// <p>hooks:paused for hooks without a limit too. Uses the connection it is given.
class RateLimiter {
 public:
  explicit RateLimiter(const store::KeySchema& keys) : keys_(keys) {}

  // One round trip for all of `requests`; grants in order. An error reply fails the call.
  absl::StatusOr<std::vector<RateGrant>> Reserve(store::RedisConnection& conn,
                                                 absl::Span<const RateRequest> requests);
  // Holds `tenant`'s hook `hook_id` until `until`, a time the receiver's answer fixed (and
  // not the time this call is made: the pause is published late when Redis is slow): pushes
  // its limiter state forward by what is left of it at `now` when it has a limit (`spec`),
  // and tells every worker over pub/sub. One round trip.
  absl::Status Pause(store::RedisConnection& conn, absl::string_view tenant,
                     absl::string_view hook_id, const std::optional<RateSpec>& spec,
                     absl::Time until, absl::Time now);

  // The pub/sub message of a pause, and its parse: {"<tenant>/<hook id>", until}.
  static std::string PauseMessage(absl::string_view tenant, absl::string_view hook_id,
                                  absl::Time until);
  static std::optional<std::pair<std::string, absl::Time>> ParsePauseMessage(
      absl::string_view message);

 private:
  const store::KeySchema& keys_;
};

}  // namespace hookrelay::queue
