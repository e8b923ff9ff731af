#include "libs/queue/publisher.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/core/ids.h"
#include "libs/match/matcher.h"
#include "libs/signing/hmac.h"

namespace hookrelay::queue {
namespace {

// Plans a publish may go through while the tenant's hooks keep changing under it (each
// change is a new read of its hooks), before it answers ABORTED.
constexpr int kMaxPublishTries = 16;

google::protobuf::Timestamp ToProto(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

// FAILED_PRECONDITION for an idempotency key first used with another request. Not
// ALREADY_EXISTS: clients often take that for "done" and would lose the second event.
absl::Status Conflict(const v1::PublishEventRequest& req, const PublishOutcome& o,
                      absl::string_view field) {
  // No event id: the first request with the key is in the same PublishEvents call.
  const std::string first =
      o.event_id.empty() ? "in the same call" : absl::StrCat("(event ", o.event_id, ")");
  return absl::FailedPreconditionError(absl::StrCat(
      field, field.empty() ? "" : ".", "idempotency_key: \"", req.idempotency_key(),
      "\" was first used with a different request ", first,
      "; reuse a key only to retry the same tenant, type, payload, attributes and occurred_at, "
      "and use a new key for a new event"));
}

v1::PublishEventResponse ToResponse(PublishOutcome o) {
  v1::PublishEventResponse resp;
  resp.set_event_id(std::move(o.event_id));
  for (std::string& id : o.delivery_ids) resp.add_delivery_ids(std::move(id));
  resp.set_duplicate(o.kind == PublishOutcome::Kind::kDuplicate);
  return resp;
}

}  // namespace

std::string RequestFingerprint(const v1::PublishEventRequest& req) {
  // Each part framed by its length, so that no two different requests encode alike.
  std::string head;
  for (absl::string_view part : {absl::string_view(req.tenant()), absl::string_view(req.type())}) {
    absl::StrAppend(&head, part.size(), ":", part);
  }
  absl::StrAppend(&head, req.payload().size(), ":");
  std::vector<std::pair<absl::string_view, absl::string_view>> attributes(req.attributes().begin(),
                                                                          req.attributes().end());
  std::sort(attributes.begin(), attributes.end());
  std::string tail = absl::StrCat(attributes.size(), ";");
  for (const auto& [k, v] : attributes) absl::StrAppend(&tail, k.size(), ":", k, v.size(), ":", v);
  if (req.has_occurred_at()) {
    absl::StrAppend(&tail, "@", req.occurred_at().seconds(), ".", req.occurred_at().nanos());
  } else {
    absl::StrAppend(&tail, "@-");
  }
  // Only when set: fingerprints stored before ordering keys existed stay valid.
  if (!req.ordering_key().empty()) {
    absl::StrAppend(&tail, "#", req.ordering_key().size(), ":", req.ordering_key());
  }
  const signing::HmacDigest mac =
      signing::ComputeHmac(signing::HmacAlgorithm::kSha256, "hookrelay publish fingerprint v1",
                           {head, req.payload(), tail});
  return absl::BytesToHexString(mac.view().substr(0, 16));
}

absl::StatusOr<std::shared_ptr<const store::TenantHooks>> HookIndex::Get(
    const std::string& tenant) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tenants_.find(tenant);
    if (it != tenants_.end()) return it->second;
  }
  return Reload(tenant);
}

absl::StatusOr<std::shared_ptr<const store::TenantHooks>> HookIndex::Reload(
    const std::string& tenant) {
  auto loaded = hooks_.LoadTenant(tenant);
  if (!loaded.ok()) return loaded.status();
  auto snapshot = std::make_shared<const store::TenantHooks>(*std::move(loaded));
  std::lock_guard<std::mutex> lock(mu_);
  tenants_[tenant] = snapshot;
  return snapshot;
}

