// The recorder and maintainer sides of the Worker: attempt records, acks, retries, reclaims.

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/store/delivery_store.h"
#include "libs/store/hook_store.h"
#include "libs/telemetry/log.h"
#include "services/worker/job.h"
#include "services/worker/worker.h"

namespace hookrelay::worker {
namespace {

using google::protobuf::util::TimeUtil;
using telemetry::LogLevel;

constexpr absl::Duration kGiveUpAfterStop = absl::Seconds(5);
constexpr int kPromoteBatch = 1000;
constexpr absl::Duration kDeferDelay = absl::Seconds(1);
constexpr absl::Duration kConsumerCleanupInterval = absl::Minutes(1);
constexpr absl::Duration kConsumerIdleLimit = absl::Hours(1);
constexpr absl::Duration kTrimInterval = absl::Seconds(5);
// Batches this small wait record_linger for company (see WorkerOptions).
constexpr size_t kLingerBelow = 16;

v1::Attempt MakeAttempt(const Job& job, const std::string& worker, absl::Time now) {
  v1::Attempt a;
  a.set_number(std::max(1, job.task.attempt()));
  const absl::Time start = job.started == absl::Time() ? now : job.started;
  *a.mutable_start_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(start));
  a.set_duration_us(absl::ToInt64Microseconds(job.response.duration));
  a.set_http_status(job.response.status);
  a.set_worker(worker);
  return a;
}

}  // namespace

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
    room_cv_.notify_all();
  }
}

