#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"

namespace hookrelay::store {

// All hooks of one tenant at one version: a consistent snapshot.
struct TenantHooks {
  long long version = 0;
  std::vector<v1::Webhook> hooks;
};

// Stores webhooks. Every change bumps the tenant's version (what publishes check against)
// and announces the tenant on the hooks-changed channel (what worker caches listen to).
// Thread-safe (connections come from the pool). Hooks are expected to be validated.
class HookStore {
 public:
  HookStore(RedisPool& pool, const KeySchema& keys) : pool_(pool), keys_(keys) {}

  // Writes a new hook. ALREADY_EXISTS if the id is taken; UNAVAILABLE if Redis is down.
  absl::Status Create(const v1::Webhook& hook);
  // Replaces a stored hook. NOT_FOUND if it does not exist.
  absl::Status Replace(const v1::Webhook& hook);
  // NOT_FOUND if it does not exist.
  absl::StatusOr<v1::Webhook> Get(absl::string_view tenant, absl::string_view id);
  // NOT_FOUND if it does not exist.
  absl::Status Delete(absl::string_view tenant, absl::string_view id);
  // The tenant's hooks and version, read atomically.
  absl::StatusOr<TenantHooks> LoadTenant(absl::string_view tenant);

 private:
  absl::Status Write(const v1::Webhook& hook, bool must_exist);
  RedisPool& pool_;
  const KeySchema& keys_;
};

}  // namespace hookrelay::store
