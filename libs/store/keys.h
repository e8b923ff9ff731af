#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace hookrelay::store {

// The Redis key layout. The keyspace has S shards (fixed per deployment), each with a hash
// tag of its own; a tenant maps to one shard by a stable hash of its name, and all its keys
// carry that shard's tag. So everything one publish writes (event, records, indexes, tasks)
// lies in one hash slot, and a Redis Cluster spreads the shards over its masters. The tags
// are chosen so that shard i's slot lies in the i-th S-th of the slot range: a cluster whose
// masters hold even slot ranges holds S/M shards each (±1). Tenants are validated to
// [A-Za-z0-9._-]{1,64} before they reach here, so they never contain braces or colons.
//
// Per tenant t, in shard s = ShardOf(t), with tag T = Tag(s):
//   <p>{T}:t:<t>:version            INT     bumped on every hook change of the tenant
//   <p>{T}:t:<t>:hooks              SET     hook ids
//   <p>{T}:t:<t>:hook:<id>          STRING  serialized hookrelay.v1.Webhook
//   <p>{T}:t:<t>:hook:<id>:dlvs     ZSET    delivery ids of a hook by creation ms
//   <p>{T}:t:<t>:hook:<id>:health   HASH    fails (consecutive failed deliveries), ok (last
//                                           success ms), since (first failure since, ms)
//   <p>{T}:t:<t>:hook:<id>:rate     STRING  rate limit state: the GCRA theoretical arrival
//                                           time, µs on Redis's clock (TTL: until it passes)
//   <p>{T}:t:<t>:hook:<id>:ord:<k>  LIST    ordered delivery queue of ordering key k: "<delivery
//                                           id> <task>"; the head is the one out (others wait)
//   <p>{T}:t:<t>:evt:<id>           STRING  serialized hookrelay.v1.Event   (retention TTL)
//   <p>{T}:t:<t>:evt:<id>:dlvs      LIST    delivery ids of the event       (retention TTL)
//   <p>{T}:t:<t>:idem:<key>         STRING  first event id for an idempotency key (24 h TTL+)
//   <p>{T}:t:<t>:dlv:<id>           HASH    delivery record and its attempts (see
//                                           delivery_record.h)              (retention TTL)
//   <p>{T}:t:<t>:dlv:<id>:att       LIST    attempts of records written before they moved
//                                           into the record; read only      (retention TTL)
// Per shard:
//   <p>{T}:stream                   STREAM  DeliveryTask entries, field "t"; group "workers"
//   <p>{T}:retry                    ZSET    DeliveryTask bytes scored by due unix ms
//   <p>{T}:maint                    STRING  the worker maintaining the shard now (lease)
// Deployment-wide:
//   <p>meta                         HASH    shards, layout: what every process checks at start
//   <p>{keys}:apikey:<digest>       STRING  serialized hookrelay.v1.ApiKey
//   <p>{keys}:apikeys               HASH    key id → digest
//   <p>pagetoken:key                STRING  the key signing the registry's page tokens
//   <p>hooks:changed                CHANNEL pub/sub: "<tenant>" when its hooks change
//   <p>hooks:paused                 CHANNEL pub/sub: "<tenant>/<hook id> <until unix ms>" when
//                                           a receiver asked to slow down (429 Retry-After)
class KeySchema {
 public:
  static constexpr int kDefaultShards = 16;
  static constexpr int kMaxShards = 1024;
  // The layout version recorded in <p>meta; 1 was the unsharded layout.
  static constexpr int kLayout = 2;

  // `shards` outside [1, kMaxShards] is clamped (callers validate it: ValidateShards).
  explicit KeySchema(std::string prefix = "hookrelay:", int shards = kDefaultShards);

  const std::string& prefix() const { return prefix_; }
  int shards() const { return static_cast<int>(tags_.size()); }
  // The shard holding `tenant`'s keys.
  int ShardOf(absl::string_view tenant) const;
  // Shard `shard`'s hash tag, without braces.
  const std::string& Tag(int shard) const { return tags_[static_cast<size_t>(shard)]; }

