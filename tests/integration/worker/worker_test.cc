// The delivery worker in-process: delivery, signing, retries and their schedules, failure
// classes, reclaim of entries left by dead consumers, shutdown hand-back, trimming, and
// recording at low rates.
// The fixture (a real redis-server, the registry library, a SimulatedClock) is in
// worker_fixture.h.

#include "tests/integration/worker/worker_fixture.h"

namespace hookrelay::worker {
namespace {

using ::hookrelay::testing::IsOkAndHolds;

TEST_F(WorkerTest, DeliversSignedEnvelopeOnce) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 200, .body = "thanks"};
                       }));
  const v1::Webhook hook = CreateHook(receiver->Url("/hook"));
  const std::string id = Publish();
  TestWorker& w = StartWorker();

  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 1);

  ASSERT_EQ(receiver->RequestCount(), 1u);
  const ReceivedRequest r = receiver->Requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/hook");
  EXPECT_EQ(r.body,
            absl::StrCat(R"({"id":")", event_id_,
                         R"(","type":"order.created","timestamp":"2024-01-02T03:04:05.678Z",)"
                         R"("tenant":"acme","data":{"order":42}})"));
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("user-agent"), "hookrelay/0.1");
  EXPECT_EQ(r.headers.at("webhook-id"), id);
  const std::string ts = r.headers.at("webhook-timestamp");
  EXPECT_EQ(ts, std::to_string(absl::ToUnixSeconds(clock_.Now())));
  int64_t ts_seconds = 0;
  ASSERT_TRUE(absl::SimpleAtoi(ts, &ts_seconds));
  ASSERT_OK_AND_ASSIGN(auto signer, signing::StandardSigner::Create(hook.signing().secret()));
  EXPECT_EQ(r.headers.at("webhook-signature"),
            signer.Sign(id, absl::FromUnixSeconds(ts_seconds), r.body));

  ASSERT_EQ(d.attempts_size(), 1);
  EXPECT_EQ(d.attempts(0).number(), 1);
  EXPECT_EQ(d.attempts(0).http_status(), 200);
  EXPECT_EQ(d.attempts(0).error_class(), v1::ERROR_CLASS_UNSPECIFIED);
  EXPECT_EQ(d.attempts(0).response_body(), "thanks");
  EXPECT_EQ(d.attempts(0).worker(), "test-worker-0");
  // Acknowledged, nothing left to retry.
  EXPECT_TRUE(WaitFor([&] { return PendingCount() == 0; }, kWait));
  EXPECT_EQ(RetrySetSize(), 0);
  // Metrics are counted right after the records are written.
  EXPECT_TRUE(WaitFor([&] { return w.metrics.succeeded.Value() == 1; }, kWait));
}

TEST_F(WorkerTest, OneBatchMixingTenantsFetchesAndDeliversEachTenantsOwn) {
  ASSERT_OK_AND_ASSIGN(
      auto acme, HttpReceiver::Start([](const ReceivedRequest&) { return Reply{.status = 204}; }));
  ASSERT_OK_AND_ASSIGN(auto globex, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 204};
                       }));
  // Published before the worker starts, so that one stream read holds both tenants' tasks.
  std::vector<std::pair<std::string, std::string>> deliveries;  // tenant, delivery id
  for (const auto& [tenant, receiver] :
       {std::pair{kTenant, acme.get()}, {"globex", globex.get()}}) {
    v1::Webhook hook;
    hook.set_tenant(tenant);
    hook.set_url(receiver->Url("/hook"));
    hook.add_event_types("order.*");
    ASSERT_OK(registry_->CreateWebhook(hook).status());
    for (int i = 0; i < 5; ++i) {
      v1::PublishEventRequest req;
      req.set_tenant(tenant);
      req.set_type("order.created");
      req.set_payload(absl::StrCat(R"({"n":)", i, "}"));
      ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse out, registry_->PublishEvent(req));
      ASSERT_EQ(out.delivery_ids_size(), 1);
      deliveries.emplace_back(tenant, out.delivery_ids(0));
    }
  }
  StartWorker();

  for (const auto& [tenant, id] : deliveries) {
    EXPECT_TRUE(WaitFor(
        [&, &tenant = tenant, &id = id] {
          auto d = registry_->GetDelivery(tenant, id);
          return d.ok() && d->status() == v1::DELIVERY_STATUS_SUCCEEDED;
        },
        kWait))
        << tenant << " " << id;
  }
  ASSERT_EQ(acme->RequestCount(), 5u);
  ASSERT_EQ(globex->RequestCount(), 5u);
  for (const ReceivedRequest& r : acme->Requests()) {
    EXPECT_THAT(r.body, HasSubstr(R"("tenant":"acme")"));
  }
  for (const ReceivedRequest& r : globex->Requests()) {
    EXPECT_THAT(r.body, HasSubstr(R"("tenant":"globex")"));
  }
}
// At low rates the recorder waits record_linger for company: a few requests finishing
// close together are recorded and acknowledged in one transaction (one XACK), not one each.
TEST_F(WorkerTest, FewRequestsFinishingTogetherAreRecordedInOneTransaction) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 204};
                       }));
  CreateHook(receiver->Url("/hook"));
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(Publish());  // before the worker: one stream read
  ASSERT_OK(redis_->Command({"CONFIG", "RESETSTAT"}).status());
  WorkerOptions options = Options();
  options.record_linger = absl::Milliseconds(300);
  StartWorker(options);

  for (const std::string& id : ids) WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 1);
  EXPECT_EQ(receiver->RequestCount(), 8u);
  EXPECT_TRUE(WaitFor([&] { return PendingCount() == 0; }, kWait));
  EXPECT_THAT(redis_->Command({"INFO", "commandstats"}),
              IsOkAndHolds(HasSubstr("cmdstat_xack:calls=1,")));
}

