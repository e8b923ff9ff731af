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
#include "libs/queue/ordered.h"
#include "libs/store/event_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"

namespace hookrelay::queue {

// Everything one publish writes, decided by the caller against hooks at `expected_version`.
struct PublishPlan {
  v1::Event event;  // id, tenant, type, payload, idempotency_key, ... all set
  long long expected_version = 0;
  std::vector<store::NewDelivery> deliveries;
  std::vector<std::string> tasks;  // tasks[i]: serialized DeliveryTask of deliveries[i]
  // Empty when no delivery is ordered; else ordered[i].ordering_key is set when tasks[i]
  // joins its (hook, key)'s queue (queue::AddOrderedTask) rather than the stream.
  std::vector<OrderedTask> ordered;
  // What makes two requests with the same idempotency key the same request (see
  // RequestFingerprint); stored beside the key. Empty: not compared.
  std::string fingerprint;
  // A TestWebhook send: its delivery records are marked (store::dlv::kTest).
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

// How many replicas must hold a publish before it is answered: each shard's transaction is
// followed by WAIT min_replicas timeout. Without it an acknowledged publish can be lost if
// its master fails before replicating it (Redis replication is asynchronous).
struct Durability {
  int min_replicas = 0;  // 0: answer once the master has it
  absl::Duration timeout = absl::Seconds(1);
  // INVALID_ARGUMENT naming publish_min_replicas / publish_replica_timeout.
  absl::Status Validate() const;
};

// Stores events and fans them out into their shard's stream.
//
// Publish protocol, per plan:
//   1. an idempotency key seen before → return the first event and its deliveries, or
//      kConflict when the key was stored with another request fingerprint;
//   2. the tenant's hook version differs from the plan's → return kStaleVersion (the
//      caller reloads its hook index and plans again);
//   3. store the event, one delivery record per planned delivery (status PENDING), the
//      event→deliveries list and hook→deliveries index, XADD one task per delivery to the
//      shard's stream, and remember the idempotency key.
// A batch's plans are grouped by shard; each shard's plans go through steps 1-3 as one unit:
// steps 1 and 2 read keys under WATCH; step 3 is one MULTI/EXEC for every plan of the shard
// that passed, which Redis refuses if a watched key changed since the read (those plans come
// back kStaleVersion: planned again, a concurrent duplicate then finds its key). Everything
// a transaction names carries the shard's hash tag, so it is valid on a Redis Cluster. The
// shards of a batch run on connections of their own, their round trips overlapping: a batch
// costs the round trips of one shard, whatever the number of shards it spans. A batch is
// atomic per shard (so per tenant), not across shards.
//
// One round trip in the common case: publishes run on connections of their own, one set per
// shard, and each transaction's pipeline ends by watching the version keys of the tenants it
// published (the last 64 on that connection) and reading them. The next batch on that
// connection whose plans all match those versions and carry no idempotency key goes straight
// to MULTI/EXEC: a hook change since the read has touched a watched key, so Redis refuses
// that EXEC. Any other batch reads first (two round trips). An error on a connection drops
// what it watched. Plain commands in a transaction cost Redis about half of what a Lua script
// calling them costs. Thread-safe.
class FanOut {
 public:
  // With `durability.min_replicas`, plans whose write fewer replicas confirmed in time fail
  // UNAVAILABLE (they are stored: publishing again with the same idempotency key is safe).
  FanOut(store::RedisPool& pool, const store::KeySchema& keys, store::EventStoreOptions options,
         Durability durability = {});
  ~FanOut();  // unwatches its connections before they go back to the pool

  absl::StatusOr<PublishOutcome> Publish(const PublishPlan& plan, absl::Time now);
  // All plans in one or two round trips (see above); outcomes in order. A shard whose
  // connection failed fails only its own plans. With `all_or_nothing` (one caller's batch), a
  // kConflict of one plan writes none, in any shard (the others' outcomes are then
  // meaningless).
  std::vector<absl::StatusOr<PublishOutcome>> PublishBatch(absl::Span<const PublishPlan> plans,
                                                           absl::Time now,
                                                           bool all_or_nothing = false);

 private:
  // A connection publishes run on, and what it watches: the tenants' version keys it read
  // right after the WATCH, with their values.
  struct Armed {
    explicit Armed(store::RedisPool::Lease l) : conn(std::move(l)) {}
    store::RedisPool::Lease conn;
    absl::flat_hash_map<std::string, long long> versions;
    store::Pipeline writes;  // reused: a batch's writes run to hundreds of kilobytes
  };
  // How the read sorted a shard's plans (indexes into the shard's plans).
  struct Decision {
    std::vector<PublishOutcome> outcomes;
    std::vector<size_t> to_write;
    std::vector<size_t> duplicates;  // of an event stored earlier
    std::vector<size_t> copies;      // repeating an idempotency key of an earlier plan
    absl::flat_hash_map<size_t, size_t> copy_of;
    bool conflict = false;  // some plan's outcome is kConflict
  };
  // The plans of one shard on their way through a batch.
  struct ShardBatch {
    int shard = 0;
    std::vector<size_t> index;  // of each plan in the batch
    std::vector<const PublishPlan*> plans;
    std::unique_ptr<Armed> armed;
    std::vector<std::string> version_keys;   // of each plan
    std::vector<std::string> watched;        // the read's keys: versions, then idempotency keys
    std::vector<size_t> version_of, key_of;  // of each plan, in `watched` (key_of 0: none)
    std::vector<std::string> rearm;          // the versions to watch for the next batch
    Decision decided;
    absl::Status status;
  };

  absl::StatusOr<std::unique_ptr<Armed>> TakeArmed(int shard);
  void GiveBack(int shard, std::unique_ptr<Armed> armed);
  // Whether every plan of `b` matches a version its connection watches (one round trip).
  bool Watched(ShardBatch& b) const;
  // The read's pipeline: WATCH and MGET of the version keys and idempotency keys.
  void PrepareRead(ShardBatch& b, store::Pipeline* p) const;
  absl::Status FinishRead(ShardBatch& b, const std::vector<store::RedisReply>& replies);
  // The write's pipeline: the duplicates' LRANGEs, the transaction, the next WATCH and read;
  // only an UNWATCH when there is nothing to write or `write_nothing`.
  void PrepareWrite(ShardBatch& b, absl::Time now, bool write_nothing);
  absl::Status FinishWrite(ShardBatch& b, const std::vector<store::RedisReply>& replies);
  // Sends each batch's pipeline from `pipes` (skipping empty ones), then collects the replies
  // with `finish`; a failure marks that batch only.
  template <typename Finish>
  void RoundTrip(std::vector<ShardBatch>& batches, std::vector<store::Pipeline*>& pipes,
                 Finish finish);
  static absl::StatusOr<Decision> Decide(const std::vector<const PublishPlan*>& plans,
                                         const std::vector<store::RedisReply>& values,
                                         const std::vector<size_t>& version_of,
                                         const std::vector<size_t>& key_of);

  store::RedisPool& pool_;
  const store::KeySchema& keys_;
  const store::EventStoreOptions options_;
  const Durability durability_;
  std::mutex armed_mu_;
  std::vector<std::vector<std::unique_ptr<Armed>>> armed_;  // per shard, idle connections
};

}  // namespace hookrelay::queue
