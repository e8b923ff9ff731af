#include "services/worker/caches.h"

#include "absl/container/flat_hash_map.h"

namespace hookrelay::worker {

std::shared_ptr<const CachedHook> MakeCachedHook(const std::optional<std::string>& bytes,
                                                 absl::Time now) {
  auto c = std::make_shared<CachedHook>();
  c->loaded_at = now;
  if (!bytes.has_value() || !c->hook.ParseFromString(*bytes)) return c;
  c->exists = true;
  c->signer = signing::RequestSigner::Create(c->hook.signing(), now);
  c->renderer = render::Renderer::Create(c->hook);
  c->schedule = queue::RetrySchedule(c->hook.retry_policy());
  return c;
}

std::shared_ptr<const CachedHook> HookCache::Find(const std::string& key, absl::Time now) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hooks_.find(key);
  if (it == hooks_.end() || now - it->second->loaded_at > ttl_) return nullptr;
  return it->second;
}

void HookCache::Put(const std::string& key, std::shared_ptr<const CachedHook> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  hooks_[key] = std::move(hook);
}

void HookCache::InvalidateAll() {
  std::lock_guard<std::mutex> lock(mu_);
  hooks_.clear();
}

void HookCache::InvalidateTenant(const std::string& tenant_tag) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::erase_if(
      hooks_, [&](const auto& entry) { return entry.first.find(tenant_tag) != std::string::npos; });
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
