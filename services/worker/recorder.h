#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"
#include "services/worker/endpoint_health.h"
#include "services/worker/job.h"
#include "services/worker/worker_metrics.h"

namespace hookrelay::worker {

// The worker's last stage: writes what became of finished jobs. Per batch, one MULTI/EXEC per
// shard holding, for each of the shard's jobs, the delivery record's status and attempt, a
// retry in the shard's retry set (or the task put off, or handed back to the stream) and the
// endpoint's health, then one XACK of the shard's entries, so an ack never lands without its
// record; all shards' transactions go in one pipelined round trip. Then counts the outcomes
// and disables unhealthy hooks. Recorder thread only.
class Recorder {
 public:
  Recorder(const store::KeySchema& keys, std::string worker_name, core::Clock& clock,
           absl::BitGenRef rng, EndpointHealth& health, WorkerMetrics& metrics)
      : keys_(keys),
        worker_name_(std::move(worker_name)),
        clock_(clock),
        rng_(rng),
        health_(health),
        metrics_(metrics) {}

  // UNAVAILABLE when Redis could not be reached: what was written is unknown, and writing the
  // same batch again is safe (records, retries and acks are idempotent). Another error when
  // Redis refused a shard's transaction: retrying cannot help; those entries stay pending and
  // come back through reclaim (and fail after max_reclaims).
  absl::Status Record(std::vector<std::unique_ptr<Job>>& batch, store::RedisConnection& conn);

 private:
  // The writes of one finished job but its ack: its outcome's, then, when it ends an ordered
  // delivery, the release of its ordering key (the next delivery of the key to the stream).
  void AddJobWrites(Job& job, absl::Time now, size_t first, store::Pipeline* p);
  void AddOutcomeWrites(Job& job, absl::Time now, size_t first, store::Pipeline* p);
  // Whether the job's delivery ended (so an ordered one releases its key).
  static bool EndsDelivery(const Job& job);
  void AddHttpOutcome(Job& job, absl::Time now, size_t first, store::Pipeline* p);
  void CountRecorded(const Job& job, absl::Time now);

  const store::KeySchema& keys_;
  const std::string worker_name_;
  core::Clock& clock_;
  absl::BitGenRef rng_;
  EndpointHealth& health_;
  WorkerMetrics& metrics_;
  store::Pipeline writes_;  // reused: a large batch need not fault in a fresh buffer each time
};

}  // namespace hookrelay::worker
