#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/queue/retry_policy.h"
#include "libs/render/renderer.h"
#include "libs/signing/request_signer.h"

namespace hookrelay::worker {

// A hook as the worker uses it, with its signer and retry schedule prepared once.
struct CachedHook {
  bool exists = false;  // false: deleted (its deliveries are cancelled)
  v1::Webhook hook;
  absl::StatusOr<signing::RequestSigner> signer = absl::UnknownError("unset");
  absl::StatusOr<render::Renderer> renderer = absl::UnknownError("unset");
  queue::RetrySchedule schedule{v1::RetryPolicy()};
  absl::Time loaded_at;
};

// Builds a CachedHook from a stored hook's bytes (nullopt bytes: the hook is gone).
std::shared_ptr<const CachedHook> MakeCachedHook(const std::optional<std::string>& bytes,
                                                 absl::Time now);

// Hooks by Redis key, each valid for `ttl` (changes also invalidate a tenant through
// Invalidate*). Thread-safe.
class HookCache {
 public:
  explicit HookCache(absl::Duration ttl) : ttl_(ttl) {}
  std::shared_ptr<const CachedHook> Find(const std::string& key, absl::Time now) const;
  void Put(const std::string& key, std::shared_ptr<const CachedHook> hook);
  void InvalidateAll();
  // Drops every cached hook whose key contains `tenant_tag` ("{<tenant>}:").
  void InvalidateTenant(const std::string& tenant_tag);

 private:
  const absl::Duration ttl_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const CachedHook>> hooks_;
};

// Events by Redis key; holds at most `capacity_bytes` of stored events, evicting the oldest
// inserted (payloads go up to the registry's limit, so a count would not bound memory).
// Events never change, so entries need no expiry. Thread-safe.
class EventCache {
 public:
  explicit EventCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}
  std::shared_ptr<const v1::Event> Find(const std::string& key) const;
  // `bytes`: the event's stored size.
  void Put(const std::string& key, std::shared_ptr<const v1::Event> event, size_t bytes);
  size_t bytes() const;

 private:
  const size_t capacity_bytes_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const v1::Event>> events_;
  std::deque<std::pair<std::string, size_t>> order_;  // key, bytes charged
  size_t bytes_ = 0;
};

}  // namespace hookrelay::worker