// With --inline_event_bytes, an event for one hook travels in its task (see Publisher): the
// worker delivers it without reading the stored event, here gone before the worker starts.
TEST_F(WorkerTest, OneHooksEventTravelsInItsTaskAndIsNotReadBack) {
  StartRegistry(queue::Publisher::kDefaultInlineEventBytes);
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 204};
                       }));
  CreateHook(receiver->Url("/hook"));
  const std::string id = Publish(R"({"order":7})");
  ASSERT_OK(redis_->Command({"DEL", keys_.Event(kTenant, event_id_)}).status());
  StartWorker();

  WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 1);
  ASSERT_EQ(receiver->RequestCount(), 1u);
  EXPECT_THAT(receiver->Requests()[0].body, HasSubstr(R"("data":{"order":7})"));
}

// A fan-out event's tasks name the stored event: one batch reads it once, together with the
// hooks, in one MGET, and every hook gets it.
TEST_F(WorkerTest, FanOutEventIsReadOnceForAllItsHooks) {
  ASSERT_OK_AND_ASSIGN(
      auto first, HttpReceiver::Start([](const ReceivedRequest&) { return Reply{.status = 204}; }));
  ASSERT_OK_AND_ASSIGN(auto second, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 204};
                       }));
  CreateHook(first->Url("/hook"));
  CreateHook(second->Url("/hook"));
  v1::PublishEventRequest req;
  req.set_tenant(kTenant);
  req.set_type("order.created");
  req.set_payload(R"({"order":8})");
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse out, registry_->PublishEvent(req));
  ASSERT_EQ(out.delivery_ids_size(), 2);
  ASSERT_OK(redis_->Command({"CONFIG", "RESETSTAT"}).status());
  StartWorker();

  for (const std::string& id : out.delivery_ids()) {
    WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 1);
  }
  for (HttpReceiver* r : {first.get(), second.get()}) {
    ASSERT_EQ(r->RequestCount(), 1u);
    EXPECT_THAT(r->Requests()[0].body, HasSubstr(R"("data":{"order":8})"));
  }
  EXPECT_THAT(redis_->Command({"INFO", "commandstats"}),
              IsOkAndHolds(HasSubstr("cmdstat_mget:calls=1,")));
}

