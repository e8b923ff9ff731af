#include "services/registry/hook_index.h"

namespace hookrelay::registry {

absl::StatusOr<std::shared_ptr<const store::TenantHooks>> HookIndex::Get(
    const std::string& tenant) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tenants_.find(tenant);
    if (it != tenants_.end()) return it->second;
  }
  return Reload(tenant);
}

absl::StatusOr<std::shared_ptr<const store::TenantHooks>> HookIndex::Reload(
    const std::string& tenant) {
  auto loaded = hooks_.LoadTenant(tenant);
  if (!loaded.ok()) return loaded.status();
  auto snapshot = std::make_shared<const store::TenantHooks>(*std::move(loaded));
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = tenants_[tenant];
  // Keep the newer of two concurrent reloads.
  if (slot == nullptr || slot->version <= snapshot->version) slot = snapshot;
  return slot;
}

}  // namespace hookrelay::registry
