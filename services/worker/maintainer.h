#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/queue/task_queue.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"
#include "services/worker/worker_metrics.h"

namespace hookrelay::worker {

struct MaintainerOptions {
  // How often a pass runs.
  absl::Duration interval = absl::Milliseconds(200);
  // A stream entry pending this long in a consumer that stopped is reclaimed by another.
  absl::Duration visibility_timeout = absl::Seconds(60);
  // How often the backlog gauges are read (every shard, one round trip).
  absl::Duration gauge_interval = absl::Seconds(1);
  absl::Status Validate() const;
};

// The worker's housekeeping, one Pass() at a time (maintainer thread only):
//   * every pass: moves due retries of every shard back to their streams (one round trip);
//   * one shard per pass, in turn, if no other worker took it within the last few passes (a
//     lease in Redis, so a fleet visits each shard about once per pass interval whatever its
//     size): claims entries left pending by dead consumers (returned, for the caller to
//     dispatch), trims acknowledged entries, removes consumers of stopped workers;
//   * every gauge_interval: the backlog gauges, summed over shards.
class Maintainer {
 public:
  Maintainer(MaintainerOptions options, const store::KeySchema& keys, std::string consumer,
             core::Clock& clock, WorkerMetrics& metrics);

  // Claims at most `room` entries. UNAVAILABLE when Redis failed (the pass stopped there).
  absl::StatusOr<std::vector<queue::StreamEntry>> Pass(store::RedisConnection& conn, int room);

 private:
  absl::StatusOr<std::vector<queue::StreamEntry>> Tend(queue::TaskQueue& queue, int shard, int room,
                                                       absl::Time now);
  absl::Status RefreshGauges(queue::TaskQueue& queue);

  const MaintainerOptions options_;
  const store::KeySchema& keys_;
  const std::string consumer_;
  core::Clock& clock_;
  WorkerMetrics& metrics_;
  int next_shard_;
  absl::Time last_gauges_ = absl::InfinitePast();
  absl::Time last_cleanup_ = absl::InfinitePast();
};

}  // namespace hookrelay::worker
