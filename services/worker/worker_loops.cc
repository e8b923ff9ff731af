// The Worker's threads: reader, recorder, maintainer and subscriber loops.

#include <algorithm>

#include "libs/queue/rate_limiter.h"
#include "libs/store/subscriber.h"
#include "libs/telemetry/log.h"
#include "services/worker/worker.h"

namespace hookrelay::worker {
namespace {

using telemetry::LogLevel;

constexpr absl::Duration kGiveUpAfterStop = absl::Seconds(5);
// Batches this small wait record_linger for company (see WorkerOptions).
constexpr size_t kLingerBelow = 16;

}  // namespace

void Worker::ReadLoop() {
  std::unique_ptr<store::RedisConnection> fetch_conn;
  absl::Duration backoff = absl::Milliseconds(100);
  std::vector<std::unique_ptr<Job>> spent;
  // Busy shards are read only once there is room for a useful batch (a quarter of the window),
  // not for each freed slot: under load, fewer and larger reads.
  const int want = std::max(1, std::min(options_.batch_size, options_.max_in_flight / 4));
  while (!stopping_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      spent.swap(spent_);
    }
    spent.clear();  // here, not under the lock
    const int room = Room();
    auto entries = reader_.Read(room >= want ? room : 0, options_.read_block);
    if (!entries.ok()) {
      telemetry::LogEvery(10, LogLevel::kError, "stream read failed",
                          {{"error", entries.status().ToString()}});
      WaitUnlessStopping(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(2));
      continue;
    }
    backoff = absl::Milliseconds(100);
    if (!entries->empty()) Dispatch(*std::move(entries), fetch_conn);
  }
  // Reads still out may have taken entries for this consumer: hand them back at once rather
  // than leave them to be reclaimed after the visibility timeout.
  std::vector<queue::StreamEntry> drained = reader_.Drain();
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_ += static_cast<int>(drained.size());
  }
  HandBack(dispatcher_.Prepare(std::move(drained)));
}

void Worker::Dispatch(std::vector<queue::StreamEntry> entries,
                      std::unique_ptr<store::RedisConnection>& conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_ += static_cast<int>(entries.size());
    metrics_.inflight.Set(in_flight_);
  }
  std::vector<std::unique_ptr<Job>> jobs = dispatcher_.Prepare(std::move(entries));
  while (true) {
    if (conn == nullptr) conn = Connect("fetching hooks and events");
    absl::Status fetched = conn == nullptr ? absl::UnavailableError("redis unavailable")
                                           : dispatcher_.Fetch(jobs, *conn);
    if (fetched.ok()) break;
    if (conn != nullptr) {
      telemetry::LogEvery(10, LogLevel::kError, "fetching hooks and events failed",
                          {{"error", fetched.ToString()}});
    }
    conn.reset();
    if (!WaitUnlessStopping(absl::Milliseconds(200))) {
      // Left pending in the group: the next worker process reclaims them.
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_ -= static_cast<int>(jobs.size());
      return;
    }
  }
  dispatcher_.Launch(std::move(jobs));
}

void Worker::RecordLoop() {
  std::unique_ptr<store::RedisConnection> conn;
  while (true) {
    std::vector<std::unique_ptr<Job>> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, [this] { return !done_.empty() || recorder_stop_; });
      if (done_.empty()) return;  // stopping and nothing left
      if (done_.size() < kLingerBelow && !recorder_stop_ &&
          options_.record_linger > absl::ZeroDuration() &&
          in_flight_ < options_.max_in_flight / 2) {
        // A sleep, not a wait on done_cv_: the sender's notifies then find no waiter to wake.
        lock.unlock();
        absl::SleepFor(options_.record_linger);
        lock.lock();
      }
      batch.swap(done_);
    }
    RecordBatch(batch, conn);
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_ -= static_cast<int>(batch.size());
      metrics_.inflight.Set(in_flight_);
      // Freed by the reader, which allocated most of them (see spent_).
      for (auto& job : batch) spent_.push_back(std::move(job));
    }
    reader_.Wake();  // there may be room for a read now
  }
}

