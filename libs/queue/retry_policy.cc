#include "libs/queue/retry_policy.h"

#include <algorithm>

#include "absl/random/distributions.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::queue {
namespace {

constexpr int kMaxSteps = 20;
constexpr absl::Duration kMaxDelay = absl::Hours(24 * 7);

}  // namespace

const std::vector<absl::Duration>& DefaultRetryDelays() {
  static const auto* delays = new std::vector<absl::Duration>{
      absl::Seconds(5), absl::Minutes(5), absl::Minutes(30), absl::Hours(2),
      absl::Hours(5),   absl::Hours(10),  absl::Hours(10)};
  return *delays;
}

absl::Status ValidateRetryPolicy(const v1::RetryPolicy& policy, absl::string_view field) {
  if (policy.delays_ms_size() > kMaxSteps) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".delays_ms: at most 20 steps"));
  }
  for (int i = 0; i < policy.delays_ms_size(); ++i) {
    const int64_t ms = policy.delays_ms(i);
    if (ms < 0 || absl::Milliseconds(ms) > kMaxDelay) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".delays_ms[", i, "]: must be between 0 and 7 days"));
    }
  }
  if (policy.has_jitter_percent() &&
      (policy.jitter_percent() < 0 || policy.jitter_percent() > 50)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".jitter_percent: must be in [0, 50]"));
  }
  if (policy.max_retry_after_ms() < 0 ||
      absl::Milliseconds(policy.max_retry_after_ms()) > kMaxDelay) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".max_retry_after_ms: must be between 0 and 7 days"));
  }
  return absl::OkStatus();
}

RetrySchedule::RetrySchedule(const v1::RetryPolicy& policy)
    : jitter_percent_(policy.has_jitter_percent() ? policy.jitter_percent()
                                                  : kDefaultJitterPercent),
      max_retry_after_(policy.max_retry_after_ms() > 0
                           ? absl::Milliseconds(policy.max_retry_after_ms())
                           : kDefaultMaxRetryAfter) {
  if (policy.delays_ms().empty()) {
    delays_ = DefaultRetryDelays();
  } else {
    for (int64_t ms : policy.delays_ms()) delays_.push_back(absl::Milliseconds(ms));
  }
}

std::optional<absl::Duration> RetrySchedule::NextDelay(int failed_attempt,
                                                       absl::string_view retry_after,
                                                       absl::Time now, absl::BitGenRef rng) const {
  if (failed_attempt < 1 || failed_attempt > static_cast<int>(delays_.size())) {
    return std::nullopt;
  }
  absl::Duration delay = delays_[failed_attempt - 1];
  if (jitter_percent_ > 0 && delay > absl::ZeroDuration()) {
    const double f = absl::Uniform(rng, -jitter_percent_ / 100.0, jitter_percent_ / 100.0);
    delay += delay * f;
  }
  if (!retry_after.empty()) {
    if (std::optional<absl::Duration> asked = ParseRetryAfter(retry_after, now)) {
      delay = std::max(delay, std::min(*asked, max_retry_after_));
    }
  }
  return delay;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string err;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", value, absl::UTCTimeZone(), &when, &err)) {
    return std::nullopt;
  }
  if (when <= now) return std::nullopt;
  return when - now;
}

}  // namespace hookrelay::queue
