#pragma once

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
};

struct PublishOutcome {
  enum class Kind { kPublished, kDuplicate, kStaleVersion };
  Kind kind = Kind::kPublished;
  std::string event_id;                   // the first event's id for kDuplicate
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
//   1. an idempotency key seen before → return the first event and its deliveries;
//   2. the tenant's hook version differs from the plan's → return kStaleVersion (the
//      caller reloads its hook index and plans again);
//   3. store the event, one delivery record per planned delivery (status PENDING), the
//      event→deliveries list and hook→deliveries index, XADD one task per delivery, and
//      remember the idempotency key.
// A batch takes two round trips: WATCH and MGET of the tenants' hook versions and the
// idempotency keys (steps 1 and 2); then one MULTI/EXEC with step 3 of every plan that
// passed. A version or key written in between makes Redis refuse the EXEC, and those plans
// come back kStaleVersion (planned again, a concurrent duplicate then finds its key). Plain
// commands in a transaction cost Redis about half of what a Lua script calling them cost.
// Thread-safe.
class EventStore {
 public:
  EventStore(RedisPool& pool, const KeySchema& keys, EventStoreOptions options)
      : pool_(pool), keys_(keys), options_(options) {}

  absl::StatusOr<PublishOutcome> Publish(const PublishPlan& plan, absl::Time now);
  // All plans in two pipelined round trips (see above); outcomes in order.
  absl::StatusOr<std::vector<PublishOutcome>> PublishBatch(absl::Span<const PublishPlan> plans,
                                                           absl::Time now);
  // NOT_FOUND once the event expired or never existed.
  absl::StatusOr<v1::Event> Get(absl::string_view tenant, absl::string_view id);

 private:
  // How round trip 1 sorted a batch's plans (indexes into the batch).
  struct Decision {
    std::vector<PublishOutcome> outcomes;
    std::vector<size_t> to_write;
    std::vector<size_t> duplicates;  // of an event stored earlier
    std::vector<size_t> copies;      // repeating an idempotency key of an earlier plan
    absl::flat_hash_map<size_t, size_t> copy_of;
  };
  static absl::StatusOr<Decision> Decide(absl::Span<const PublishPlan> plans,
                                         const std::vector<RedisReply>& values,
                                         const std::vector<size_t>& version_of,
                                         const std::vector<size_t>& key_of);

  RedisPool& pool_;
  const KeySchema& keys_;
  const EventStoreOptions options_;
};

}  // namespace hookrelay::store
