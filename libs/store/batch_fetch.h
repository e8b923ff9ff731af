#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store {

// Reads many hooks and events in one round trip: one MGET per tenant (a tenant's keys share
// a hash slot), each also reading the tenant's hook version, so a hook comes back with the
// version it was read at. Add what is wanted, Run(), then read the results by the indexes
// Add returned. Not thread-safe.
class BatchFetch {
 public:
  explicit BatchFetch(const KeySchema& keys) : keys_(keys) {}

  // The index of hook `id` of `tenant` in the results (the same one for the same hook).
  size_t AddHook(absl::string_view tenant, absl::string_view id);
  // The index of event `id` of `tenant` in the results.
  size_t AddEvent(absl::string_view tenant, absl::string_view id);
  bool empty() const { return items_.empty(); }

  // UNAVAILABLE when Redis cannot be reached, INTERNAL for an error reply.
  absl::Status Run(RedisConnection& conn);

  // After Run(): the hook (nullopt when it is gone or its record does not parse), and the
  // tenant's hook version read with it.
  const std::optional<v1::Webhook>& hook(size_t i) const { return items_[i].hook; }
  long long hook_version(size_t i) const { return items_[i].version; }
  // After Run(): the event (null when it expired) and its stored size.
  const std::shared_ptr<const v1::Event>& event(size_t i) const { return items_[i].event; }
  size_t event_bytes(size_t i) const { return items_[i].bytes; }

 private:
  struct Item {
    bool is_hook = false;
    std::string key;
    std::optional<v1::Webhook> hook;
    std::shared_ptr<const v1::Event> event;
    long long version = 0;
    size_t bytes = 0;
  };
  size_t Add(absl::string_view tenant, std::string key, bool is_hook);

  const KeySchema& keys_;
  std::vector<Item> items_;
  absl::flat_hash_map<std::string, size_t> index_;  // key → item
  std::vector<std::string> tenants_;                // MGET order
  absl::flat_hash_map<std::string, std::vector<size_t>> of_tenant_;
};

}  // namespace hookrelay::store
