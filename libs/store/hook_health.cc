#include "libs/store/hook_health.h"

#include "absl/strings/numbers.h"

namespace hookrelay::store {
namespace {

constexpr absl::string_view kFails = "fails";
constexpr absl::string_view kOk = "ok";
constexpr absl::string_view kSince = "since";

}  // namespace

void AddHealthSuccess(const KeySchema& keys, absl::string_view tenant, absl::string_view hook_id,
                      absl::Time now, absl::Duration ttl, Pipeline* p) {
  const std::string key = keys.HookHealth(tenant, hook_id);
  p->Add({"HSET", key, kFails, "0", kOk, std::to_string(absl::ToUnixMillis(now))});
  p->Add({"HDEL", key, kSince});
  p->Add({"EXPIRE", key, std::to_string(absl::ToInt64Seconds(ttl))});
}

void HealthFailure::Add(const KeySchema& keys, absl::string_view tenant, absl::string_view hook_id,
                        absl::Time now, absl::Duration ttl, size_t first_of_transaction,
                        Pipeline* p) {
  const std::string key = keys.HookHealth(tenant, hook_id);
  at_ = p->size() - first_of_transaction;
  p->Add({"HINCRBY", key, kFails, "1"});
  p->Add({"HSETNX", key, kSince, std::to_string(absl::ToUnixMillis(now))});
  p->Add({"HGET", key, kSince});
  p->Add({"EXPIRE", key, std::to_string(absl::ToInt64Seconds(ttl))});
}

HealthFailure::State HealthFailure::Read(const std::vector<RedisReply>& exec) const {
  State s;
  if (at_ + 2 >= exec.size()) return s;
  s.fails = exec[at_].integer;
  long long since_ms = 0;
  if (absl::SimpleAtoi(exec[at_ + 2].str, &since_ms) && since_ms > 0) {
    s.since = absl::FromUnixMillis(since_ms);
  }
  return s;
}

}  // namespace hookrelay::store
