// ListDeliveries, RedeliverDelivery and RecoverWebhook over a real gRPC channel. Deliveries
// fail or succeed for real: an in-process worker sends them to HTTP receivers.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/integration/registry/worker_fixture.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::registry {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::hookrelay::testing::HttpReceiver;
using ::hookrelay::testing::ReceivedRequest;
using ::hookrelay::testing::Reply;
using ::hookrelay::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAreArray;
using Stub = v1::WebhookRegistry::Stub;

constexpr char kFailPayload[] = R"({"fail":true})";

int64_t Millis(const google::protobuf::Timestamp& ts) {
  return TimeUtil::TimestampToMilliseconds(ts);
}

std::vector<std::string> IdsOf(const std::vector<v1::Delivery>& ds) {
  std::vector<std::string> ids;
  for (const v1::Delivery& d : ds) ids.push_back(d.id());
  return ids;
}

// A receiver handler that answers 500 to events published with kFailPayload, 200 otherwise.
Reply FailMarkedEvents(const ReceivedRequest& r) {
  return Reply{.status = absl::StrContains(r.body, R"("fail":true)") ? 500 : 200};
}

class DeliveriesApiTest : public RegistryWorkerTest {
 protected:
  absl::StatusOr<v1::ListDeliveriesResponse> List(const v1::ListDeliveriesRequest& req) {
    return CallRpc(registry_->stub(), &Stub::ListDeliveries, req, kAdminKey);
  }
  static v1::ListDeliveriesRequest ByHook(const v1::Webhook& hook, int page_size = 0,
                                          v1::DeliveryStatus status = {}) {
    v1::ListDeliveriesRequest req;
    req.set_tenant(hook.tenant());
    req.set_webhook_id(hook.id());
    req.set_page_size(page_size);
    req.set_status(status);
    return req;
  }
  // Follows page tokens to the end; `page_sizes` gets the size of each page.
  absl::StatusOr<std::vector<v1::Delivery>> ListAll(v1::ListDeliveriesRequest req,
                                                    std::vector<int>* page_sizes = nullptr) {
    std::vector<v1::Delivery> out;
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<v1::ListDeliveriesResponse> page = List(req);
      if (!page.ok()) return page.status();
      if (page_sizes != nullptr) page_sizes->push_back(page->deliveries_size());
      out.insert(out.end(), page->deliveries().begin(), page->deliveries().end());
      if (page->next_page_token().empty()) return out;
      req.set_page_token(page->next_page_token());
    }
    return absl::InternalError("the listing does not end");
  }
  // The ids ListAll finds, or {} after a failed expectation.
  std::vector<std::string> ListIds(const v1::ListDeliveriesRequest& req) {
    absl::StatusOr<std::vector<v1::Delivery>> all = ListAll(req);
    EXPECT_OK(all.status());
    return all.ok() ? IdsOf(*all) : std::vector<std::string>{};
  }
  absl::StatusOr<v1::Delivery> Redeliver(absl::string_view tenant, const std::string& id) {
    v1::RedeliverDeliveryRequest req;
    req.set_tenant(std::string(tenant));
    req.set_id(id);
    return CallRpc(registry_->stub(), &Stub::RedeliverDelivery, req, kAdminKey);
  }
  absl::StatusOr<std::vector<std::string>> Recover(const v1::Webhook& hook,
                                                   std::optional<absl::Time> since) {
    v1::RecoverWebhookRequest req;
    req.set_tenant(hook.tenant());
    req.set_id(hook.id());
    if (since.has_value()) {
      *req.mutable_since() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(*since));
    }
    auto resp = CallRpc(registry_->stub(), &Stub::RecoverWebhook, req, kAdminKey);
    if (!resp.ok()) return resp.status();
    return std::vector<std::string>(resp->delivery_ids().begin(), resp->delivery_ids().end());
  }
  // Publishes one event of `type` for `tenant`; returns its only delivery id.
  std::string PublishOne(absl::string_view tenant, absl::string_view type,
                         absl::string_view payload = R"({"n":1})") {
    absl::StatusOr<v1::PublishEventResponse> resp = PublishEvent(Event(tenant, type, payload));
    EXPECT_OK(resp.status());
    if (!resp.ok() || resp->delivery_ids_size() != 1) {
      ADD_FAILURE() << "want exactly one delivery";
      return "";
    }
    return resp->delivery_ids(0);
  }
};

