#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"

namespace hookrelay::store {

// One delivery a publish creates.
struct PlannedDelivery {
  std::string delivery_id;
  std::string hook_id;
  std::string task;  // serialized hookrelay.v1.DeliveryTask
};

// Everything one publish writes, decided by the caller against hooks at `expected_version`.
struct PublishPlan {
  v1::Event event;  // id, tenant, type, payload, idempotency_key, ... all set
  long long expected_version = 0;
  std::vector<PlannedDelivery> deliveries;
  // What makes two requests with the same idempotency key the same request (see
  // queue::RequestFingerprint); stored beside the key. Empty: not compared.
  std::string fingerprint;
  // A TestWebhook send: its delivery records are marked (dlv::kTest).
  bool test = false;
};

struct PublishOutcome {
  // kConflict: the idempotency key was first used with a request of another fingerprint.
  enum class Kind { kPublished, kDuplicate, kStaleVersion, kConflict };
  Kind kind = Kind::kPublished;
  std::string event_id;                   // the first event's id for kDuplicate, kConflict
  std::vector<std::string> delivery_ids;  // kPublished and kDuplicate
  long long current_version = 0;          // kStaleVersion
};

struct EventStoreOptions {
  absl::Duration retention = absl::Hours(24 * 30);
  absl::Duration idempotency_ttl = absl::Hours(24);
  absl::Status Validate() const;
};

// Stores events and fans them out.
//
// Publish protocol, per plan:
//   1. an idempotency key seen before → return the first event and its deliveries, or
//      kConflict when the key was stored with another request fingerprint;
//   2. the tenant's hook version differs from the plan's → return kStaleVersion (the
//      caller reloads its hook index and plans again);
//   3. store the event, one delivery record per planned delivery (status PENDING), the
//      event→deliveries list and hook→deliveries index, XADD one task per delivery, and
//      remember the idempotency key.
// Steps 1 and 2 read keys under WATCH; step 3 is one MULTI/EXEC for every plan of a batch
// that passed, which Redis refuses if a watched key changed since the read (those plans
// come back kStaleVersion: planned again, a concurrent duplicate then finds its key). Plain
// commands in a transaction cost Redis about half of what a Lua script calling them cost.
//
// One round trip in the common case: publishes run on connections of their own, and each
// batch's pipeline ends by watching the version keys of the tenants it published (the last
// 64 on that connection) and reading them. The next batch on that connection whose plans
// all match those versions and carry no idempotency key goes straight to MULTI/EXEC: a hook
// change since the read has touched a watched key, so Redis refuses that EXEC. Any other
// batch reads first (two round trips). An error on a connection drops what it watched.
// Thread-safe.
class EventStore {
 public:
  EventStore(RedisPool& pool, const KeySchema& keys, EventStoreOptions options)
      : pool_(pool), keys_(keys), options_(options) {}
  ~EventStore();  // unwatches its connections before they go back to the pool

  absl::StatusOr<PublishOutcome> Publish(const PublishPlan& plan, absl::Time now);
  // All plans in one or two pipelined round trips (see above); outcomes in order. With
  // `all_or_nothing`, a kConflict of one plan writes none (the others' outcomes are then
  // meaningless): one caller's batch.
  absl::StatusOr<std::vector<PublishOutcome>> PublishBatch(absl::Span<const PublishPlan> plans,
                                                           absl::Time now,
                                                           bool all_or_nothing = false);
  // NOT_FOUND once the event expired or never existed.
  absl::StatusOr<v1::Event> Get(absl::string_view tenant, absl::string_view id);

 private:
  // A connection publishes run on, and what it watches: the tenants' version keys it read
  // right after the WATCH, with their values.
  struct Armed {
    explicit Armed(RedisPool::Lease l) : conn(std::move(l)) {}
    RedisPool::Lease conn;
    absl::flat_hash_map<std::string, long long> versions;
    Pipeline writes;  // reused: a batch's writes run to hundreds of kilobytes
  };
  // How the read sorted a batch's plans (indexes into the batch).
  struct Decision {
    std::vector<PublishOutcome> outcomes;
    std::vector<size_t> to_write;
    std::vector<size_t> duplicates;  // of an event stored earlier
    std::vector<size_t> copies;      // repeating an idempotency key of an earlier plan
    absl::flat_hash_map<size_t, size_t> copy_of;
    bool conflict = false;  // some plan's outcome is kConflict
  };
  absl::StatusOr<std::unique_ptr<Armed>> TakeArmed();
  void GiveBack(std::unique_ptr<Armed> armed);
  absl::StatusOr<std::vector<PublishOutcome>> PublishOn(Armed& armed,
                                                        absl::Span<const PublishPlan> plans,
                                                        absl::Time now, bool all_or_nothing);
  // Round trip 1 of the two-trip path: WATCH and MGET of the version keys and idempotency
  // keys, then Decide. Leaves those keys watched when it succeeds.
  absl::StatusOr<Decision> ReadAndDecide(RedisConnection& conn, absl::Span<const PublishPlan> plans,
                                         const std::vector<std::string>& version_keys);
  static absl::StatusOr<Decision> Decide(absl::Span<const PublishPlan> plans,
                                         const std::vector<RedisReply>& values,
                                         const std::vector<size_t>& version_of,
                                         const std::vector<size_t>& key_of);

  RedisPool& pool_;
  const KeySchema& keys_;
  const EventStoreOptions options_;
  std::mutex armed_mu_;
  std::vector<std::unique_ptr<Armed>> armed_;  // idle publish connections
};

}  // namespace hookrelay::store
