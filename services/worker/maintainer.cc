#include "services/worker/maintainer.h"

#include "libs/store/hash_slot.h"
#include "libs/telemetry/log.h"

namespace hookrelay::worker {
namespace {

constexpr int kPromoteBatch = 1000;
constexpr int kMaxPromoteRounds = 10;
// A shard's lease lasts this many passes: the worker that tended it is not the one to tend it
// again at once, unless it is alone.
constexpr int kLeasePasses = 3;
constexpr absl::Duration kConsumerCleanupInterval = absl::Minutes(1);
constexpr absl::Duration kConsumerIdleLimit = absl::Hours(1);

}  // namespace

absl::Status MaintainerOptions::Validate() const {
  if (interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("maintenance_interval: must be positive");
  }
  if (visibility_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("visibility_timeout: at least 1s");
  }
  return absl::OkStatus();
}

Maintainer::Maintainer(MaintainerOptions options, const store::KeySchema& keys,
                       std::string consumer, core::Clock& clock, WorkerMetrics& metrics)
    : options_(options),
      keys_(keys),
      consumer_(std::move(consumer)),
      clock_(clock),
      metrics_(metrics),
      // Workers start their turns at different shards.
      next_shard_(static_cast<int>(store::StableHash(consumer_) % keys.shards())) {}

absl::StatusOr<std::vector<queue::StreamEntry>> Maintainer::Pass(store::RedisConnection& conn,
                                                                 int room) {
  queue::TaskQueue queue(conn, keys_);
  const absl::Time now = clock_.Now();
  for (int round = 0; round < kMaxPromoteRounds; ++round) {
    auto moved = queue.PromoteDue(now, kPromoteBatch);
    if (!moved.ok()) return moved.status();
    if (*moved < kPromoteBatch) break;  // a shard may have more only if a whole batch moved
  }
  const int shard = next_shard_;
  next_shard_ = (next_shard_ + 1) % keys_.shards();
  auto leased = queue.TryLease(shard, consumer_, options_.interval * kLeasePasses);
  if (!leased.ok()) return leased.status();
  std::vector<queue::StreamEntry> claimed;
  if (*leased) {
    auto tended = Tend(queue, shard, room, now);
    if (!tended.ok()) return tended.status();
    claimed = *std::move(tended);
  }
  if (now - last_gauges_ >= options_.gauge_interval) {
    if (absl::Status st = RefreshGauges(queue); !st.ok()) return st;
    last_gauges_ = now;
  }
  return claimed;
}

absl::StatusOr<std::vector<queue::StreamEntry>> Maintainer::Tend(queue::TaskQueue& queue, int shard,
                                                                 int room, absl::Time now) {
  std::vector<queue::StreamEntry> claimed;
  if (room > 0) {
    auto c = queue.ClaimIdle(shard, consumer_, options_.visibility_timeout, room);
    if (!c.ok()) return c.status();
    claimed = *std::move(c);
    if (!claimed.empty()) {
      metrics_.reclaimed.Increment(static_cast<double>(claimed.size()));
      telemetry::LogWarn("reclaimed entries of a stopped worker",
                         {{"count", static_cast<int>(claimed.size())}, {"shard", shard}});
    }
  }
  if (absl::Status st = queue.Trim(shard); !st.ok()) return st;
  if (now - last_cleanup_ >= kConsumerCleanupInterval) {
    // Every shard's consumers, once a minute (not the leased shard's only: a lone worker
    // would otherwise take S minutes).
    for (int s = 0; s < keys_.shards(); ++s) {
      auto removed = queue.RemoveIdleConsumers(s, consumer_, kConsumerIdleLimit);
      if (!removed.ok()) return removed.status();
      if (*removed > 0) {
        telemetry::LogInfo("removed idle consumers of stopped workers",
                           {{"count", *removed}, {"shard", s}});
      }
    }
    last_cleanup_ = now;
  }
  return claimed;
}

absl::Status Maintainer::RefreshGauges(queue::TaskQueue& queue) {
  auto stats = queue.Stats();
  if (!stats.ok()) return stats.status();
  queue::ShardStats sum;
  for (const queue::ShardStats& s : *stats) {
    sum.lag += s.lag;
    sum.pending += s.pending;
    sum.retries += s.retries;
  }
  metrics_.stream_lag.Set(static_cast<double>(sum.lag));
  metrics_.stream_pending.Set(static_cast<double>(sum.pending));
  metrics_.retry_set_size.Set(static_cast<double>(sum.retries));
  return absl::OkStatus();
}

}  // namespace hookrelay::worker
