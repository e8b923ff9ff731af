#pragma once

#include <functional>
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
  // Replaces a stored hook whatever it holds now. NOT_FOUND if it does not exist. A
  // read-modify-write must use Update() instead, or it may undo a concurrent change.
  absl::Status Replace(const v1::Webhook& hook);
  // Read-modify-write with compare-and-set: reads the hook, lets `mutate` change it, and
  // writes it back only if the stored hook is still the one read; on a conflict it reads
  // again and calls `mutate` again (so `mutate` must start from the hook it is given), up to
  // kMaxUpdateTries times. Returns the hook written. NOT_FOUND if the hook does not exist,
  // ABORTED if it kept changing, `mutate`'s own error (nothing written) as it is.
  static constexpr int kMaxUpdateTries = 16;
  absl::StatusOr<v1::Webhook> Update(absl::string_view tenant, absl::string_view id,
                                     const std::function<absl::Status(v1::Webhook&)>& mutate);
  // NOT_FOUND if it does not exist.
  absl::StatusOr<v1::Webhook> Get(absl::string_view tenant, absl::string_view id);
  // NOT_FOUND if it does not exist.
  absl::Status Delete(absl::string_view tenant, absl::string_view id);
  // The tenant's hooks and version, read atomically.
  absl::StatusOr<TenantHooks> LoadTenant(absl::string_view tenant);

 private:
  // `mode`: "create", "replace" or "cas" (then `expected`: the bytes the hook must hold).
  // ABORTED when a compare-and-set found other bytes.
  absl::Status Write(const v1::Webhook& hook, absl::string_view mode, absl::string_view expected);
  RedisPool& pool_;
  const KeySchema& keys_;
};

}  // namespace hookrelay::store