TEST_F(WorkerTest, RetriesAfterServerErrorOnceTheDelayHasPassed) {
  StartRegistry(queue::Publisher::kDefaultInlineEventBytes);  // the first attempt's task carries
                                                              // the event; the retry's not
  std::atomic<int> calls{0};
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&calls](const ReceivedRequest&) {
                         return Reply{.status = calls.fetch_add(1) == 0 ? 500 : 200};
                       }));
  CreateHook(receiver->Url());
  const std::string id = Publish();
  TestWorker& w = StartWorker();

  const absl::Time first = clock_.Now();
  const v1::Delivery scheduled = WaitForStatus(id, v1::DELIVERY_STATUS_RETRY_SCHEDULED, 1);
  // Default schedule: 5 s ± 20 %.
  EXPECT_GE(ToTime(scheduled.next_attempt_time()), first + absl::Seconds(4));
  EXPECT_LE(ToTime(scheduled.next_attempt_time()), first + absl::Seconds(6));
  EXPECT_EQ(scheduled.last_error_class(), v1::ERROR_CLASS_HTTP_5XX);

  // Not due yet: the task stays in the retry set, without the event the first attempt's
  // task carried (the retry reads the stored one).
  clock_.Advance(absl::Milliseconds(3900));
  WaitForMaintenancePasses(w);
  EXPECT_EQ(RetrySetSize(), 1);
  ASSERT_OK_AND_ASSIGN(std::string retry, redis_->Command({"ZRANGE", RetrySet(), "0", "0"}));
  v1::DeliveryTask next;
  ASSERT_TRUE(next.ParseFromString(retry));
  EXPECT_EQ(next.attempt(), 2);
  EXPECT_FALSE(next.has_event());
  EXPECT_EQ(receiver->RequestCount(), 1u);

  clock_.Advance(absl::Milliseconds(2101));  // 6.001 s after the first attempt
  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 2);
  EXPECT_EQ(d.attempt_count(), 2);
  ASSERT_EQ(d.attempts_size(), 2);
  EXPECT_EQ(d.attempts(0).http_status(), 500);
  EXPECT_EQ(d.attempts(0).error_class(), v1::ERROR_CLASS_HTTP_5XX);
  EXPECT_EQ(d.attempts(1).http_status(), 200);
  EXPECT_EQ(d.attempts(1).number(), 2);
  ASSERT_EQ(receiver->RequestCount(), 2u);
  const auto requests = receiver->Requests();
  EXPECT_EQ(requests[0].headers.at("webhook-id"), requests[1].headers.at("webhook-id"));
  EXPECT_EQ(requests[1].headers.at("webhook-timestamp"),
            std::to_string(absl::ToUnixSeconds(first + absl::Seconds(6))));
  EXPECT_EQ(RetrySetSize(), 0);
  EXPECT_TRUE(WaitFor([&] { return w.metrics.retries_scheduled.Value() == 1; }, kWait));
}

TEST_F(WorkerTest, TimeoutIsRecordedAndRetried) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kHang};
                       }));
  CreateHook(receiver->Url(), {}, /*timeout_ms=*/300);
  const std::string id = Publish();
  StartWorker();

  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_RETRY_SCHEDULED, 1);
  EXPECT_EQ(d.attempts(0).error_class(), v1::ERROR_CLASS_TIMEOUT);
  EXPECT_EQ(d.attempts(0).http_status(), 0);
  EXPECT_GE(d.attempts(0).duration_us(), 250000);
  EXPECT_LT(d.attempts(0).duration_us(), 5000000);
  EXPECT_EQ(RetrySetSize(), 1);
}

TEST_F(WorkerTest, ResetConnectionIsRecordedAndRetried) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kReset};
                       }));
  CreateHook(receiver->Url());
  const std::string id = Publish();
  StartWorker();

  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_RETRY_SCHEDULED, 1);
  EXPECT_EQ(d.attempts(0).error_class(), v1::ERROR_CLASS_CONNECT);
  EXPECT_FALSE(d.attempts(0).error().empty());
  EXPECT_EQ(RetrySetSize(), 1);
}

TEST_F(WorkerTest, GoneFailsWithoutRetryAndDisablesTheHook) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 410, .headers = {{"Retry-After", "1"}}};
                       }));
  const v1::Webhook hook = CreateHook(receiver->Url());
  const std::string id = Publish();
  TestWorker& w = StartWorker();

  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_FAILED, 1);
  EXPECT_EQ(d.attempts(0).http_status(), 410);
  EXPECT_EQ(d.attempts(0).error_class(), v1::ERROR_CLASS_HTTP_4XX);
  EXPECT_EQ(RetrySetSize(), 0);

  ASSERT_TRUE(WaitFor([&] { return w.metrics.hooks_disabled.Value() == 1; }, kWait));
  ASSERT_OK_AND_ASSIGN(auto stored, registry_->GetWebhook(kTenant, hook.id()));
  EXPECT_FALSE(stored.enabled());
  EXPECT_THAT(stored.disabled_reason(), HasSubstr("410"));
  // The registry no longer fans events out to it.
  v1::PublishEventRequest again;
  again.set_tenant(kTenant);
  again.set_type("order.created");
  again.set_payload("{}");
  ASSERT_OK_AND_ASSIGN(auto published, registry_->PublishEvent(again));
  EXPECT_EQ(published.delivery_ids_size(), 0);

  clock_.Advance(absl::Hours(24));
  WaitForMaintenancePasses(w);
  EXPECT_EQ(receiver->RequestCount(), 1u);
}

