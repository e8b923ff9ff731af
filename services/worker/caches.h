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
  // The tenant's hook version this was read at (DeliveryTask.hooks_version compares to it).
  long long version = 0;
  absl::StatusOr<signing::RequestSigner> signer = absl::UnknownError("unset");
  absl::StatusOr<render::Renderer> renderer = absl::UnknownError("unset");
  queue::RetrySchedule schedule{v1::RetryPolicy()};
  absl::Time loaded_at;
};

// Builds a CachedHook from a stored hook (nullopt: the hook is gone) read at `version`.
std::shared_ptr<const CachedHook> MakeCachedHook(const std::optional<v1::Webhook>& hook,
                                                 long long version, absl::Time now);

// Hooks by tenant and id, each valid for `ttl`; a tenant's change drops its hooks
// (InvalidateTenant, from pub/sub), and a task planned at a newer version than a cached hook
// makes the caller read that hook again (see Find). Thread-safe.
class HookCache {
 public:
  explicit HookCache(absl::Duration ttl) : ttl_(ttl) {}
  // The cached hook, unless it is older than `ttl` or was read at a version below
  // `at_least_version` (a change the caller must see happened since).
  std::shared_ptr<const CachedHook> Find(const std::string& tenant, const std::string& id,
                                         long long at_least_version, absl::Time now) const;
  void Put(const std::string& tenant, const std::string& id,
           std::shared_ptr<const CachedHook> hook);
  void InvalidateAll();
  void InvalidateTenant(const std::string& tenant);

 private:
  using Hooks = absl::flat_hash_map<std::string, std::shared_ptr<const CachedHook>>;
  const absl::Duration ttl_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Hooks> tenants_;
};

// Events by tenant and id; holds at most `capacity_bytes` of stored events, evicting the
// oldest inserted (payloads go up to the registry's limit, so a count would not bound
// memory). Events never change, so entries need no expiry. Thread-safe.
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