// --- ListDeliveries -------------------------------------------------------------------------

TEST_F(DeliveriesApiTest, ListByWebhookIsNewestFirstAndPagesWithoutGapsOrDuplicates) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"review.*"})));
  ASSERT_OK_AND_ASSIGN(v1::Webhook other, CreateWebhook(Hook("acme", {"order.*"})));
  std::vector<std::string> published;
  for (int i = 0; i < 130; ++i) published.push_back(PublishOne("acme", "review.created"));
  for (int i = 0; i < 5; ++i) PublishOne("acme", "order.created");

  std::vector<int> page_sizes;
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Delivery> listed, ListAll(ByHook(hook, 40), &page_sizes));
  EXPECT_THAT(page_sizes, ElementsAre(40, 40, 40, 10));
  EXPECT_THAT(IdsOf(listed), UnorderedElementsAreArray(published));
  const std::set<std::string> unique(published.begin(), published.end());
  EXPECT_EQ(unique.size(), listed.size());
  // Newest first: by creation time, then by id, both descending.
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end(),
                             [](const v1::Delivery& a, const v1::Delivery& b) {
                               return std::make_pair(Millis(a.create_time()), a.id()) >
                                      std::make_pair(Millis(b.create_time()), b.id());
                             }));
  ASSERT_OK_AND_ASSIGN(v1::Delivery first, GetDelivery("acme", published.front()));
  ASSERT_OK_AND_ASSIGN(v1::Delivery last, GetDelivery("acme", published.back()));
  ASSERT_LT(Millis(first.create_time()), Millis(last.create_time()));
  const auto at = [&](const std::string& id) {
    return std::find_if(listed.begin(), listed.end(),
                        [&](const v1::Delivery& d) { return d.id() == id; }) -
           listed.begin();
  };
  EXPECT_LT(at(last.id()), at(first.id()));
  for (const v1::Delivery& d : listed) {
    EXPECT_EQ(d.webhook_id(), hook.id());
    EXPECT_EQ(d.event_type(), "review.created");
    EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_PENDING);
    EXPECT_THAT(d.attempts(), IsEmpty());  // GetDelivery has them, listings do not
  }
  // The default page holds 50; the other hook's listing holds only its own.
  ASSERT_OK_AND_ASSIGN(v1::ListDeliveriesResponse page, List(ByHook(hook)));
  EXPECT_THAT(page.deliveries(), SizeIs(50));
  EXPECT_THAT(ListIds(ByHook(other)), SizeIs(5));
}

TEST_F(DeliveriesApiTest, ListByEventPagesThroughAFanOutInOrder) {
  for (int i = 0; i < 120; ++i) ASSERT_OK(CreateWebhook(Hook("acme", {"order.*"})).status());
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse resp, PublishEvent(Event("acme", "order.created")));
  ASSERT_THAT(resp.delivery_ids(), SizeIs(120));
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse other,
                       PublishEvent(Event("acme", "order.updated")));

  v1::ListDeliveriesRequest req;
  req.set_tenant("acme");
  req.set_event_id(resp.event_id());
  req.set_page_size(50);
  std::vector<int> page_sizes;
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Delivery> listed, ListAll(req, &page_sizes));
  EXPECT_THAT(page_sizes, ElementsAre(50, 50, 20));
  EXPECT_THAT(IdsOf(listed), ElementsAreArray(resp.delivery_ids()));
  for (const v1::Delivery& d : listed) EXPECT_EQ(d.event_id(), resp.event_id());

  req.set_event_id(other.event_id());
  EXPECT_THAT(ListIds(req), UnorderedElementsAreArray(other.delivery_ids()));
}

