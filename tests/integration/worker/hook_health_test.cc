// Hook health and isolation in the worker: endpoint health disables a hook that keeps
// failing (and tells its tenant), a dead endpoint cannot starve a healthy one, and hook
// change notifications never cancel deliveries in flight. Fixture: worker_fixture.h.

#include "tests/integration/worker/worker_fixture.h"

namespace hookrelay::worker {
namespace {

class EndpointHealthTest : public WorkerTest {};

TEST_F(EndpointHealthTest, HookWhoseDeliveriesKeepFailingIsDisabledAndItsTenantIsTold) {
  ASSERT_OK_AND_ASSIGN(
      auto dead, HttpReceiver::Start([](const ReceivedRequest&) { return Reply{.status = 503}; }));
  ASSERT_OK_AND_ASSIGN(auto ops, HttpReceiver::Start());
  v1::RetryPolicy once;
  once.add_delays_ms(1000);
  once.set_jitter_percent(0);
  const v1::Webhook hook = CreateHook(dead->Url("/dead"), once);
  v1::Webhook watcher;  // another hook of the tenant listens for webhook.disabled
  watcher.set_tenant(kTenant);
  watcher.set_url(ops->Url("/ops"));
  watcher.add_event_types("webhook.disabled");
  ASSERT_OK(registry_->CreateWebhook(watcher).status());
  WorkerOptions options = Options();
  options.health.disable_after_failures = 2;
  StartWorker(options);

  for (int i = 0; i < 2; ++i) {
    const std::string id = Publish();
    WaitForStatus(id, v1::DELIVERY_STATUS_RETRY_SCHEDULED, 1);
    clock_.Advance(absl::Seconds(2));
    WaitForStatus(id, v1::DELIVERY_STATUS_FAILED, 2);
    if (i == 0) {
      ASSERT_OK_AND_ASSIGN(v1::Webhook still, registry_->GetWebhook(kTenant, hook.id()));
      EXPECT_TRUE(still.enabled()) << "one failed delivery is not enough";
    }
  }
  v1::Webhook disabled;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto h = registry_->GetWebhook(kTenant, hook.id());
        if (h.ok()) disabled = *h;
        return h.ok() && !h->enabled();
      },
      kWait));
  EXPECT_THAT(disabled.disabled_reason(), HasSubstr("2 consecutive deliveries failed"));
  ASSERT_TRUE(ops->WaitForRequests(1, kWait));
  const ReceivedRequest told = ops->Requests()[0];
  EXPECT_THAT(told.body, HasSubstr(R"("type":"webhook.disabled")"));
  EXPECT_THAT(told.body, HasSubstr(absl::StrCat(R"("webhook_id":")", hook.id(), "\"")));
  EXPECT_THAT(told.body, HasSubstr("consecutive deliveries failed"));
  // New events no longer go to the disabled hook.
  v1::PublishEventRequest req;
  req.set_tenant(kTenant);
  req.set_type("order.created");
  req.set_payload("{}");
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse after, registry_->PublishEvent(req));
  EXPECT_EQ(after.delivery_ids_size(), 0);
}

TEST_F(EndpointHealthTest, ASuccessResetsTheFailureCount) {
  std::atomic<int> calls{0};
  ASSERT_OK_AND_ASSIGN(auto flaky, HttpReceiver::Start([&](const ReceivedRequest&) {
                         // Fails the first delivery's 2 attempts, then succeeds once, then fails.
                         const int n = calls++;
                         return Reply{.status = n == 2 ? 200 : 503};
                       }));
  v1::RetryPolicy once;
  once.add_delays_ms(1000);
  once.set_jitter_percent(0);
  const v1::Webhook hook = CreateHook(flaky->Url("/f"), once);
  WorkerOptions options = Options();
  options.health.disable_after_failures = 2;
  StartWorker(options);
  const std::string first = Publish();
  WaitForStatus(first, v1::DELIVERY_STATUS_RETRY_SCHEDULED, 1);
  clock_.Advance(absl::Seconds(2));
  WaitForStatus(first, v1::DELIVERY_STATUS_FAILED, 2);
  WaitForStatus(Publish(), v1::DELIVERY_STATUS_SUCCEEDED, 1);
  const std::string third = Publish();
  WaitForStatus(third, v1::DELIVERY_STATUS_RETRY_SCHEDULED, 1);
  clock_.Advance(absl::Seconds(2));
  WaitForStatus(third, v1::DELIVERY_STATUS_FAILED, 2);
  ASSERT_OK_AND_ASSIGN(v1::Webhook h, registry_->GetWebhook(kTenant, hook.id()));
  EXPECT_TRUE(h.enabled()) << "two failures with a success between are not consecutive";
}

}  // namespace
}  // namespace hookrelay::worker

