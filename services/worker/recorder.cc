#include "services/worker/recorder.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/queue/ordered.h"
#include "libs/queue/task_queue.h"
#include "libs/store/delivery_store.h"
#include "libs/telemetry/log.h"

namespace hookrelay::worker {
namespace {

using google::protobuf::util::TimeUtil;

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

// A shard's part of a batch: its jobs and where its transaction sits in the pipeline.
struct ShardWrites {
  std::vector<Job*> jobs;
  size_t exec = 0;  // index of its EXEC
};

}  // namespace

absl::Status Recorder::Record(std::vector<std::unique_ptr<Job>>& batch,
                              store::RedisConnection& conn) {
  const absl::Time now = clock_.Now();
  std::map<int, ShardWrites> shards;  // ordered: the same batch makes the same pipeline
  for (auto& job : batch) shards[job->entry.shard].jobs.push_back(job.get());
  store::Pipeline& p = writes_;
  p.Clear();
  std::vector<absl::string_view> acks;
  for (auto& [shard, w] : shards) {
    p.BeginTransaction();
    const size_t first = p.size();
    acks.clear();
    for (Job* job : w.jobs) {
      job->health.reset();
      AddJobWrites(*job, now, first, &p);
      acks.push_back(job->entry.id);
    }
    queue::AddAck(keys_, shard, acks, &p);
    w.exec = p.EndTransaction();
  }
  auto replies = conn.Execute(p);
  if (!replies.ok()) return replies.status();
  absl::Status refused;
  for (auto& [shard, w] : shards) {
    const store::RedisReply& exec = (*replies)[w.exec];
    if (exec.type != store::RedisReply::Type::kArray) {
      refused =
          exec.is_error() ? exec.ToStatus() : absl::InternalError("redis: transaction aborted");
      continue;
    }
    for (const Job* job : w.jobs) CountRecorded(*job, now);
    health_.DisableUnhealthy(w.jobs, exec.elements);
  }
  return refused;
}

void Recorder::AddJobWrites(Job& job, absl::Time now, size_t first, store::Pipeline* p) {
  AddOutcomeWrites(job, now, first, p);
  if (!job.task.ordering_key().empty() && EndsDelivery(job)) {
    const v1::DeliveryTask& t = job.task;
    queue::AddOrderedRelease(keys_, {t.tenant(), t.webhook_id(), t.ordering_key(), t.delivery_id()},
                             p);
  }
}

bool Recorder::EndsDelivery(const Job& job) {
  // A FAILED delivery releases its key unless the hook holds keys until recovered; a
  // cancelled one (hook deleted or disabled) or one whose event expired always does: no
  // redelivery could recover it.
  const bool holds =
      job.hook != nullptr && job.hook->hook.ordering() == v1::ORDERING_PER_KEY_HOLD_ON_FAILURE;
  switch (job.kind) {
    case Job::Kind::kHttp:
      if (!job.decision.has_value()) return false;  // handed back
      if (job.decision->status == v1::DELIVERY_STATUS_SUCCEEDED) return true;
      return job.decision->status == v1::DELIVERY_STATUS_FAILED && !holds;
    case Job::Kind::kRenderFailed:
    case Job::Kind::kTooManyReclaims:
      return !holds;
    case Job::Kind::kCancelled:
    case Job::Kind::kExpired:
      return true;
    default:
      return false;
  }
}

void Recorder::AddOutcomeWrites(Job& job, absl::Time now, size_t first, store::Pipeline* p) {
  const v1::DeliveryTask& t = job.task;
  const int shard = job.entry.shard;
  switch (job.kind) {
    case Job::Kind::kHttp:
      AddHttpOutcome(job, now, first, p);
      return;
    case Job::Kind::kPoison:
      telemetry::LogError("dropping a stream entry that holds no task", {{"entry", job.entry.id}});
      return;
    case Job::Kind::kDeferred:  // same task, same attempt number, a little later
      queue::AddRetry(keys_, shard, now + job.defer_for, job.entry.task, p);
      return;
    case Job::Kind::kHandBack:  // for another worker, now
      queue::AddTask(keys_, shard, job.entry.task, p);
      return;
    case Job::Kind::kCancelled:
      store::AddStatusUpdate(keys_, t.tenant(), t.delivery_id(), v1::DELIVERY_STATUS_CANCELLED, now,
                             p);
      return;
    case Job::Kind::kExpired:
      store::AddStatusUpdate(keys_, t.tenant(), t.delivery_id(), v1::DELIVERY_STATUS_FAILED, now,
                             p);
      return;
    case Job::Kind::kRenderFailed:
    case Job::Kind::kTooManyReclaims: {
      store::AttemptUpdate u{.tenant = t.tenant(),
                             .delivery_id = t.delivery_id(),
                             .attempt_id = job.entry.id,
                             .status = v1::DELIVERY_STATUS_FAILED,
                             .attempt = MakeAttempt(job, worker_name_, now)};
      if (job.kind == Job::Kind::kRenderFailed) {
        u.attempt.set_error_class(v1::ERROR_CLASS_RENDER);
        u.attempt.set_error(job.error);
      } else {
        u.attempt.set_error(absl::StrCat("handed out ", job.entry.deliveries,
                                         " times without finishing; a worker may crash on it"));
      }
      store::AddAttemptUpdate(keys_, u, now, p);
      return;
    }
  }
}

void Recorder::AddHttpOutcome(Job& job, absl::Time now, size_t first, store::Pipeline* p) {
  const v1::DeliveryTask& t = job.task;
  if (job.response.failure == http::FailureKind::kAborted) {
    // Shutting down before an answer: hand the task back for another worker, now.
    queue::AddTask(keys_, job.entry.shard, job.entry.task, p);
    return;
  }
  const int attempt = std::max(1, t.attempt());
  job.decision = Decide(job.response, attempt, job.hook->schedule, now, rng_);
  if (t.test() && job.decision->retry_in.has_value()) {  // TestWebhook sends are never retried
    job.decision->retry_in.reset();
    job.decision->status = v1::DELIVERY_STATUS_FAILED;
  }
  const Decision& d = *job.decision;
  store::AttemptUpdate u{.tenant = t.tenant(),
                         .delivery_id = t.delivery_id(),
                         .attempt_id = job.entry.id,
                         .status = d.status,
                         .attempt = MakeAttempt(job, worker_name_, now)};
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
    queue::AddRetry(keys_, job.entry.shard, u.next_attempt, next.SerializeAsString(), p);
  }
  store::AddAttemptUpdate(keys_, u, now, p);
  if (!t.test()) health_.AddWrites(job, now, first, p);
}

void Recorder::CountRecorded(const Job& job, absl::Time now) {
  if (job.rate_waited > absl::ZeroDuration()) {
    metrics_.rate_limited.Increment();
    metrics_.rate_limit_wait.Increment(absl::ToDoubleSeconds(job.rate_waited));
  }
  switch (job.kind) {
    case Job::Kind::kDeferred:
      if (!job.rate_deferred) metrics_.deferred.Increment();
      return;
    case Job::Kind::kExpired:
    case Job::Kind::kTooManyReclaims:
      metrics_.dead.Increment();
      return;
    case Job::Kind::kRenderFailed:
      metrics_.dead.Increment();
      metrics_.CountFailure("render");
      return;
    case Job::Kind::kHttp:
      break;
    default:
      return;
  }
  if (!job.decision.has_value()) return;
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

}  // namespace hookrelay::worker