  std::string Version(absl::string_view t) const { return Tenant(t, "version"); }
  std::string Hooks(absl::string_view t) const { return Tenant(t, "hooks"); }
  std::string Hook(absl::string_view t, absl::string_view id) const {
    return Tenant(t, "hook:", id);
  }
  std::string HookHealth(absl::string_view t, absl::string_view hook_id) const {
    return Tenant(t, "hook:", hook_id, ":health");
  }
  std::string HookDeliveries(absl::string_view t, absl::string_view hook_id) const {
    return Tenant(t, "hook:", hook_id, ":dlvs");
  }
  std::string HookRate(absl::string_view t, absl::string_view hook_id) const {
    return Tenant(t, "hook:", hook_id, ":rate");
  }
  std::string OrderQueue(absl::string_view t, absl::string_view hook_id,
                         absl::string_view ordering_key) const {
    return Tenant(t, "hook:", hook_id, ":ord:", ordering_key);
  }
  std::string Event(absl::string_view t, absl::string_view id) const {
    return Tenant(t, "evt:", id);
  }
  std::string EventDeliveries(absl::string_view t, absl::string_view id) const {
    return Tenant(t, "evt:", id, ":dlvs");
  }
  std::string Idempotency(absl::string_view t, absl::string_view key) const {
    return Tenant(t, "idem:", key);
  }
  std::string Delivery(absl::string_view t, absl::string_view id) const {
    return Tenant(t, "dlv:", id);
  }
  std::string LegacyAttempts(absl::string_view t, absl::string_view delivery_id) const {
    return Tenant(t, "dlv:", delivery_id, ":att");
  }

  // `tenant`'s key named `suffix` (e.g. "hooks", "hook:<id>"), for moving keys between layouts.
  std::string TenantKey(absl::string_view t, absl::string_view suffix) const {
    return Tenant(t, suffix);
  }

  std::string Stream(int shard) const { return Shard(shard, "stream"); }
  std::string RetrySet(int shard) const { return Shard(shard, "retry"); }
  std::string MaintenanceLease(int shard) const { return Shard(shard, "maint"); }
  // The stream and retry set of `tenant`'s shard.
  std::string StreamOf(absl::string_view t) const { return Stream(ShardOf(t)); }
  std::string RetrySetOf(absl::string_view t) const { return RetrySet(ShardOf(t)); }

  std::string Meta() const { return absl::StrCat(prefix_, "meta"); }
  std::string ApiKey(absl::string_view digest) const {
    return absl::StrCat(prefix_, "{keys}:apikey:", digest);
  }
  std::string ApiKeys() const { return absl::StrCat(prefix_, "{keys}:apikeys"); }
  std::string HooksChangedChannel() const { return absl::StrCat(prefix_, "hooks:changed"); }
  std::string HookPausesChannel() const { return absl::StrCat(prefix_, "hooks:paused"); }

  // The consumer group of the workers on every shard's stream.
  static constexpr absl::string_view kGroup = "workers";
  // The stream entry field holding the serialized DeliveryTask.
  static constexpr absl::string_view kTaskField = "t";

 private:
  template <typename... Parts>
  std::string Tenant(absl::string_view t, const Parts&... parts) const {
    return absl::StrCat(prefix_, "{", Tag(ShardOf(t)), "}:t:", t, ":", parts...);
  }
  std::string Shard(int shard, absl::string_view what) const {
    return absl::StrCat(prefix_, "{", Tag(shard), "}:", what);
  }

  std::string prefix_;
  std::vector<std::string> tags_;
};

// INVALID_ARGUMENT "shards: ..." unless 1 <= shards <= KeySchema::kMaxShards.
absl::Status ValidateShards(int shards);

}  // namespace hookrelay::store