absl::StatusOr<PublishPlan> Publisher::Plan(const v1::PublishEventRequest& req, absl::Time now,
                                            const std::string* only, size_t batch) {
  auto snapshot = index_.Get(req.tenant());
  if (!snapshot.ok()) return snapshot.status();
  PublishPlan plan;
  plan.expected_version = (*snapshot)->version;
  v1::Event& e = plan.event;
  e.set_id(core::NewId(core::kEventIdPrefix, now));
  e.set_tenant(req.tenant());
  e.set_type(req.type());
  e.set_payload(req.payload());
  *e.mutable_attributes() = req.attributes();
  *e.mutable_occurred_at() = req.has_occurred_at() ? req.occurred_at() : ToProto(now);
  e.set_idempotency_key(req.idempotency_key());
  *e.mutable_publish_time() = ToProto(now);
  e.set_ordering_key(req.ordering_key());
  if (!req.idempotency_key().empty()) plan.fingerprint = RequestFingerprint(req);
  plan.test = only != nullptr;
  v1::DeliveryTask task;
  task.set_tenant(req.tenant());
  task.set_event_id(e.id());
  task.set_attempt(1);
  task.set_published_at_ms(absl::ToUnixMillis(now));
  task.set_test(only != nullptr);
  task.set_hooks_version(plan.expected_version);
  std::vector<bool> ordered;  // of each delivery: its hook delivers in order
  for (const v1::Webhook& hook : (*snapshot)->hooks) {
    if (only != nullptr ? hook.id() != *only
                        : !match::HookMatches(hook, req.type(), req.attributes())) {
      continue;
    }
    plan.deliveries.push_back({core::NewId(core::kDeliveryIdPrefix, now), hook.id()});
    ordered.push_back(hook.ordering() != v1::ORDERING_UNSPECIFIED);
  }
  if (plan.deliveries.size() == 1 && batch <= kMaxInlineBatch &&
      e.ByteSizeLong() <= inline_event_bytes_) {
    *task.mutable_event() = e;
  }
  plan.tasks.reserve(plan.deliveries.size());
  for (size_t i = 0; i < plan.deliveries.size(); ++i) {
    const store::NewDelivery& d = plan.deliveries[i];
    task.set_delivery_id(d.delivery_id);
    task.set_webhook_id(d.hook_id);
    task.clear_ordering_key();
    if (!req.ordering_key().empty() && ordered[i]) {
      task.set_ordering_key(req.ordering_key());
      plan.ordered.resize(plan.deliveries.size());
      plan.ordered[i] = OrderedTask{req.tenant(), d.hook_id, req.ordering_key(), d.delivery_id};
    }
    plan.tasks.push_back(task.SerializeAsString());
  }
  return plan;
}

// Publishes a plan, re-planning against fresh hooks while the tenant's version moves.
absl::StatusOr<v1::PublishEventResponse> Publisher::PublishPlanned(
    PublishPlan plan, const v1::PublishEventRequest& req, const std::string* only) {
  for (int i = 0; i < kMaxPublishTries; ++i) {
    auto outcome = fan_out_.Publish(plan, clock_.Now());
    if (!outcome.ok()) return outcome.status();
    if (outcome->kind == PublishOutcome::Kind::kConflict) return Conflict(req, *outcome, "");
    if (outcome->kind != PublishOutcome::Kind::kStaleVersion) {
      return ToResponse(*std::move(outcome));
    }
    if (auto reloaded = index_.Reload(req.tenant()); !reloaded.ok()) return reloaded.status();
    auto again = Plan(req, clock_.Now(), only, 1);
    if (!again.ok()) return again.status();
    plan = *std::move(again);
  }
  return absl::AbortedError("tenant: hooks kept changing during publish; try again");
}

absl::StatusOr<v1::PublishEventResponse> Publisher::Publish(const v1::PublishEventRequest& req) {
  auto plan = Plan(req, clock_.Now(), nullptr, 1);
  if (!plan.ok()) return plan.status();
  return PublishPlanned(*std::move(plan), req, nullptr);
}

absl::StatusOr<v1::PublishEventResponse> Publisher::PublishTest(const v1::PublishEventRequest& req,
                                                                const std::string& hook_id) {
  auto plan = Plan(req, clock_.Now(), &hook_id, 1);
  if (!plan.ok()) return plan.status();
  return PublishPlanned(*std::move(plan), req, &hook_id);
}