// Writes the batch in one MULTI/EXEC round trip, retrying while Redis is unavailable. Once
// shutting down it gives up after kGiveUpAfterStop: the entries stay pending in the group
// and another worker reclaims them, so nothing is lost.
void Worker::RecordBatch(std::vector<std::unique_ptr<Job>>& batch,
                         std::unique_ptr<store::RedisConnection>& conn) {
  const absl::Time now = clock_.Now();
  store::Pipeline& p = record_writes_;
  p.Clear();
  p.Add({"MULTI"});
  std::vector<absl::string_view> acks;
  acks.reserve(batch.size());
  for (auto& job : batch) {
    AddJobWrites(*job, now, &p);
    acks.push_back(job->entry.id);
  }
  queue::AddAck(keys_, acks, &p);  // one XACK for the batch, in the same transaction
  p.Add({"EXEC"});
  absl::Time give_up = absl::InfiniteFuture();
  absl::Duration backoff = absl::Milliseconds(50);
  while (true) {
    auto exec = ExecuteRecord(p, conn);
    if (exec.ok()) {
      for (const auto& job : batch) CountRecorded(*job, now);
      DisableUnhealthyHooks(batch, *exec, now);
      return;
    }
    const absl::Status st = exec.status();
    telemetry::LogEvery(10, LogLevel::kError, "recording attempts failed",
                        {{"error", st.ToString()}, {"batch", static_cast<int>(batch.size())}});
    if (!absl::IsUnavailable(st)) {
      // Redis refused the transaction itself: retrying the same batch cannot help. The
      // entries stay pending and come back through reclaim (and fail after max_reclaims).
      return;
    }
    if (stopping_) {
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

absl::StatusOr<std::vector<store::RedisReply>> Worker::ExecuteRecord(
    const store::Pipeline& p, std::unique_ptr<store::RedisConnection>& conn) {
  if (conn == nullptr) {
    auto c = store::RedisConnection::Connect(store::RedisOptions{.url = options_.redis_url});
    if (!c.ok()) return c.status();
    conn = *std::move(c);
  }
  auto replies = conn->Execute(p);
  if (!replies.ok()) {
    conn.reset();
    return replies.status();
  }
  const store::RedisReply& exec = replies->back();
  if (exec.is_error()) return exec.ToStatus();
  if (exec.type != store::RedisReply::Type::kArray) {
    return absl::InternalError("redis: transaction aborted");
  }
  return std::move(replies->back().elements);
}

void Worker::AddJobWrites(Job& job, absl::Time now, store::Pipeline* p) {
  const v1::DeliveryTask& t = job.task;
  switch (job.kind) {
    case Job::Kind::kHttp:
      AddHttpOutcome(job, now, p);
      return;
    case Job::Kind::kPoison:
      telemetry::LogError("dropping a stream entry that holds no task", {{"entry", job.entry.id}});
      break;
    case Job::Kind::kDeferred:  // same task, same attempt number, a little later
      p->Add({"ZADD", keys_.RetrySet(), std::to_string(absl::ToUnixMillis(now + kDeferDelay)),
              job.entry.task});
      break;
    case Job::Kind::kCancelled:
      store::AddStatusUpdate(keys_, t.tenant(), t.delivery_id(), v1::DELIVERY_STATUS_CANCELLED, now,
                             p);
      break;
    case Job::Kind::kExpired:
      store::AddStatusUpdate(keys_, t.tenant(), t.delivery_id(), v1::DELIVERY_STATUS_FAILED, now,
                             p);
      break;
    case Job::Kind::kRenderFailed:
    case Job::Kind::kTooManyReclaims: {
      store::AttemptUpdate u{.tenant = t.tenant(),
                             .delivery_id = t.delivery_id(),
                             .attempt_id = job.entry.id,
                             .status = v1::DELIVERY_STATUS_FAILED,
                             .attempt = MakeAttempt(job, options_.consumer_name, now)};
      if (job.kind == Job::Kind::kRenderFailed) {
        u.attempt.set_error_class(v1::ERROR_CLASS_RENDER);
        u.attempt.set_error(job.error);
      } else {
        u.attempt.set_error(absl::StrCat("handed out ", job.entry.deliveries,
                                         " times without finishing; a worker may crash on it"));
      }
      store::AddAttemptUpdate(keys_, u, now, p);
      break;
    }
  }
}

void Worker::AddHttpOutcome(Job& job, absl::Time now, store::Pipeline* p) {
  const v1::DeliveryTask& t = job.task;
  if (job.response.failure == http::FailureKind::kAborted) {
    // Shutting down before an answer: hand the task back for another worker, now.
    p->Add({"XADD", keys_.Stream(), "*", store::KeySchema::kTaskField, job.entry.task});
    return;
  }
  const int attempt = std::max(1, t.attempt());
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    job.decision = Decide(job.response, attempt, job.hook->schedule, now, rng_);
  }
  if (t.test() && job.decision->retry_in.has_value()) {  // TestWebhook sends are never retried
    job.decision->retry_in.reset();
    job.decision->status = v1::DELIVERY_STATUS_FAILED;
  }
  const Decision& d = *job.decision;
  store::AttemptUpdate u{.tenant = t.tenant(),
                         .delivery_id = t.delivery_id(),
                         .attempt_id = job.entry.id,
                         .status = d.status,
                         .attempt = MakeAttempt(job, options_.consumer_name, now)};
  u.attempt.set_error_class(d.error_class);
  if (job.response.failure != http::FailureKind::kNone) {
    u.attempt.set_error(job.response.error);
  } else if (d.error_class != v1::ERROR_CLASS_UNSPECIFIED) {
    u.attempt.set_error(absl::StrCat("HTTP ", job.response.status));
  }
  u.attempt.set_response_body(job.response.body);
  if (d.retry_in.has_value()) {
    u.next_attempt = now + *d.retry_in;
    v1::DeliveryTask next = t;
    next.set_attempt(attempt + 1);
    next.set_manual(false);
    p->Add({"ZADD", keys_.RetrySet(), std::to_string(absl::ToUnixMillis(u.next_attempt)),
            next.SerializeAsString()});
  }
  store::AddAttemptUpdate(keys_, u, now, p);
  if (!t.test()) AddHealthWrites(job, now, p);
}

void Worker::CountRecorded(const Job& job, absl::Time now) {
  if (job.kind == Job::Kind::kDeferred) {
    metrics_.deferred.Increment();
    return;
  }
  if (job.kind == Job::Kind::kExpired || job.kind == Job::Kind::kRenderFailed ||
      job.kind == Job::Kind::kTooManyReclaims) {
    metrics_.dead.Increment();
    if (job.kind == Job::Kind::kRenderFailed) metrics_.CountFailure("render");
    return;
  }
  if (job.kind != Job::Kind::kHttp || !job.decision.has_value()) return;
  const Decision& d = *job.decision;
  const bool ok = d.status == v1::DELIVERY_STATUS_SUCCEEDED;
  metrics_.CountAttempt(ok, job.response.status);
  metrics_.attempt_duration.Observe(absl::ToDoubleSeconds(job.response.duration));
  if (ok) {
    metrics_.succeeded.Increment();
    const absl::Time published = absl::FromUnixMillis(job.task.published_at_ms());
    metrics_.delivery_latency.Observe(std::max(0.0, absl::ToDoubleSeconds(now - published)));
    return;
  }
  metrics_.CountFailure(FailureReason(d.error_class));
  if (d.retry_in.has_value()) {
    metrics_.retries_scheduled.Increment();
  } else {
    metrics_.dead.Increment();
  }
}

void Worker::MaintainLoop() {
  std::unique_ptr<store::RedisConnection> conn;
  absl::Time last_trim = absl::InfinitePast();
  absl::Time last_cleanup = absl::InfinitePast();
  while (WaitUnlessStopping(options_.maintenance_interval)) {
    if (conn == nullptr) {
      auto c = store::RedisConnection::Connect(store::RedisOptions{.url = options_.redis_url});
      if (!c.ok()) continue;
      conn = *std::move(c);
    }
    DeferStalled();
    Maintain(*conn, clock_.Now());
    if (clock_.Now() - last_cleanup > kConsumerCleanupInterval) {
      queue::TaskStream stream(*conn, keys_, options_.consumer_name);
      auto removed = stream.RemoveIdleConsumers(kConsumerIdleLimit);
      if (removed.ok() && *removed > 0) {
        telemetry::LogInfo("removed idle consumers of stopped workers", {{"count", *removed}});
      }
      last_cleanup = clock_.Now();
    }
    if (clock_.Now() - last_trim > kTrimInterval) {
      TrimStream(*conn);
      last_trim = clock_.Now();
    }
  }
}

void Worker::Maintain(store::RedisConnection& conn, absl::Time now) {
  auto moved = queue::PromoteDueRetries(conn, keys_, now, kPromoteBatch);
  while (moved.ok() && *moved == kPromoteBatch) {
    moved = queue::PromoteDueRetries(conn, keys_, now, kPromoteBatch);
  }
  if (!moved.ok()) {
    telemetry::LogEvery(10, LogLevel::kWarn, "promoting retries failed",
                        {{"error", moved.status().ToString()}});
    return;
  }
  queue::TaskStream stream(conn, keys_, options_.consumer_name);
  int room = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    room = std::min(options_.batch_size, options_.max_in_flight - in_flight_);
  }
  if (room <= 0) {
    RefreshGauges(conn);
    return;
  }
  auto claimed = stream.ClaimIdle(options_.visibility_timeout, room);
  if (claimed.ok() && !claimed->empty()) {
    metrics_.reclaimed.Increment(static_cast<double>(claimed->size()));
    telemetry::LogWarn("reclaimed entries of a stopped worker",
                       {{"count", static_cast<int>(claimed->size())}});
    Dispatch(*std::move(claimed), conn);
  }
  RefreshGauges(conn);
}

void Worker::RefreshGauges(store::RedisConnection& conn) {
  store::Pipeline p;
  p.Add({"XINFO", "GROUPS", keys_.Stream()});
  p.Add({"ZCARD", keys_.RetrySet()});
  auto replies = conn.Execute(p);
  if (!replies.ok()) return;
  const store::RedisReply& groups = (*replies)[0];
  for (const store::RedisReply& g : groups.elements) {
    const auto& f = g.elements;
    bool ours = false;
    for (size_t i = 0; i + 1 < f.size(); i += 2) {
      if (f[i].str == "name") ours = f[i + 1].str == store::KeySchema::kGroup;
    }
    if (!ours) continue;
    for (size_t i = 0; i + 1 < f.size(); i += 2) {
      if (f[i].str == "pending") metrics_.stream_pending.Set(static_cast<double>(f[i + 1].integer));
      if (f[i].str == "lag") metrics_.stream_lag.Set(static_cast<double>(f[i + 1].integer));
    }
  }
  metrics_.retry_set_size.Set(static_cast<double>((*replies)[1].integer));
}

// Deletes acknowledged entries: everything below the oldest pending entry, or below the
// last entry handed out when none is pending. The last-delivered id is read before XPENDING:
// read after it, entries handed out in between (pending, not yet acknowledged) would fall
// below it and be trimmed, and a worker crashing on them would lose them.
void Worker::TrimStream(store::RedisConnection& conn) {
  auto groups = conn.Command({"XINFO", "GROUPS", keys_.Stream()});
  if (!groups.ok()) return;
  std::string last_delivered;
  for (const auto& g : groups->elements) {
    std::string name, last;
    for (size_t i = 0; i + 1 < g.elements.size(); i += 2) {
      if (g.elements[i].str == "name") name = g.elements[i + 1].str;
      if (g.elements[i].str == "last-delivered-id") last = g.elements[i + 1].str;
    }
    if (name == store::KeySchema::kGroup) last_delivered = last;
  }
  auto pending = conn.Command({"XPENDING", keys_.Stream(), store::KeySchema::kGroup});
  if (!pending.ok() || pending->elements.size() < 2) return;
  // Every entry below the oldest pending one was handed out and acknowledged.
  const std::string min_id =
      pending->elements[0].integer == 0 ? last_delivered : pending->elements[1].str;
  if (min_id.empty() || min_id == "0-0") return;
  (void)conn.Command({"XTRIM", keys_.Stream(), "MINID", min_id});
}

}  // namespace hookrelay::worker
