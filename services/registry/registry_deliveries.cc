// Registry: delivery history, redelivery, recovery and test sends.
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/core/ids.h"
#include "libs/http/sender.h"
#include "services/registry/registry.h"

namespace hookrelay::registry {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kMaxPageSize = 200;
constexpr int kMaxRecover = 10000;
constexpr absl::Duration kTestSlack = absl::Seconds(5);

std::string OffsetToken(long long offset) {
  return offset == 0 ? "" : absl::WebSafeBase64Escape(absl::StrCat("o:", offset));
}

absl::StatusOr<long long> TokenOffset(const std::string& token) {
  if (token.empty()) return 0;
  std::string raw;
  long long offset = 0;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.rfind("o:", 0) != 0 ||
      !absl::SimpleAtoi(raw.substr(2), &offset) || offset < 0) {
    return absl::InvalidArgumentError("page_token: not a token from ListDeliveries");
  }
  return offset;
}

}  // namespace

absl::StatusOr<v1::ListDeliveriesResponse> Registry::ListDeliveries(
    const v1::ListDeliveriesRequest& req) {
  if (absl::Status st = ValidateTenant(req.tenant(), "tenant"); !st.ok()) return st;
  if (req.webhook_id().empty() == req.event_id().empty()) {
    return absl::InvalidArgumentError("webhook_id, event_id: set exactly one");
  }
  if (!req.webhook_id().empty() && !core::IsValidId(req.webhook_id(), core::kWebhookIdPrefix)) {
    return absl::InvalidArgumentError("webhook_id: not a valid wh_ id");
  }
  if (!req.event_id().empty() && !core::IsValidId(req.event_id(), core::kEventIdPrefix)) {
    return absl::InvalidArgumentError("event_id: not a valid evt_ id");
  }
  if (req.page_size() < 0 || req.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError("page_size: must be between 0 and 200");
  }
  if (!v1::DeliveryStatus_IsValid(req.status())) {
    return absl::InvalidArgumentError("status: unknown value");
  }
  auto offset = TokenOffset(req.page_token());
  if (!offset.ok()) return offset.status();
  store::DeliveryQuery q{.tenant = req.tenant(),
                         .webhook_id = req.webhook_id(),
                         .event_id = req.event_id(),
                         .status = req.status(),
                         .page_size = req.page_size() == 0 ? 50 : req.page_size(),
                         .offset = *offset};
  auto page = deliveries_.List(q);
  if (!page.ok()) return page.status();
  v1::ListDeliveriesResponse resp;
  for (v1::Delivery& d : page->deliveries) *resp.add_deliveries() = std::move(d);
  resp.set_next_page_token(OffsetToken(page->next_offset));
  return resp;
}

absl::Status Registry::RequeueAll(const std::string& tenant,
                                  const std::vector<queue::Requeue>& items) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return queue::RequeueAll(**conn, keys_, tenant, items, clock_.Now());
}

absl::StatusOr<std::vector<queue::Requeue>> Registry::PlanRequeue(
    const std::string& tenant, const std::vector<v1::Delivery>& ds) {
  const absl::Time now = clock_.Now();
  std::vector<queue::Requeue> out;
  for (const v1::Delivery& d : ds) {
    v1::DeliveryTask task;
    task.set_delivery_id(d.id());
    task.set_tenant(tenant);
    task.set_webhook_id(d.webhook_id());
    task.set_event_id(d.event_id());
    task.set_attempt(d.attempt_count() + 1);
    task.set_published_at_ms(absl::ToUnixMillis(now));
    task.set_manual(true);
    out.push_back({d.id(), task.SerializeAsString()});
  }
  return out;
}

absl::StatusOr<v1::Delivery> Registry::RedeliverDelivery(const std::string& tenant,
                                                         const std::string& id) {
  auto d = GetDelivery(tenant, id);
  if (!d.ok()) return d.status();
  if (auto hook = hooks_.Get(tenant, d->webhook_id()); !hook.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("delivery ", id, ": its webhook is gone"));
  }
  if (auto event = events_.Get(tenant, d->event_id()); !event.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("delivery ", id, ": its event is past retention"));
  }
  auto requeue = PlanRequeue(tenant, {*d});
  if (!requeue.ok()) return requeue.status();
  if (absl::Status st = RequeueAll(tenant, *requeue); !st.ok()) return st;
  d->set_status(v1::DELIVERY_STATUS_PENDING);
  d->clear_attempts();
  return d;
}

absl::StatusOr<v1::RecoverWebhookResponse> Registry::RecoverWebhook(
    const v1::RecoverWebhookRequest& req) {
  auto hook = LoadForUpdate(req.tenant(), req.id());
  if (!hook.ok()) return hook.status();
  store::DeliveryQuery q{.tenant = req.tenant(),
                         .webhook_id = req.id(),
                         .status = v1::DELIVERY_STATUS_FAILED,
                         .page_size = kMaxPageSize};
  if (req.has_since())
    q.since = absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(req.since()));
  std::vector<v1::Delivery> failed;
  do {
    auto page = deliveries_.List(q);
    if (!page.ok()) return page.status();
    for (v1::Delivery& d : page->deliveries) failed.push_back(std::move(d));
    q.offset = page->next_offset;
  } while (q.offset != 0 && failed.size() < kMaxRecover);
  auto requeue = PlanRequeue(req.tenant(), failed);
  if (!requeue.ok()) return requeue.status();
  if (absl::Status st = RequeueAll(req.tenant(), *requeue); !st.ok()) {
    return st;
  }
  v1::RecoverWebhookResponse resp;
  for (const v1::Delivery& d : failed) resp.add_delivery_ids(d.id());
  return resp;
}

absl::StatusOr<v1::TestWebhookResponse> Registry::TestWebhook(const v1::TestWebhookRequest& req) {
  auto hook = LoadForUpdate(req.tenant(), req.id());
  if (!hook.ok()) return hook.status();
  v1::PublishEventRequest pub;
  pub.set_tenant(req.tenant());
  pub.set_type(req.event_type().empty() ? "webhook.test" : req.event_type());
  pub.set_payload(req.payload().empty() ? R"({"test":true})" : req.payload());
  // The checks of a published event, with this request's field names.
  if (absl::Status st = ValidatePublish(pub, options_.limits, ""); !st.ok()) {
    absl::string_view message = st.message();
    if (absl::ConsumePrefix(&message, "type")) {
      return absl::InvalidArgumentError(absl::StrCat("event_type", message));
    }
    return st;
  }
  auto published = publisher_.PublishTest(pub, hook->id());
  if (!published.ok()) return published.status();
  if (published->delivery_ids().empty()) return absl::NotFoundError("webhook not found");
  v1::TestWebhookResponse resp;
  resp.set_delivery_id(published->delivery_ids(0));
  const absl::Duration wait = http::DeliveryTimeout(hook->timeout_ms()) + kTestSlack;
  for (const absl::Time deadline = absl::Now() + wait; absl::Now() < deadline;) {
    auto d = deliveries_.Get(req.tenant(), resp.delivery_id());
    if (d.ok() && d->attempts_size() > 0) {
      *resp.mutable_attempt() = d->attempts(0);
      return resp;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      "no worker recorded the test attempt in time; are workers running?");
}

}  // namespace hookrelay::registry
