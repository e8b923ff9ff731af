#include "libs/queue/rate_limiter.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hookrelay::queue {
namespace {

constexpr int kMaxPerSecond = 10000;
constexpr int kMaxBurst = 10000;
// Tokens are spaced as if a second lasted this much longer: requests that reach the receiver
// up to ~30 ms later than the ones after them (a burst dialling fresh connections, a busy
// sender) still make at most per_second + burst in any second there. It costs 3 % of the
// sustained rate.
constexpr absl::Duration kSpare = absl::Milliseconds(30);

// GCRA reservation. KEYS: the hook's rate state. ARGV: interval µs, tolerance µs, count,
// horizon µs. Token i (from 0) may go at max(now, tat) + i × interval - tolerance; grants the
// tokens that may go within the horizon, at most count. Returns {granted, offset of token 0,
// offset of the next token}, offsets in µs from Redis's now.
const store::RedisScript& ReserveScript() {
  static const auto* script = new store::RedisScript(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local count, horizon = tonumber(ARGV[3]), tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local first = tat - tolerance - now
local k = math.floor((horizon - first) / interval) + 1
if k < 0 then k = 0 end
if k > count then k = count end
if k > 0 then
  tat = tat + k * interval
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',
             math.floor((tat - now) / 1000) + 1000)
end
return {k, first, tat - tolerance - now}
)lua");
  return *script;
}

// KEYS: the hook's rate state. ARGV: pause µs, tolerance µs. Makes the next token free no
// earlier than the pause's end (and one at a time from there: no burst after a pause).
const store::RedisScript& PauseScript() {
  static const auto* script = new store::RedisScript(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = now + tonumber(ARGV[1]) + tonumber(ARGV[2])
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
if old >= tat then return 0 end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
return 1
)lua");
  return *script;
}

std::string Micros(absl::Duration d) { return std::to_string(absl::ToInt64Microseconds(d)); }

absl::Duration Tolerance(const RateSpec& s) { return s.interval * std::max(0, s.burst - 1); }

}  // namespace

absl::Status ValidateRateLimit(const v1::RateLimit& limit, absl::string_view field) {
  if (limit.per_second() < 1 || limit.per_second() > kMaxPerSecond) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".per_second: must be in [1, ", kMaxPerSecond, "]"));
  }
  if (limit.burst() < 0 || limit.burst() > kMaxBurst) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".burst: must be in [0, ", kMaxBurst, "] (0 means 1)"));
  }
  return absl::OkStatus();
}

RateSpec RateSpec::Of(const v1::RateLimit& limit) {
  return RateSpec{.interval = (absl::Seconds(1) + kSpare) / std::max(1, limit.per_second()),
                  .burst = std::max(1, limit.burst())};
}

absl::StatusOr<std::vector<RateGrant>> RateLimiter::Reserve(
    store::RedisConnection& conn, absl::Span<const RateRequest> requests) {
  std::vector<RateGrant> out;
  if (requests.empty()) return out;
  store::Pipeline p;
  for (const RateRequest& r : requests) {
    const std::string key = keys_.HookRate(r.tenant, r.hook_id);
    p.AddEval(ReserveScript(), {key},
              {Micros(r.spec.interval), Micros(Tolerance(r.spec)), std::to_string(r.count),
               Micros(r.horizon)});
  }
  auto replies = conn.Execute(p);
  if (!replies.ok()) return replies.status();
  out.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const store::RedisReply& r = (*replies)[i];
    if (absl::Status st = r.ToStatus(); !st.ok()) return st;
    if (r.elements.size() != 3) return absl::InternalError("redis: bad rate limit reply");
    out.push_back(RateGrant{.granted = static_cast<int>(r.elements[0].integer),
                            .first = absl::Microseconds(r.elements[1].integer),
                            .interval = requests[i].spec.interval,
                            .next = absl::Microseconds(r.elements[2].integer)});
  }
  return out;
}

absl::Status RateLimiter::Pause(store::RedisConnection& conn, absl::string_view tenant,
                                absl::string_view hook_id, const std::optional<RateSpec>& spec,
                                absl::Time until, absl::Time now) {
  store::Pipeline p;
  if (spec.has_value()) {
    const absl::Duration left = std::max(until - now, absl::ZeroDuration());
    p.AddEval(PauseScript(), {keys_.HookRate(tenant, hook_id)},
              {Micros(left), Micros(Tolerance(*spec))});
  }
  p.Add({"PUBLISH", keys_.HookPausesChannel(), PauseMessage(tenant, hook_id, until)});
  auto replies = conn.Execute(p);
  if (!replies.ok()) return replies.status();
  for (const store::RedisReply& r : *replies) {
    if (absl::Status st = r.ToStatus(); !st.ok()) return st;
  }
  return absl::OkStatus();
}

std::string RateLimiter::PauseMessage(absl::string_view tenant, absl::string_view hook_id,
                                      absl::Time until) {
  return absl::StrCat(tenant, "/", hook_id, " ", absl::ToUnixMillis(until));
}

std::optional<std::pair<std::string, absl::Time>> RateLimiter::ParsePauseMessage(
    absl::string_view message) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(message, ' ');
  int64_t ms = 0;
  if (parts.first.find('/') == absl::string_view::npos || !absl::SimpleAtoi(parts.second, &ms)) {
    return std::nullopt;
  }
  return std::make_pair(std::string(parts.first), absl::FromUnixMillis(ms));
}

}  // namespace hookrelay::queue