TEST_F(DeliveriesApiTest, StatusFilterPagesThroughOnlyMatchingDeliveries) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start(FailMarkedEvents));
  v1::Webhook spec = HttpHook("acme", receiver->Url("/in"));
  spec.mutable_retry_policy()->add_delays_ms(0);  // one retry at once, then FAILED
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(spec));
  std::vector<std::string> failing, passing;
  for (int i = 0; i < 105; ++i) {
    const bool fail = i % 3 == 0;
    (fail ? failing : passing)
        .push_back(PublishOne("acme", "order.created", fail ? kFailPayload : "{}"));
  }
  StartWorker();
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return ListIds(ByHook(hook, 200, v1::DELIVERY_STATUS_FAILED)).size() == failing.size() &&
               ListIds(ByHook(hook, 200, v1::DELIVERY_STATUS_SUCCEEDED)).size() == passing.size();
      },
      kWait, absl::Milliseconds(50)));

  ASSERT_OK_AND_ASSIGN(std::vector<v1::Delivery> failed,
                       ListAll(ByHook(hook, 10, v1::DELIVERY_STATUS_FAILED)));
  EXPECT_THAT(IdsOf(failed), UnorderedElementsAreArray(failing));
  for (const v1::Delivery& d : failed) {
    EXPECT_EQ(d.attempt_count(), 2);
    EXPECT_EQ(d.last_http_status(), 500);
    EXPECT_EQ(d.last_error_class(), v1::ERROR_CLASS_HTTP_5XX);
  }
  EXPECT_THAT(ListIds(ByHook(hook, 7, v1::DELIVERY_STATUS_SUCCEEDED)),
              UnorderedElementsAreArray(passing));
  EXPECT_THAT(ListIds(ByHook(hook, 10, v1::DELIVERY_STATUS_PENDING)), IsEmpty());
  EXPECT_THAT(ListIds(ByHook(hook, 10, v1::DELIVERY_STATUS_RETRY_SCHEDULED)), IsEmpty());
  EXPECT_THAT(ListIds(ByHook(hook, 200)), SizeIs(105));
}

TEST_F(DeliveriesApiTest, ListRequiresExactlyOneParentAndValidPaging) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse resp, PublishEvent(Event("acme", "x.y")));

  v1::ListDeliveriesRequest neither;
  neither.set_tenant("acme");
  EXPECT_THAT(List(neither),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook_id")));
  v1::ListDeliveriesRequest both = ByHook(hook);
  both.set_event_id(resp.event_id());
  EXPECT_THAT(List(both), StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook_id")));

  v1::ListDeliveriesRequest req = ByHook(hook);
  req.set_webhook_id("wh_nope");
  EXPECT_THAT(List(req), StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook_id:")));
  req = ByHook(hook, -1);
  EXPECT_THAT(List(req), StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_size:")));
  req = ByHook(hook);
  req.set_page_token("garbage");
  EXPECT_THAT(List(req), StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_token:")));
  req.set_page_token(absl::WebSafeBase64Escape("o:-5"));
  EXPECT_THAT(List(req), StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_token:")));
  req = ByHook(hook, 0, static_cast<v1::DeliveryStatus>(42));
  EXPECT_THAT(List(req), StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("status:")));
}

// The defect: a listing of an unknown hook answered an empty OK, indistinguishable from a hook
// with no deliveries yet.
TEST_F(DeliveriesApiTest, ListOfAnUnknownHookOrEventIsNotFound) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  EXPECT_THAT(ListIds(ByHook(hook)), IsEmpty());  // known, no deliveries yet
  v1::ListDeliveriesRequest req = ByHook(hook);
  req.set_webhook_id("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV");
  EXPECT_THAT(List(req), StatusIs(absl::StatusCode::kNotFound));
  req.set_tenant("globex");  // another tenant's view of the hook
  req.set_webhook_id(hook.id());
  EXPECT_THAT(List(req), StatusIs(absl::StatusCode::kNotFound));
  req = ByHook(hook);
  req.clear_webhook_id();
  req.set_event_id("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV");
  EXPECT_THAT(List(req), StatusIs(absl::StatusCode::kNotFound));
  // A deleted hook's deliveries are still listed by their event.
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse resp, PublishEvent(Event("acme", "x.y")));
  ASSERT_OK(DeleteWebhook("acme", hook.id()));
  EXPECT_THAT(List(ByHook(hook)), StatusIs(absl::StatusCode::kNotFound));
  req.set_event_id(resp.event_id());
  EXPECT_THAT(ListIds(req), ElementsAreArray(resp.delivery_ids()));
}

// --- RedeliverDelivery ----------------------------------------------------------------------

TEST_F(DeliveriesApiTest, RedeliverSendsAFailedDeliveryAgainWithTheSameIdAndNextAttempt) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 503};
                       }));
  v1::Webhook spec = HttpHook("acme", receiver->Url("/in"));
  spec.mutable_retry_policy()->add_delays_ms(0);
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(spec));
  StartWorker();
  const std::string id = PublishOne("acme", "order.created");
  WaitForStatus("acme", id, v1::DELIVERY_STATUS_FAILED, 2);

  receiver->SetHandler(nullptr);  // 200 from now on
  ASSERT_OK_AND_ASSIGN(v1::Delivery requeued, Redeliver("acme", id));
  EXPECT_EQ(requeued.id(), id);
  EXPECT_EQ(requeued.status(), v1::DELIVERY_STATUS_PENDING);

  const v1::Delivery d = WaitForStatus("acme", id, v1::DELIVERY_STATUS_SUCCEEDED, 3);
  EXPECT_EQ(d.attempt_count(), 3);
  ASSERT_THAT(d.attempts(), SizeIs(3));
  EXPECT_EQ(d.attempts(0).number(), 1);
  EXPECT_EQ(d.attempts(1).number(), 2);
  EXPECT_EQ(d.attempts(2).number(), 3);
  EXPECT_EQ(d.attempts(2).http_status(), 200);
  ASSERT_EQ(receiver->RequestCount(), 3u);
  for (const ReceivedRequest& r : receiver->Requests()) EXPECT_EQ(r.headers.at("webhook-id"), id);
}

