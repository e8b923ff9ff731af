#include "services/worker/endpoint_health.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/core/json_text.h"
#include "libs/store/hook_health.h"
#include "libs/telemetry/log.h"

namespace hookrelay::worker {
namespace {

using google::protobuf::util::TimeUtil;

constexpr absl::Duration kResetInterval = absl::Seconds(1);

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

absl::Status EndpointHealthOptions::Validate() const {
  if (disable_after_failures < 0) {
    return absl::InvalidArgumentError("disable_after_failures: must be >= 0");
  }
  if (disable_after < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("disable_after: must not be negative");
  }
  if (retention < absl::Hours(1)) return absl::InvalidArgumentError("retention: at least 1h");
  return absl::OkStatus();
}

void EndpointHealth::AddWrites(Job& job, absl::Time now, size_t first, store::Pipeline* p) {
  const v1::DeliveryTask& t = job.task;
  const v1::DeliveryStatus status = job.decision->status;
  if (status == v1::DELIVERY_STATUS_SUCCEEDED) {
    absl::Time& last = reset_[job.HookKey()];
    if (now - last < kResetInterval) return;
    last = now;
    store::AddHealthSuccess(keys_, t.tenant(), t.webhook_id(), now, options_.retention, p);
  } else if (status == v1::DELIVERY_STATUS_FAILED) {
    reset_.erase(job.HookKey());  // the next success resets at once
    job.health.emplace().Add(keys_, t.tenant(), t.webhook_id(), now, options_.retention, first, p);
  }
}

void EndpointHealth::DisableUnhealthy(const std::vector<Job*>& jobs,
                                      const std::vector<store::RedisReply>& exec) {
  const absl::Time now = clock_.Now();
  for (const Job* job : jobs) {
    if (!job->decision.has_value()) continue;
    if (job->decision->disable_hook) {
      Disable(job->task,
              absl::StrCat("the receiver answered 410 Gone to delivery ", job->task.delivery_id()));
      continue;
    }
    if (!job->health.has_value()) continue;
    const store::HealthFailure::State s = job->health->Read(exec);
    if (options_.disable_after_failures > 0 && s.fails >= options_.disable_after_failures) {
      Disable(job->task, absl::StrCat(s.fails, " consecutive deliveries failed (last: ",
                                      job->task.delivery_id(), ")"));
    } else if (options_.disable_after > absl::ZeroDuration() && s.since != absl::InfinitePast() &&
               now - s.since >= options_.disable_after) {
      Disable(job->task,
              absl::StrCat("deliveries failing without a success since ", Rfc3339(s.since)));
    }
  }
}

void EndpointHealth::Disable(const v1::DeliveryTask& t, const std::string& reason) {
  const absl::Time now = clock_.Now();
  bool changed = false;
  auto hook = hook_store_.Update(t.tenant(), t.webhook_id(), [&](v1::Webhook& h) {
    changed = h.enabled();
    if (!changed) return absl::OkStatus();
    h.set_enabled(false);
    h.set_disabled_reason(reason);
    *h.mutable_update_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now));
    return absl::OkStatus();
  });
  if (!hook.ok()) {
    if (!absl::IsNotFound(hook.status())) {
      telemetry::LogError("disabling a hook failed",
                          {{"webhook_id", t.webhook_id()}, {"error", hook.status().ToString()}});
    }
    return;
  }
  if (!changed) return;  // disabled already (by another worker, or the tenant)
  cache_.InvalidateTenant(t.tenant());
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
