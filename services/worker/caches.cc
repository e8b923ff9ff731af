#include "services/worker/caches.h"

namespace hookrelay::worker {

std::shared_ptr<const CachedHook> MakeCachedHook(const std::optional<v1::Webhook>& hook,
                                                 long long version, absl::Time now) {
  auto c = std::make_shared<CachedHook>();
  c->loaded_at = now;
  c->version = version;
  if (!hook.has_value()) return c;
  c->exists = true;
  c->hook = *hook;
  c->signer = signing::RequestSigner::Create(c->hook.signing(), now);
  c->renderer = render::Renderer::Create(c->hook);
  c->schedule = queue::RetrySchedule(c->hook.retry_policy());
  return c;
}

std::shared_ptr<const CachedHook> HookCache::Find(const std::string& tenant, const std::string& id,
                                                  long long at_least_version,
                                                  absl::Time now) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return nullptr;
  auto it = t->second.find(id);
  if (it == t->second.end()) return nullptr;
  const CachedHook& c = *it->second;
  if (now - c.loaded_at > ttl_ || c.version < at_least_version) return nullptr;
  return it->second;
}

void HookCache::Put(const std::string& tenant, const std::string& id,
                    std::shared_ptr<const CachedHook> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  tenants_[tenant][id] = std::move(hook);
}

void HookCache::InvalidateAll() {
  std::lock_guard<std::mutex> lock(mu_);
  tenants_.clear();
}

void HookCache::InvalidateTenant(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  tenants_.erase(tenant);
}

std::shared_ptr<const v1::Event> EventCache::Find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = events_.find(key);
  return it == events_.end() ? nullptr : it->second;
}

void EventCache::Put(const std::string& key, std::shared_ptr<const v1::Event> event, size_t bytes) {
  const size_t charged = bytes + key.size();
  std::lock_guard<std::mutex> lock(mu_);
  if (charged > capacity_bytes_ || !events_.emplace(key, std::move(event)).second) return;
  order_.emplace_back(key, charged);
  bytes_ += charged;
  while (bytes_ > capacity_bytes_) {
    events_.erase(order_.front().first);
    bytes_ -= order_.front().second;
    order_.pop_front();
  }
}

size_t EventCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace hookrelay::worker
