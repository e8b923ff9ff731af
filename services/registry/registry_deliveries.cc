// Registry: delivery history, redelivery, recovery and test sends.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/core/ids.h"
#include "libs/core/status_macros.h"
#include "libs/http/sender.h"
#include "nlohmann/json.hpp"
#include "services/registry/registry.h"

namespace hookrelay::registry {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kMaxRecover = 10000;
constexpr absl::Duration kTestSlack = absl::Seconds(5);

}  // namespace

absl::StatusOr<v1::ListDeliveriesResponse> Registry::ListDeliveries(
    const v1::ListDeliveriesRequest& req) {
  HR_RETURN_IF_ERROR(ValidateTenant(req.tenant(), "tenant"));
  if (req.webhook_id().empty() == req.event_id().empty()) {
    return absl::InvalidArgumentError("webhook_id, event_id: set exactly one");
  }
  if (!req.webhook_id().empty() && !core::IsValidId(req.webhook_id(), core::kWebhookIdPrefix)) {
    return absl::InvalidArgumentError("webhook_id: not a valid wh_ id");
  }
  if (!req.event_id().empty() && !core::IsValidId(req.event_id(), core::kEventIdPrefix)) {
    return absl::InvalidArgumentError("event_id: not a valid evt_ id");
  }
  HR_ASSIGN_OR_RETURN(const int size, CoercePageSize(req.page_size()));
  if (!v1::DeliveryStatus_IsValid(req.status())) {
    return absl::InvalidArgumentError("status: unknown value");
  }
  const PageScope scope{
      .method = "ListDeliveries",
      .tenant = req.tenant(),
      .filters = absl::StrCat(req.webhook_id(), " ", req.event_id(), " ", req.status())};
  HR_ASSIGN_OR_RETURN(std::string after, page_tokens_.Open(scope, req.page_token()));
  store::DeliveryQuery q{.tenant = req.tenant(),
                         .webhook_id = req.webhook_id(),
                         .event_id = req.event_id(),
                         .status = req.status(),
                         .page_size = size,
                         .after = std::move(after)};
  HR_ASSIGN_OR_RETURN(store::DeliveryPage page, deliveries_.List(q));
  v1::ListDeliveriesResponse resp;
  for (v1::Delivery& d : page.deliveries) *resp.add_deliveries() = std::move(d);
  HR_ASSIGN_OR_RETURN(*resp.mutable_next_page_token(), page_tokens_.Make(scope, page.next_cursor));
  return resp;
}

absl::Status Registry::RequeueAll(const std::string& tenant,
                                  const std::vector<queue::Requeue>& items) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return queue::RequeueAll(**conn, keys_, tenant, items, clock_.Now());
}

absl::StatusOr<std::vector<queue::Requeue>> Registry::PlanRequeue(
    const std::string& tenant, const v1::Webhook& hook, const std::vector<v1::Delivery>& ds) {
  const absl::Time now = clock_.Now();
  const bool ordered = hook.ordering() != v1::ORDERING_UNSPECIFIED;
  std::vector<queue::Requeue> out;
  for (const v1::Delivery& d : ds) {
    std::string ordering_key;
    if (ordered) {  // one read per delivery: ordered hooks only (RecoverWebhook is rare)
      auto event = events_.Get(tenant, d.event_id());
      if (event.ok()) {
        ordering_key = event->ordering_key();
      } else if (!absl::IsNotFound(event.status())) {
        return event.status();
      }
    }
    v1::DeliveryTask task;
    task.set_delivery_id(d.id());
    task.set_tenant(tenant);
    task.set_webhook_id(d.webhook_id());
    task.set_event_id(d.event_id());
    task.set_attempt(d.attempt_count() + 1);
    task.set_published_at_ms(absl::ToUnixMillis(now));
    task.set_manual(true);
    task.set_test(d.test());  // a test ping sent again is still never retried
    task.set_ordering_key(ordering_key);
    out.push_back({d.id(), task.SerializeAsString(), d.webhook_id(), ordering_key});
  }
  return out;
}

absl::StatusOr<v1::Delivery> Registry::RedeliverDelivery(const std::string& tenant,
                                                         const std::string& id) {
  auto d = GetDelivery(tenant, id);
  if (!d.ok()) return d.status();
  auto hook = hooks_.Get(tenant, d->webhook_id());
  if (!hook.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("delivery ", id, ": its webhook is gone"));
  }
  if (auto event = events_.Get(tenant, d->event_id()); !event.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("delivery ", id, ": its event is past retention"));
  }
  auto requeue = PlanRequeue(tenant, *hook, {*d});
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
    HR_ASSIGN_OR_RETURN(store::DeliveryPage page, deliveries_.List(q));
    for (v1::Delivery& d : page.deliveries) {
      // A TestWebhook ping is no event the hook subscribed to, and is never retried.
      if (!d.test()) failed.push_back(std::move(d));
    }
    q.after = std::move(page.next_cursor);
  } while (!q.after.empty() && failed.size() < kMaxRecover);
  if (hook->ordering() != v1::ORDERING_UNSPECIFIED) {
    // In publish order (ids sort by creation time), so each key's queue gets them in order.
    std::sort(failed.begin(), failed.end(),
              [](const v1::Delivery& a, const v1::Delivery& b) { return a.id() < b.id(); });
  }
  auto requeue = PlanRequeue(req.tenant(), *hook, failed);
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
