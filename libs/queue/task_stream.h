#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"

namespace hookrelay::queue {

// One stream entry: a serialized hookrelay.v1.DeliveryTask.
struct StreamEntry {
  std::string id;
  std::string task;
  // Times the group handed this entry out (1 for a fresh read).
  long long deliveries = 1;
};

// The delivery stream seen by one consumer of the workers' group. Uses the connection it
// is given (not thread-safe, like the connection).
//
// Protocol: entries are read with XREADGROUP (">": never-delivered entries) and stay in
// the group's pending list until the worker XACKs them together with the attempt's record.
// An entry whose consumer died stays pending; ClaimIdle() hands entries idle longer than
// the visibility timeout to a live consumer (XPENDING + XCLAIM), so a SIGKILLed worker
// loses nothing; the delivery count says how often that already happened.
class TaskStream {
 public:
  TaskStream(store::RedisConnection& conn, const store::KeySchema& keys, std::string consumer)
      : conn_(conn), keys_(keys), consumer_(std::move(consumer)) {}

  // Creates the stream and the group if missing (the group starts at the stream's first
  // entry, so tasks published before any worker ran are not skipped).
  absl::Status EnsureGroup();
  // Up to `count` new entries, waiting up to `block` for the first.
  absl::StatusOr<std::vector<StreamEntry>> Read(int count, absl::Duration block);
  // Claims up to `count` entries of other consumers idle at least `idle`.
  absl::StatusOr<std::vector<StreamEntry>> ClaimIdle(absl::Duration idle, int count);

  // Removes other consumers that hold nothing pending and were idle at least `idle` (each
  // worker process has a consumer of its own, so restarts would otherwise pile them up).
  // Returns how many were removed.
  absl::StatusOr<int> RemoveIdleConsumers(absl::Duration idle);

  const std::string& consumer() const { return consumer_; }

 private:
  store::RedisConnection& conn_;
  const store::KeySchema& keys_;
  const std::string consumer_;
};

// Queues one XACK of every entry in `entry_ids` on `p` (nothing when there are none).
void AddAck(const store::KeySchema& keys, absl::Span<const absl::string_view> entry_ids,
            store::Pipeline* p);

// Moves retries due at `now` (at most `limit`) from the retry set back to the stream, in one
// Lua script, so many workers can run it concurrently without moving a task twice.
// Returns how many moved.
absl::StatusOr<int> PromoteDueRetries(store::RedisConnection& conn, const store::KeySchema& keys,
                                      absl::Time now, int limit);

}  // namespace hookrelay::queue