TEST_F(WorkerTest, SsrfGuardBlocksLoopbackAndDoesNotRetry) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  CreateHook(receiver->Url());
  const std::string id = Publish();
  WorkerOptions options = Options();
  options.allow_cidrs.clear();
  TestWorker& w = StartWorker(options);

  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_FAILED, 1);
  EXPECT_EQ(d.attempts(0).error_class(), v1::ERROR_CLASS_BLOCKED);
  EXPECT_EQ(d.attempts(0).http_status(), 0);
  EXPECT_THAT(d.attempts(0).error(), HasSubstr("SSRF"));
  EXPECT_EQ(d.last_error_class(), v1::ERROR_CLASS_BLOCKED);
  EXPECT_EQ(RetrySetSize(), 0);
  EXPECT_EQ(receiver->RequestCount(), 0u);
  EXPECT_TRUE(WaitFor([&] { return w.metrics.dead.Value() == 1; }, kWait));
}

TEST_F(WorkerTest, CustomPolicyFailsAfterFourAttempts) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 500};
                       }));
  v1::RetryPolicy miniback;
  for (int64_t ms : {1000, 5000, 15000}) miniback.add_delays_ms(ms);
  miniback.set_jitter_percent(0);
  CreateHook(receiver->Url(), miniback);
  const std::string id = Publish();
  StartWorker();

  std::vector<absl::Time> starts = {clock_.Now()};
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_RETRY_SCHEDULED, attempt);
    EXPECT_EQ(ToTime(d.next_attempt_time()),
              starts.back() + absl::Milliseconds(miniback.delays_ms(attempt - 1)));
    clock_.Advance(absl::Milliseconds(miniback.delays_ms(attempt - 1)));
    starts.push_back(clock_.Now());
  }
  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_FAILED, 4);
  EXPECT_EQ(d.attempt_count(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(d.attempts(i).number(), i + 1);
    EXPECT_EQ(d.attempts(i).http_status(), 500);
    EXPECT_EQ(ToTime(d.attempts(i).start_time()), starts[i]);
  }
  EXPECT_EQ(RetrySetSize(), 0);
  EXPECT_EQ(receiver->RequestCount(), 4u);
}

TEST_F(WorkerTest, RetryAfterPushesTheNextAttempt) {
  std::atomic<int> calls{0};
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&calls](const ReceivedRequest&) {
                         if (calls.fetch_add(1) > 0) return Reply{.status = 204};
                         return Reply{.status = 503, .headers = {{"Retry-After", "120"}}};
                       }));
  CreateHook(receiver->Url());
  const std::string id = Publish();
  TestWorker& w = StartWorker();

  const absl::Time first = clock_.Now();
  const v1::Delivery scheduled = WaitForStatus(id, v1::DELIVERY_STATUS_RETRY_SCHEDULED, 1);
  EXPECT_EQ(ToTime(scheduled.next_attempt_time()), first + absl::Seconds(120));
  EXPECT_EQ(RetriesDueFrom(first + absl::Seconds(120)), 1);

  // Well past the 5 s (± 20 %) schedule, short of Retry-After: nothing happens.
  clock_.Advance(absl::Seconds(119));
  WaitForMaintenancePasses(w);
  EXPECT_EQ(RetrySetSize(), 1);
  EXPECT_EQ(receiver->RequestCount(), 1u);

  clock_.Advance(absl::Seconds(1));
  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 2);
  ASSERT_EQ(d.attempts_size(), 2);
  EXPECT_EQ(ToTime(d.attempts(1).start_time()), first + absl::Seconds(120));
  EXPECT_EQ(d.attempts(1).http_status(), 204);
}

TEST_F(WorkerTest, DeletedHookCancelsItsDelivery) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  const v1::Webhook hook = CreateHook(receiver->Url());
  const std::string id = Publish();
  ASSERT_OK(registry_->DeleteWebhook(kTenant, hook.id()));
  StartWorker();

  WaitForStatus(id, v1::DELIVERY_STATUS_CANCELLED, 0);
  EXPECT_TRUE(WaitFor([&] { return PendingCount() == 0; }, kWait));
  EXPECT_EQ(receiver->RequestCount(), 0u);
}

TEST_F(WorkerTest, HookDeletedBeforeItsRetryCancelsTheRetry) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 500};
                       }));
  const v1::Webhook hook = CreateHook(receiver->Url());
  const std::string id = Publish();
  StartWorker();
  WaitForStatus(id, v1::DELIVERY_STATUS_RETRY_SCHEDULED, 1);

  ASSERT_OK(registry_->DeleteWebhook(kTenant, hook.id()));
  // Past the retry delay and the worker's hook cache TTL (on the same clock): the retry is
  // cancelled even when the deletion's pub/sub message has not reached the worker yet (on a
  // cluster it crosses the cluster bus, and may come after the retry's promotion).
  clock_.Advance(DispatcherOptions().hook_cache_ttl + absl::Seconds(1));

  WaitForStatus(id, v1::DELIVERY_STATUS_CANCELLED, 1);
  EXPECT_EQ(RetrySetSize(), 0);
  EXPECT_EQ(receiver->RequestCount(), 1u);
}

