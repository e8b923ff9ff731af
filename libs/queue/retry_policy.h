#pragma once

#include <optional>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hookrelay/v1/resources.pb.h"

namespace hookrelay::queue {

// The default schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
const std::vector<absl::Duration>& DefaultRetryDelays();
inline constexpr int kDefaultJitterPercent = 20;
inline constexpr absl::Duration kDefaultMaxRetryAfter = absl::Hours(24);

// INVALID_ARGUMENT naming the field ("retry_policy.delays_ms[2]: ...") for negative or
// over-long delays (> 7 days), more than 20 steps, or jitter outside [0, 50].
absl::Status ValidateRetryPolicy(const v1::RetryPolicy& policy, absl::string_view field);

// Decides when a failed attempt is tried again. Pure logic over a policy, time and
// randomness passed in; thread-compatible.
class RetrySchedule {
 public:
  explicit RetrySchedule(const v1::RetryPolicy& policy);

  // The delay before attempt `failed_attempt + 1`, or nullopt when `failed_attempt` was the
  // last one the policy allows. `retry_after` is the receiver's Retry-After header (seconds
  // or an HTTP date, relative to `now`); it replaces the scheduled delay when longer,
  // clamped to the policy's maximum. Jitter of ±jitter_percent applies to the schedule only.
  std::optional<absl::Duration> NextDelay(int failed_attempt, absl::string_view retry_after,
                                          absl::Time now, absl::BitGenRef rng) const;
  int max_attempts() const { return static_cast<int>(delays_.size()) + 1; }

 private:
  std::vector<absl::Duration> delays_;
  int jitter_percent_;
  absl::Duration max_retry_after_;
};

// Parses a Retry-After value: delta seconds or an IMF-fixdate. nullopt if unparseable or in
// the past.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

}  // namespace hookrelay::queue