void Worker::RecordBatch(std::vector<std::unique_ptr<Job>>& batch,
                         std::unique_ptr<store::RedisConnection>& conn) {
  absl::Time give_up = absl::InfiniteFuture();
  absl::Duration backoff = absl::Milliseconds(50);
  while (true) {
    if (conn == nullptr) conn = Connect("recording attempts");
    absl::Status st = conn == nullptr ? absl::UnavailableError("redis unavailable")
                                      : recorder_.Record(batch, *conn);
    if (st.ok()) return;
    telemetry::LogEvery(10, LogLevel::kError, "recording attempts failed",
                        {{"error", st.ToString()}, {"batch", static_cast<int>(batch.size())}});
    if (!absl::IsUnavailable(st)) return;  // refused: the entries stay pending for reclaim
    conn.reset();
    if (stopping_) {
      // Real time: this bounds how long shutdown waits for Redis.
      if (give_up == absl::InfiniteFuture()) give_up = absl::Now() + kGiveUpAfterStop;
      if (absl::Now() > give_up) {
        telemetry::LogError("gave up recording at shutdown; entries stay pending for reclaim",
                            {{"batch", static_cast<int>(batch.size())}});
        return;
      }
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

void Worker::MaintainLoop() {
  std::unique_ptr<store::RedisConnection> conn;
  Maintainer maintainer(options_.maintain, keys_, options_.consumer_name, clock_, metrics_);
  while (WaitUnlessStopping(options_.maintain.interval)) {
    dispatcher_.DeferStalled();
    if (conn == nullptr) conn = Connect("maintenance");
    if (conn == nullptr) continue;
    auto claimed = maintainer.Pass(*conn, std::min(options_.batch_size, Room()));
    if (!claimed.ok()) {
      telemetry::LogEvery(10, LogLevel::kWarn, "maintenance failed",
                          {{"error", claimed.status().ToString()}});
      conn.reset();
      continue;
    }
    if (!claimed->empty()) Dispatch(*std::move(claimed), conn);
  }
}

void Worker::GateLoop() {
  std::unique_ptr<store::RedisConnection> conn;
  queue::RateLimiter limiter(keys_);
  RateGate& gate = dispatcher_.gate();
  while (!stopping_) {
    std::vector<queue::RateRequest> asks = gate.Requests(clock_.Now());
    std::vector<Dispatcher::PauseNotice> pauses = dispatcher_.TakePauses();
    if ((!asks.empty() || !pauses.empty()) && conn == nullptr) conn = Connect("rate limits");
    if (!asks.empty()) {
      auto grants = conn == nullptr ? absl::UnavailableError("redis unavailable")
                                    : limiter.Reserve(*conn, asks);
      if (grants.ok()) {
        gate.Grant(asks, *grants, clock_.Now());
      } else {
        telemetry::LogEvery(10, LogLevel::kError, "reserving rate limit tokens failed",
                            {{"error", grants.status().ToString()}});
        gate.Failed(asks, clock_.Now());
        conn.reset();
      }
    }
    for (const Dispatcher::PauseNotice& n : pauses) {
      if (conn == nullptr) break;  // the others learn at their own next 429
      absl::Status st = limiter.Pause(*conn, n.tenant, n.hook_id, n.spec, n.until, clock_.Now());
      if (!st.ok()) {
        telemetry::LogEvery(10, LogLevel::kWarn, "publishing a receiver's pause failed",
                            {{"error", st.ToString()}});
        conn.reset();
      }
    }
    dispatcher_.ReleaseDue();
    // Real time: the clock a test injects need not move by itself.
    const absl::Time now = clock_.Now();
    gate.Wait(std::clamp(gate.NextWake(now) - now, absl::ZeroDuration(), absl::Milliseconds(100)));
  }
}

void Worker::PauseLoop() {
  store::Subscriber sub(options_.redis, keys_.HookPausesChannel());
  RateGate& gate = dispatcher_.gate();
  while (!stopping_) {
    absl::Status st = sub.Poll(
        absl::Milliseconds(200),
        [&](const std::string& message) {
          if (auto pause = queue::RateLimiter::ParsePauseMessage(message)) {
            gate.Pause(pause->first, pause->second);
          }
        },
        [] {});
    if (!st.ok()) WaitUnlessStopping(absl::Milliseconds(500));
  }
}

// Listens for hook changes (the registry publishes the tenant on every change) and drops
// that tenant's cached hooks; after a reconnect, when messages may have been missed, drops
// them all. Tasks carry the version they were planned at, so a missed message delays nothing
// but the cache's refresh of hooks no task needs newer.
void Worker::SubscribeLoop() {
  store::Subscriber sub(options_.redis, keys_.HooksChangedChannel());
  HookCache& hooks = dispatcher_.hooks();
  while (!stopping_) {
    absl::Status st = sub.Poll(
        absl::Milliseconds(200), [&](const std::string& tenant) { hooks.InvalidateTenant(tenant); },
        [&] { hooks.InvalidateAll(); });
    if (!st.ok()) WaitUnlessStopping(absl::Milliseconds(500));
  }
}

}  // namespace hookrelay::worker
