#include "services/registry/registry.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/core/ids.h"
#include "libs/match/matcher.h"
#include "libs/signing/secret.h"

namespace hookrelay::registry {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kMaxPublishTries = 5;
constexpr int kMaxBatch = 500;

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

// Validates the tenant and id of a read or delete.
absl::Status ValidateRef(const std::string& tenant, const std::string& id,
                         absl::string_view prefix) {
  if (absl::Status st = ValidateTenant(tenant, "tenant"); !st.ok()) return st;
  const absl::string_view field = "id";
  if (!core::IsValidId(id, prefix)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid ", prefix, " id"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RegistryOptions::Validate() const {
  store::RedisOptions redis{.url = redis_url};
  if (absl::Status st = redis.Validate(); !st.ok()) return st;
  if (limits.max_payload_bytes < 1024 || limits.max_payload_bytes > 16 * 1024 * 1024) {
    return absl::InvalidArgumentError("max_payload_bytes: must be in [1 KiB, 16 MiB]");
  }
  return events.Validate();
}

v1::Webhook MaskSecrets(v1::Webhook hook) {
  v1::Signing* s = hook.mutable_signing();
  s->set_secret(signing::MaskSecret(s->secret()));
  for (v1::PreviousSecret& p : *s->mutable_previous_secrets()) {
    p.set_secret(signing::MaskSecret(p.secret()));
  }
  return hook;
}

Registry::Registry(RegistryOptions options, core::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      keys_(options_.key_prefix),
      pool_(store::RedisOptions{.url = options_.redis_url}),
      hooks_(pool_, keys_),
      events_(pool_, keys_, options_.events),
      deliveries_(pool_, keys_),
      api_keys_(pool_, keys_),
      index_(hooks_) {}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Create(RegistryOptions options,
                                                           core::Clock& clock) {
  if (absl::Status st = options.Validate(); !st.ok()) return st;
  return std::unique_ptr<Registry>(new Registry(std::move(options), clock));
}

absl::Status Registry::Ready() {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return (*conn)->Ping();
}

absl::StatusOr<v1::Webhook> Registry::CreateWebhook(v1::Webhook hook) {
  if (!hook.id().empty()) {
    return absl::InvalidArgumentError("webhook.id: set by the server; leave it empty");
  }
  if (hook.signing().scheme() == v1::SIGNING_SCHEME_UNSPECIFIED) {
    hook.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_STANDARD);
  }
  if (hook.signing().secret().empty() && hook.signing().scheme() != v1::SIGNING_SCHEME_NONE) {
    auto secret = signing::GenerateSecret();
    if (!secret.ok()) return secret.status();
    hook.mutable_signing()->set_secret(*secret);
  }
  if (absl::Status st = ValidateWebhook(hook, options_.limits, "webhook"); !st.ok()) return st;
  const absl::Time now = clock_.Now();
  hook.set_id(core::NewId(core::kWebhookIdPrefix, now));
  if (hook.payload_format() == v1::PAYLOAD_FORMAT_UNSPECIFIED) {
    hook.set_payload_format(v1::PAYLOAD_FORMAT_ENVELOPE);
  }
  hook.set_enabled(true);
  hook.clear_disabled_reason();
  *hook.mutable_create_time() = ToProto(now);
  *hook.mutable_update_time() = ToProto(now);
  if (absl::Status st = hooks_.Create(hook); !st.ok()) return st;
  return hook;
}

absl::StatusOr<v1::Webhook> Registry::GetWebhook(const std::string& tenant,
                                                 const std::string& id) {
  if (absl::Status st = ValidateRef(tenant, id, core::kWebhookIdPrefix); !st.ok()) return st;
  auto hook = hooks_.Get(tenant, id);
  if (!hook.ok()) return hook.status();
  return MaskSecrets(*std::move(hook));
}

absl::Status Registry::DeleteWebhook(const std::string& tenant, const std::string& id) {
  if (absl::Status st = ValidateRef(tenant, id, core::kWebhookIdPrefix); !st.ok()) return st;
  return hooks_.Delete(tenant, id);
}

absl::StatusOr<v1::Event> Registry::GetEvent(const std::string& tenant, const std::string& id) {
  if (absl::Status st = ValidateRef(tenant, id, core::kEventIdPrefix); !st.ok()) return st;
  return events_.Get(tenant, id);
}

absl::StatusOr<v1::Delivery> Registry::GetDelivery(const std::string& tenant,
                                                   const std::string& id) {
  if (absl::Status st = ValidateRef(tenant, id, core::kDeliveryIdPrefix); !st.ok()) return st;
  return deliveries_.Get(tenant, id);
}

absl::StatusOr<store::PublishPlan> Registry::Plan(const v1::PublishEventRequest& req,
                                                  absl::Time now, const v1::Webhook* only) {
  auto snapshot = index_.Get(req.tenant());
  if (!snapshot.ok()) return snapshot.status();
  store::PublishPlan plan;
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
  v1::DeliveryTask task;
  task.set_tenant(req.tenant());
  task.set_event_id(e.id());
  task.set_attempt(1);
  task.set_published_at_ms(absl::ToUnixMillis(now));
  task.set_test(only != nullptr);
  for (const v1::Webhook& hook : (*snapshot)->hooks) {
    if (only != nullptr ? hook.id() != only->id()
                        : !match::HookMatches(hook, req.type(), req.attributes())) {
      continue;
    }
    store::PlannedDelivery& d = plan.deliveries.emplace_back();
    d.delivery_id = core::NewId(core::kDeliveryIdPrefix, now);
    d.hook_id = hook.id();
    task.set_delivery_id(d.delivery_id);
    task.set_webhook_id(hook.id());
    d.task = task.SerializeAsString();
  }
  return plan;
}

absl::StatusOr<v1::PublishEventResponse> Registry::PublishEvent(
    const v1::PublishEventRequest& req) {
  if (absl::Status st = ValidatePublish(req, options_.limits, ""); !st.ok()) return st;
  auto plan = Plan(req, clock_.Now());
  if (!plan.ok()) return plan.status();
  return PublishPlanned(*std::move(plan), req);
}

// Publishes a plan, re-planning against fresh hooks while the tenant's version moves.
absl::StatusOr<v1::PublishEventResponse> Registry::PublishPlanned(
    store::PublishPlan plan, const v1::PublishEventRequest& req) {
  for (int i = 0; i < kMaxPublishTries; ++i) {
    auto outcome = events_.Publish(plan, clock_.Now());
    if (!outcome.ok()) return outcome.status();
    if (outcome->kind != store::PublishOutcome::Kind::kStaleVersion) {
      v1::PublishEventResponse resp;
      resp.set_event_id(outcome->event_id);
      for (std::string& id : outcome->delivery_ids) resp.add_delivery_ids(std::move(id));
      resp.set_duplicate(outcome->kind == store::PublishOutcome::Kind::kDuplicate);
      return resp;
    }
    if (auto reloaded = index_.Reload(req.tenant()); !reloaded.ok()) return reloaded.status();
    auto again = Plan(req, clock_.Now());
    if (!again.ok()) return again.status();
    plan = *std::move(again);
  }
  return absl::AbortedError("tenant: hooks kept changing during publish; try again");
}

absl::StatusOr<v1::PublishEventsResponse> Registry::PublishEvents(
    const v1::PublishEventsRequest& req) {
  if (req.events_size() > kMaxBatch) {
    return absl::InvalidArgumentError(absl::StrCat("events: at most ", kMaxBatch, " per call"));
  }
  for (int i = 0; i < req.events_size(); ++i) {
    absl::Status st = ValidatePublish(req.events(i), options_.limits, absl::StrCat("events[", i, "]"));
    if (!st.ok()) return st;
  }
  const absl::Time now = clock_.Now();
  std::vector<store::PublishPlan> plans;
  plans.reserve(req.events_size());
  for (const auto& e : req.events()) {
    auto plan = Plan(e, now);
    if (!plan.ok()) return plan.status();
    plans.push_back(*std::move(plan));
  }
  auto outcomes = events_.PublishBatch(plans, now);
  if (!outcomes.ok()) return outcomes.status();
  v1::PublishEventsResponse resp;
  for (int i = 0; i < req.events_size(); ++i) {
    store::PublishOutcome& o = (*outcomes)[i];
    if (o.kind == store::PublishOutcome::Kind::kStaleVersion) {
      auto one = PublishPlanned(std::move(plans[i]), req.events(i));
      if (!one.ok()) return one.status();
      *resp.add_results() = *std::move(one);
      continue;
    }
    v1::PublishEventResponse* r = resp.add_results();
    r->set_event_id(o.event_id);
    for (std::string& id : o.delivery_ids) r->add_delivery_ids(std::move(id));
    r->set_duplicate(o.kind == store::PublishOutcome::Kind::kDuplicate);
  }
  return resp;
}

}  // namespace hookrelay::registry