absl::StatusOr<std::vector<v1::PublishEventResponse>> Publisher::PublishBatch(
    const google::protobuf::RepeatedPtrField<v1::PublishEventRequest>& reqs) {
  const absl::Time now = clock_.Now();
  std::vector<PublishPlan> plans;
  plans.reserve(reqs.size());
  for (const v1::PublishEventRequest& r : reqs) {
    auto plan = Plan(r, now, nullptr, static_cast<size_t>(reqs.size()));
    if (!plan.ok()) return plan.status();  // nothing written yet
    plans.push_back(*std::move(plan));
  }
  std::vector<absl::StatusOr<PublishOutcome>> outcomes =
      fan_out_.PublishBatch(plans, now, /*all_or_nothing=*/true);
  for (size_t k = 0; k < plans.size(); ++k) {
    if (!outcomes[k].ok()) return outcomes[k].status();
    if (outcomes[k]->kind == PublishOutcome::Kind::kConflict) {
      return Conflict(reqs[static_cast<int>(k)], *outcomes[k], absl::StrCat("events[", k, "]"));
    }
  }
  std::vector<v1::PublishEventResponse> out;
  out.reserve(plans.size());
  for (size_t k = 0; k < plans.size(); ++k) {
    auto r = Settle(*std::move(outcomes[k]), reqs[static_cast<int>(k)]);
    if (!r.ok()) return r.status();
    out.push_back(*std::move(r));
  }
  return out;
}

std::vector<absl::StatusOr<v1::PublishEventResponse>> Publisher::PublishEach(
    absl::Span<const v1::PublishEventRequest* const> reqs) {
  const absl::Time now = clock_.Now();
  std::vector<absl::StatusOr<v1::PublishEventResponse>> out(reqs.size(),
                                                            absl::UnknownError("not published"));
  std::vector<PublishPlan> plans;
  std::vector<const v1::PublishEventRequest*> planned;  // the request of each plan
  plans.reserve(reqs.size());
  planned.reserve(reqs.size());
  std::vector<size_t> slot;  // index in `out` of each plan
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto plan = Plan(*reqs[i], now, nullptr, reqs.size());
    if (!plan.ok()) {
      out[i] = plan.status();
      continue;
    }
    plans.push_back(*std::move(plan));
    planned.push_back(reqs[i]);
    slot.push_back(i);
  }
  std::vector<absl::StatusOr<v1::PublishEventResponse>> results =
      PublishPlans(std::move(plans), planned.data(), now);
  for (size_t k = 0; k < results.size(); ++k) out[slot[k]] = std::move(results[k]);
  return out;
}

// One pipelined round trip for every plan; a plan whose tenant changed meanwhile (stale
// version) is re-planned and published on its own. reqs[k] is the request of plans[k].
std::vector<absl::StatusOr<v1::PublishEventResponse>> Publisher::PublishPlans(
    std::vector<PublishPlan> plans, const v1::PublishEventRequest* const* reqs, absl::Time now) {
  std::vector<absl::StatusOr<v1::PublishEventResponse>> out;
  if (plans.empty()) return out;
  out.reserve(plans.size());
  std::vector<absl::StatusOr<PublishOutcome>> outcomes = fan_out_.PublishBatch(plans, now);
  for (size_t k = 0; k < plans.size(); ++k) {
    out.push_back(outcomes[k].ok()
                      ? Settle(*std::move(outcomes[k]), *reqs[k])
                      : absl::StatusOr<v1::PublishEventResponse>(outcomes[k].status()));
  }
  return out;
}

absl::StatusOr<v1::PublishEventResponse> Publisher::Settle(PublishOutcome outcome,
                                                           const v1::PublishEventRequest& req) {
  switch (outcome.kind) {
    case PublishOutcome::Kind::kConflict:
      return Conflict(req, outcome, "");
    case PublishOutcome::Kind::kStaleVersion:
      if (auto reloaded = index_.Reload(req.tenant()); !reloaded.ok()) return reloaded.status();
      return Publish(req);
    default:
      return ToResponse(std::move(outcome));
  }
}

}  // namespace hookrelay::queue