namespace hookrelay::worker {
namespace {

// One endpoint that never answers may not starve another: the per-hook cap keeps most slots
// free, and the rest of the dead hook's tasks are put off instead of holding slots.
TEST_F(WorkerTest, DeadEndpointDoesNotSlowDeliveriesToAHealthyOne) {
  ASSERT_OK_AND_ASSIGN(auto dead, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kHang};
                       }));
  ASSERT_OK_AND_ASSIGN(auto healthy, HttpReceiver::Start());
  v1::Webhook dead_hook;
  dead_hook.set_tenant(kTenant);
  dead_hook.set_url(dead->Url("/dead"));
  dead_hook.add_event_types("dead.*");
  dead_hook.set_timeout_ms(5000);
  ASSERT_OK(registry_->CreateWebhook(dead_hook).status());
  CreateHook(healthy->Url("/ok"));
  WorkerOptions options = Options();
  options.max_in_flight = 64;
  options.dispatch.slots.per_hook = 16;
  StartWorker(options);

  auto publish = [&](const std::string& type, int n) {
    v1::PublishEventsRequest batch;
    for (int i = 0; i < n; ++i) {
      v1::PublishEventRequest* e = batch.add_events();
      e->set_tenant(kTenant);
      e->set_type(type);
      e->set_payload("{}");
    }
    ASSERT_OK(registry_->PublishEvents(batch).status());
  };
  publish("dead.ping", 300);  // far more than max_in_flight, all hanging for 5 s
  ASSERT_TRUE(dead->WaitForRequests(16, kWait));
  const absl::Time start = absl::Now();
  publish("order.created", 300);
  ASSERT_TRUE(healthy->WaitForRequests(300, kWait))
      << healthy->RequestCount() << " healthy, " << dead->RequestCount() << " dead; stream "
      << StreamLength() << ", retry set " << RetrySetSize() << ", pending " << PendingCount();
  const absl::Duration took = absl::Now() - start;
  std::cout << "300 healthy deliveries beside a dead endpoint took " << took << "\n";
  // Without isolation they would queue behind 5 s timeouts; with it they take well under.
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_LE(dead->RequestCount(), 16u) << "the dead hook exceeded its in-flight cap";
}

// Hook-change notifications empty the worker's hook cache at any moment; a delivery whose
// hook the worker just fetched must still go out, not be cancelled as "hook gone".
TEST_F(WorkerTest, HookChangeNotificationsDuringDeliveryCancelNothing) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  CreateHook(receiver->Url("/in"));
  std::atomic<bool> stop{false};
  std::thread storm([&] {
    const std::string channel = store::KeySchema().HooksChangedChannel();
    while (!stop) (void)redis_->Command({"PUBLISH", channel, kTenant});
  });
  StartWorker();
  std::vector<std::string> ids;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 20; ++i) ids.push_back(Publish());
    absl::SleepFor(absl::Milliseconds(10));
  }
  const bool all_sent = receiver->WaitForRequests(ids.size(), kWait);
  stop = true;
  storm.join();
  ASSERT_TRUE(all_sent) << receiver->RequestCount() << " of " << ids.size()
                        << " sent; the first delivery's status: "
                        << v1::DeliveryStatus_Name(GetDelivery(ids[0]).status());
  for (const std::string& id : ids) WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 1);
}

}  // namespace
}  // namespace hookrelay::worker
