#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "libs/store/hook_store.h"

namespace hookrelay::registry {

// The in-memory index of each tenant's hooks that publishes match against, tagged with the
// tenant version it was read at. It may be stale: the publish script compares the version
// and, on a mismatch, the caller calls Reload(). So a hook change made through any registry
// replica is honoured by the next publish in every replica. Thread-safe.
class HookIndex {
 public:
  explicit HookIndex(store::HookStore& hooks) : hooks_(hooks) {}

  // The cached snapshot, loading it on first use.
  absl::StatusOr<std::shared_ptr<const store::TenantHooks>> Get(const std::string& tenant);
  // Reads the tenant's hooks again and replaces the snapshot.
  absl::StatusOr<std::shared_ptr<const store::TenantHooks>> Reload(const std::string& tenant);

 private:
  store::HookStore& hooks_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const store::TenantHooks>> tenants_;
};

}  // namespace hookrelay::registry
