// The Worker's endpoint health: hooks whose receivers asked us to stop (410 Gone) or keep
// failing are disabled with a reason, and their tenant gets a webhook.disabled event.

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/core/json_text.h"
#include "libs/telemetry/log.h"
#include "services/worker/job.h"
#include "services/worker/worker.h"

namespace hookrelay::worker {
namespace {

using google::protobuf::util::TimeUtil;

constexpr absl::Duration kHealthResetInterval = absl::Seconds(1);

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

// Per finished delivery, in the recorder's transaction: a success resets the hook's
// consecutive failures; a failed (dead) delivery counts one more and remembers since when
// the hook has been failing. DisableUnhealthyHooks() reads the counts from the EXEC reply.
void Worker::AddHealthWrites(Job& job, absl::Time now, store::Pipeline* p) {
  const v1::DeliveryTask& t = job.task;
  const std::string key = keys_.HookHealth(t.tenant(), t.webhook_id());
  const std::string now_ms = std::to_string(absl::ToUnixMillis(now));
  const v1::DeliveryStatus status = job.decision->status;
  if (status == v1::DELIVERY_STATUS_SUCCEEDED) {
    // On the hot path: reset a hook's failure count at most once per second per worker.
    absl::Time& last = health_reset_[key];
    if (now - last < kHealthResetInterval) return;
    last = now;
    p->Add({"HSET", key, "fails", "0", "ok", now_ms});
    p->Add({"HDEL", key, "since"});
  } else if (status == v1::DELIVERY_STATUS_FAILED) {
    health_reset_.erase(key);                            // the next success resets at once
    job.health_reply = static_cast<int>(p->size()) - 1;  // minus the MULTI
    p->Add({"HINCRBY", key, "fails", "1"});
    p->Add({"HSETNX", key, "since", now_ms});
    p->Add({"HGET", key, "since"});
  } else {
    return;
  }
  p->Add({"EXPIRE", key, std::to_string(absl::ToInt64Seconds(options_.retention))});
}

void Worker::DisableUnhealthyHooks(const std::vector<std::unique_ptr<Job>>& batch,
                                   const std::vector<store::RedisReply>& exec, absl::Time now) {
  for (const auto& job : batch) {
    if (!job->decision.has_value()) continue;
    if (job->decision->disable_hook) {
      DisableHook(job->task, absl::StrCat("the receiver answered 410 Gone to delivery ",
                                          job->task.delivery_id()));
      continue;
    }
    const int i = job->health_reply;
    if (i < 0 || i + 2 >= static_cast<int>(exec.size())) continue;
    const long long fails = exec[i].integer;
    long long since_ms = 0;
    (void)absl::SimpleAtoi(exec[i + 2].str, &since_ms);
    const absl::Time since = absl::FromUnixMillis(since_ms);
    if (options_.disable_after_failures > 0 && fails >= options_.disable_after_failures) {
      DisableHook(job->task, absl::StrCat(fails, " consecutive deliveries failed (last: ",
                                          job->task.delivery_id(), ")"));
    } else if (options_.disable_after > absl::ZeroDuration() && since_ms > 0 &&
               now - since >= options_.disable_after) {
      DisableHook(job->task,
                  absl::StrCat("deliveries failing without a success since ", Rfc3339(since)));
    }
  }
}

// Disables the hook (unless deleted or disabled already), updates the cache, and publishes
// webhook.disabled to the tenant's other hooks that subscribe to it.
void Worker::DisableHook(const v1::DeliveryTask& t, const std::string& reason) {
  auto hook = hook_store_.Get(t.tenant(), t.webhook_id());
  if (!hook.ok() || !hook->enabled()) return;
  const absl::Time now = clock_.Now();
  hook->set_enabled(false);
  hook->set_disabled_reason(reason);
  *hook->mutable_update_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now));
  if (absl::Status st = hook_store_.Replace(*hook); !st.ok()) {
    telemetry::LogError("disabling a hook failed",
                        {{"webhook_id", t.webhook_id()}, {"error", st.ToString()}});
    return;
  }
  hooks_.Put(keys_.Hook(t.tenant(), t.webhook_id()),
             MakeCachedHook(hook->SerializeAsString(), now));
  metrics_.hooks_disabled.Increment();
  telemetry::LogWarn("hook disabled",
                     {{"tenant", t.tenant()}, {"webhook_id", t.webhook_id()}, {"reason", reason}});
  v1::PublishEventRequest event;
  event.set_tenant(t.tenant());
  event.set_type("webhook.disabled");
  std::string payload = "{\"webhook_id\":";
  core::AppendJsonString(&payload, hook->id());
  payload.append(",\"url\":");
  core::AppendJsonString(&payload, hook->url());
  payload.append(",\"reason\":");
  core::AppendJsonString(&payload, reason);
  absl::StrAppend(&payload, ",\"disabled_at\":\"", Rfc3339(now), "\"}");
  event.set_payload(std::move(payload));
  (*event.mutable_attributes())["webhook_id"] = hook->id();
  if (auto published = publisher_.Publish(event); !published.ok()) {
    telemetry::LogError("publishing webhook.disabled failed",
                        {{"webhook_id", t.webhook_id()}, {"error", published.status().ToString()}});
  }
}

}  // namespace hookrelay::worker