TEST_F(WorkerTest, ReclaimsEntryLeftPendingByADeadConsumer) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  CreateHook(receiver->Url());
  CreateGroup();
  const std::string id = Publish();
  ReadAsDeadConsumer(1);
  WorkerOptions options = Options();
  options.maintain.visibility_timeout = absl::Seconds(1);
  TestWorker& w = StartWorker(options);

  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 1);
  EXPECT_EQ(d.attempts(0).worker(), "test-worker-0");
  EXPECT_EQ(receiver->RequestCount(), 1u);
  EXPECT_TRUE(WaitFor([&] { return PendingCount() == 0; }, kWait));
  EXPECT_EQ(w.metrics.reclaimed.Value(), 1);
}

TEST_F(WorkerTest, EntryReclaimedTooOftenFailsWithAReason) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  CreateHook(receiver->Url());
  CreateGroup();
  const std::string id = Publish();
  ReadAsDeadConsumer(1);
  WorkerOptions options = Options();
  options.maintain.visibility_timeout = absl::Seconds(1);
  options.dispatch.max_reclaims = 0;
  StartWorker(options);

  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_FAILED, 1);
  EXPECT_THAT(d.attempts(0).error(), HasSubstr("handed out 2 times"));
  EXPECT_EQ(receiver->RequestCount(), 0u);
  EXPECT_TRUE(WaitFor([&] { return PendingCount() == 0; }, kWait));
}

TEST_F(WorkerTest, ShutdownHandsBackHangingTaskAndAnotherWorkerDeliversIt) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kHang};
                       }));
  CreateHook(receiver->Url());
  const std::string id = Publish();
  ASSERT_EQ(StreamLength(), 1);
  WorkerOptions options = Options();
  options.drain_timeout = absl::Milliseconds(200);
  TestWorker& first = StartWorker(options);
  ASSERT_TRUE(receiver->WaitForRequests(1, kWait));

  const absl::Time start = absl::Now();
  first.worker->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  // Handed back as a new entry, the old one acknowledged, no attempt recorded.
  EXPECT_EQ(StreamLength(), 2);
  EXPECT_EQ(PendingCount(), 0);
  const v1::Delivery pending = GetDelivery(id);
  EXPECT_EQ(pending.status(), v1::DELIVERY_STATUS_PENDING);
  EXPECT_EQ(pending.attempts_size(), 0);

  receiver->SetHandler([](const ReceivedRequest&) { return Reply{.status = 200}; });
  StartWorker();
  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 1);
  EXPECT_EQ(d.attempts(0).number(), 1);
  EXPECT_EQ(d.attempts(0).worker(), "test-worker-1");
  ASSERT_EQ(receiver->RequestCount(), 2u);
  EXPECT_EQ(receiver->Requests()[1].headers.at("webhook-id"), id);
}

TEST_F(WorkerTest, TrimsAcknowledgedEntries) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  CreateHook(receiver->Url());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Publish());
  ASSERT_EQ(StreamLength(), 5);
  StartWorker();
  for (const std::string& id : ids) WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 1);
  ASSERT_TRUE(WaitFor([&] { return PendingCount() == 0; }, kWait));

  clock_.Advance(absl::Seconds(6));  // the trim interval, on the worker's clock
  // Everything below the last entry handed out goes.
  EXPECT_TRUE(WaitFor([&] { return StreamLength() == 1; }, kWait)) << StreamLength();
}

TEST_F(WorkerTest, TrimKeepsEntriesStillPending) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  CreateHook(receiver->Url());
  CreateGroup();
  Publish();
  ReadAsDeadConsumer(1);  // visibility timeout 60 s: not reclaimed during this test
  const std::string b = Publish();
  const std::string c = Publish();
  TestWorker& w = StartWorker();
  WaitForStatus(b, v1::DELIVERY_STATUS_SUCCEEDED, 1);
  WaitForStatus(c, v1::DELIVERY_STATUS_SUCCEEDED, 1);

  clock_.Advance(absl::Seconds(6));
  WaitForMaintenancePasses(w);
  EXPECT_EQ(StreamLength(), 3);
  EXPECT_EQ(PendingCount(), 1);
}

}  // namespace
}  // namespace hookrelay::worker
