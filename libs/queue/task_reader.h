#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/queue/task_queue.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"

namespace hookrelay::queue {

struct TaskReaderOptions {
  store::RedisOptions redis;
  // This process's consumer name in the workers' group.
  std::string consumer;
  // Entries one read of a busy shard brings at most.
  int batch_size = 128;
  // Entries a read waiting on a quiet shard may bring; such reads stay out whatever the room,
  // so the worker may hold up to shards × quiet_batch entries beyond it.
  int quiet_batch = 4;
  // How long a read waits in Redis for a quiet shard's first entry.
  absl::Duration block = absl::Milliseconds(500);
  absl::Status Validate() const;
};

// Reads tasks from every shard's stream for one consumer of the workers' group, fairly.
// Each shard has a connection of its own and at most one XREADGROUP out on it at a time, so a
// read can wait in Redis on a quiet shard (a cluster cannot block on streams of several hash
// slots in one command) while busy shards are read in full batches:
//   * a shard whose last read came back full is busy: its next read asks for a fair share of
//     the room (room / busy shards without a read out, at most batch_size);
//   * any other shard is quiet: a read of quiet_batch entries waits on it, whatever the room;
//     its first entry comes back at once, so a shard with a 1M backlog never delays a quiet one.
// Not thread-safe, except Wake().
class TaskReader {
 public:
  TaskReader(const store::KeySchema& keys, TaskReaderOptions options);
  ~TaskReader();

  // Sends reads to the shards that have none out, within `room` entries (besides the quiet
  // shards' reads), then waits up to `wait` for any read to answer or for Wake(), and returns
  // the entries of every read that answered. UNAVAILABLE when Redis failed and nothing was
  // read (the failed shards' connections are made again by the next call).
  absl::StatusOr<std::vector<StreamEntry>> Read(int room, absl::Duration wait);
  // Makes the current or next Read() return without waiting. Thread-safe.
  void Wake();
  // Entries the reads out to busy shards may still bring (quiet shards' reads are not
  // counted: they stay out whatever the room).
  int outstanding() const { return outstanding_; }
  // Waits for the reads still out (up to the block time) and returns what they brought, for
  // the caller to hand back at shutdown.
  std::vector<StreamEntry> Drain();

 private:
  struct Shard {
    std::unique_ptr<store::RedisConnection> conn;
    int asked = 0;  // entries the read out asked for; 0: none out
    bool busy = false;
    bool counted = false;  // the read out counts in outstanding_ (it went to a busy shard)
  };
  // `counted`: the read counts against the room (a busy shard's).
  absl::Status Issue(int shard, int count, bool counted);
  // Collects the reply of shard `s`'s read into `out`.
  absl::Status Collect(int s, std::vector<StreamEntry>* out);

  const store::KeySchema& keys_;
  const TaskReaderOptions options_;
  std::vector<Shard> shards_;
  int next_ = 0;  // the shard the next round starts at
  int outstanding_ = 0;
  store::WakeSignal wake_;
};

}  // namespace hookrelay::queue
