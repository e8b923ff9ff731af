#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"

namespace hookrelay::queue {

// One stream entry: a serialized hookrelay.v1.DeliveryTask of shard `shard`.
struct StreamEntry {
  int shard = 0;
  std::string id;
  std::string task;
  // Times the group handed this entry out (1 for a fresh read).
  long long deliveries = 1;
};

// What the queue of one shard holds.
struct ShardStats {
  long long lag = 0;      // entries not yet handed to any worker
  long long pending = 0;  // handed out, not acknowledged
  long long retries = 0;  // waiting in the retry set
};

// Writes for a caller's transaction. Each names keys of shard `shard` only, so it may join a
// MULTI/EXEC of that shard's tenant keys (one hash slot).
//
// Appends `task` (a serialized DeliveryTask) to the shard's stream.
void AddTask(const store::KeySchema& keys, int shard, absl::string_view task, store::Pipeline* p);
// Acknowledges the entries `entry_ids` of the shard's stream (nothing when there are none).
void AddAck(const store::KeySchema& keys, int shard, absl::Span<const absl::string_view> entry_ids,
            store::Pipeline* p);
// Schedules `task` to go back to the shard's stream at `due`.
void AddRetry(const store::KeySchema& keys, int shard, absl::Time due, absl::string_view task,
              store::Pipeline* p);

// A delivery to send again: its record goes back to PENDING and `task` (a serialized
// DeliveryTask) is appended to the tenant's shard stream.
struct Requeue {
  std::string delivery_id;
  std::string task;
  // Set for a delivery of an ordered hook with an ordering key: it goes back through its
  // key's queue (queue::AddOrderedRequeue) rather than straight to the stream.
  std::string webhook_id;
  std::string ordering_key;
};
// Re-enqueues all of `items`, deliveries of `tenant`, in one MULTI/EXEC.
absl::Status RequeueAll(store::RedisConnection& conn, const store::KeySchema& keys,
                        absl::string_view tenant, absl::Span<const Requeue> items, absl::Time now);

// The shards' streams, retry sets and the workers' consumer group, apart from reading (see
// TaskReader): creation, promotion of due retries, reclaim, trimming and statistics. Uses the
// connection it is given (not thread-safe, like the connection).
//
// Protocol: tasks are appended to a shard's stream (XADD) and read with XREADGROUP by the
// workers' group; an entry stays in the group's pending list until a worker XACKs it together
// with the attempt's record. An entry whose consumer died stays pending; ClaimIdle() hands
// entries idle longer than the visibility timeout to a live consumer (XPENDING + XCLAIM), so
// a SIGKILLed worker loses nothing. A retry waits in the shard's retry set until
// PromoteDue() moves it back to the stream (one Lua script per shard: safe with many
// workers). Trim() deletes entries every consumer is done with.
class TaskQueue {
 public:
  TaskQueue(store::RedisConnection& conn, const store::KeySchema& keys)
      : conn_(conn), keys_(keys) {}

  // Creates every shard's stream and group if missing (a group starts at its stream's first
  // entry, so tasks published before any worker ran are not skipped). One round trip.
  absl::Status EnsureGroups();
  // Moves the retries due at `now` back to their streams, at most `limit` per shard and
  // call, every shard in one round trip. Returns how many moved.
  absl::StatusOr<int> PromoteDue(absl::Time now, int limit);
  // Claims for `consumer` up to `count` entries of other consumers of `shard`, idle at least
  // `idle`; each comes back with how often it was handed out, this time included.
  absl::StatusOr<std::vector<StreamEntry>> ClaimIdle(int shard, const std::string& consumer,
                                                     absl::Duration idle, int count);
  // Removes the consumers of `shard` other than `consumer` that hold nothing pending and were
  // idle at least `idle` (each worker process has a consumer of its own, so restarts would
  // otherwise pile them up). Returns how many were removed.
  absl::StatusOr<int> RemoveIdleConsumers(int shard, const std::string& consumer,
                                          absl::Duration idle);
  // Deletes the shard's entries below the oldest one still pending or unread.
  absl::Status Trim(int shard);
  // Every shard's statistics, in one round trip.
  absl::StatusOr<std::vector<ShardStats>> Stats();
  // Takes (or renews) the lease on `shard`'s maintenance for `holder` until `ttl` passes
  // without a renewal; false while another holder has it.
  absl::StatusOr<bool> TryLease(int shard, const std::string& holder, absl::Duration ttl);

 private:
  store::RedisConnection& conn_;
  const store::KeySchema& keys_;
};

}  // namespace hookrelay::queue