TEST_F(DeliveriesApiTest, RedeliverOfADeliveryWhoseHookIsGoneIsFailedPrecondition) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  const std::string id = PublishOne("acme", "order.created");
  ASSERT_OK(DeleteWebhook("acme", hook.id()));
  const long long stream = StreamLength();
  EXPECT_THAT(Redeliver("acme", id), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(StreamLength(), stream);

  EXPECT_THAT(Redeliver("globex", id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Redeliver("acme", "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Redeliver("acme", "nope"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("id:")));
}

// --- RecoverWebhook -------------------------------------------------------------------------

TEST_F(DeliveriesApiTest, RecoverRequeuesOnlyFailedDeliveriesSinceTheTime) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start(FailMarkedEvents));
  v1::Webhook spec = HttpHook("acme", receiver->Url("/a"), {"order.*"});
  spec.mutable_retry_policy()->add_delays_ms(0);
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(spec));
  spec.set_url(receiver->Url("/b"));
  spec.clear_event_types();
  spec.add_event_types("review.*");
  ASSERT_OK_AND_ASSIGN(v1::Webhook other, CreateWebhook(spec));
  StartWorker();

  // Failed before `since`.
  std::vector<std::string> old_failed = {PublishOne("acme", "order.created", kFailPayload),
                                         PublishOne("acme", "order.created", kFailPayload)};
  int64_t newest_old = 0;
  for (const std::string& id : old_failed) {
    const v1::Delivery d = WaitForStatus("acme", id, v1::DELIVERY_STATUS_FAILED, 2);
    newest_old = std::max(newest_old, Millis(d.create_time()));
  }
  ASSERT_TRUE(testing::WaitFor([&] { return absl::ToUnixMillis(absl::Now()) > newest_old; },
                               absl::Seconds(1), absl::Milliseconds(1)));
  const absl::Time since = absl::Now();

  // Since then: failed and succeeded on the hook, and failed on another hook.
  std::vector<std::string> new_failed, succeeded;
  for (int i = 0; i < 3; ++i)
    new_failed.push_back(PublishOne("acme", "order.created", kFailPayload));
  for (int i = 0; i < 2; ++i) succeeded.push_back(PublishOne("acme", "order.created"));
  const std::string other_failed = PublishOne("acme", "review.created", kFailPayload);
  for (const std::string& id : new_failed) WaitForStatus("acme", id, v1::DELIVERY_STATUS_FAILED, 2);
  for (const std::string& id : succeeded)
    WaitForStatus("acme", id, v1::DELIVERY_STATUS_SUCCEEDED, 1);
  WaitForStatus("acme", other_failed, v1::DELIVERY_STATUS_FAILED, 2);

  receiver->SetHandler(nullptr);  // 200 from now on
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> recovered, Recover(hook, since));
  EXPECT_THAT(recovered, UnorderedElementsAreArray(new_failed));
  for (const std::string& id : new_failed) {
    const v1::Delivery d = WaitForStatus("acme", id, v1::DELIVERY_STATUS_SUCCEEDED, 3);
    EXPECT_EQ(d.attempts(2).number(), 3);
  }

  // The rest is untouched: nothing more was sent for them.
  std::map<std::string, int> sends;
  for (const ReceivedRequest& r : receiver->Requests()) ++sends[r.headers.at("webhook-id")];
  for (const std::string& id : old_failed) {
    EXPECT_EQ(sends[id], 2) << id;
    ASSERT_OK_AND_ASSIGN(v1::Delivery d, GetDelivery("acme", id));
    EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_FAILED);
  }
  for (const std::string& id : succeeded) EXPECT_EQ(sends[id], 1) << id;
  EXPECT_EQ(sends[other_failed], 2);
  ASSERT_OK_AND_ASSIGN(v1::Delivery d, GetDelivery("acme", other_failed));
  EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_FAILED);

  // Without `since`, every delivery still FAILED is re-enqueued.
  ASSERT_OK_AND_ASSIGN(recovered, Recover(hook, std::nullopt));
  EXPECT_THAT(recovered, UnorderedElementsAreArray(old_failed));
  for (const std::string& id : old_failed) {
    WaitForStatus("acme", id, v1::DELIVERY_STATUS_SUCCEEDED, 3);
  }
  ASSERT_OK_AND_ASSIGN(recovered, Recover(hook, std::nullopt));
  EXPECT_THAT(recovered, IsEmpty());
}

// The defect: RecoverWebhook re-sent TestWebhook pings (webhook.test events the hook never
// subscribed to) beside its failed deliveries.
TEST_F(DeliveriesApiTest, RecoverLeavesTestPingsAlone) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 500};
                       }));
  v1::Webhook spec = HttpHook("acme", receiver->Url("/in"), {"order.*"});
  spec.mutable_retry_policy()->add_delays_ms(0);  // one retry at once, then FAILED
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(spec));
  StartWorker();
  v1::TestWebhookRequest test;
  test.set_tenant("acme");
  test.set_id(hook.id());
  ASSERT_OK_AND_ASSIGN(v1::TestWebhookResponse ping,
                       CallRpc(registry_->stub(), &Stub::TestWebhook, test, kAdminKey));
  EXPECT_EQ(ping.attempt().http_status(), 500);
  EXPECT_TRUE(WaitForStatus("acme", ping.delivery_id(), v1::DELIVERY_STATUS_FAILED, 1).test());
  const std::string real = PublishOne("acme", "order.created");
  EXPECT_FALSE(WaitForStatus("acme", real, v1::DELIVERY_STATUS_FAILED, 2).test());
  // Both are listed, the ping marked.
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Delivery> listed, ListAll(ByHook(hook)));
  ASSERT_THAT(listed, SizeIs(2));
  for (const v1::Delivery& d : listed) EXPECT_EQ(d.test(), d.id() == ping.delivery_id());

  receiver->SetHandler(nullptr);  // 200 from now on
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> recovered, Recover(hook, std::nullopt));
  EXPECT_THAT(recovered, ElementsAre(real));
  WaitForStatus("acme", real, v1::DELIVERY_STATUS_SUCCEEDED, 3);
  ASSERT_OK_AND_ASSIGN(v1::Delivery d, GetDelivery("acme", ping.delivery_id()));
  EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_FAILED);
  EXPECT_EQ(d.attempts_size(), 1);
  int ping_sends = 0;
  for (const ReceivedRequest& r : receiver->Requests()) {
    ping_sends += r.headers.at("webhook-id") == ping.delivery_id();
  }
  EXPECT_EQ(ping_sends, 1);
}

TEST_F(DeliveriesApiTest, RecoverOfAnUnknownHookIsNotFound) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  v1::Webhook unknown = hook;
  unknown.set_tenant("globex");
  EXPECT_THAT(Recover(unknown, std::nullopt), StatusIs(absl::StatusCode::kNotFound));
  unknown.set_id("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV");
  unknown.set_tenant("acme");
  EXPECT_THAT(Recover(unknown, std::nullopt), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace hookrelay::registry
