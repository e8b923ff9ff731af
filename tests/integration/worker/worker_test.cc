// The delivery worker in-process against a real redis-server and real HTTP receivers. Hooks
// and events come from the registry library, as in production. Retry delays run on a
// SimulatedClock shared by the registry and the worker: a test advances it past a delay and
// watches the promoter move the retry, without sleeping.

#include "services/worker/worker.h"

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/registry.pb.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/core/clock.h"
#include "libs/signing/standard_signer.h"
#include "libs/store/keys.h"
#include "prometheus/registry.h"
#include "services/registry/registry.h"
#include "services/worker/worker_metrics.h"
#include "tests/support/http_receiver.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::worker {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::hookrelay::testing::HttpReceiver;
using ::hookrelay::testing::ReceivedRequest;
using ::hookrelay::testing::RedisServer;
using ::hookrelay::testing::Reply;
using ::hookrelay::testing::WaitFor;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(20);
constexpr char kTenant[] = "acme";

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(ts));
}

// A worker with its own metrics; the worker goes before the metrics it points to.
struct TestWorker {
  prometheus::Registry registry;
  WorkerMetrics metrics{registry};
  std::unique_ptr<Worker> worker;
};

class WorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }

  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    registry::RegistryOptions options;
    options.redis_url = redis_->url();
    options.limits.allow_http = true;
    ASSERT_OK_AND_ASSIGN(registry_, registry::Registry::Create(options, clock_));
  }

  void TearDown() override {
    for (auto& w : workers_) w->worker->Shutdown();
  }

  // The options the issue prescribes for tests, with short polling intervals.
  WorkerOptions Options() {
    WorkerOptions o;
    o.redis_url = redis_->url();
    o.consumer_name = absl::StrCat("test-worker-", workers_.size());
    o.allow_cidrs = {"127.0.0.0/8"};
    o.allow_http = true;
    o.read_block = absl::Milliseconds(50);
    o.maintenance_interval = absl::Milliseconds(20);
    return o;
  }

  TestWorker& StartWorker(WorkerOptions options) {
    auto w = std::make_unique<TestWorker>();
    auto created = Worker::Create(std::move(options), clock_, w->metrics);
    EXPECT_TRUE(created.ok()) << created.status();
    if (created.ok()) {
      w->worker = *std::move(created);
      absl::Status started = w->worker->Start();
      EXPECT_TRUE(started.ok()) << started;
    }
    workers_.push_back(std::move(w));
    return *workers_.back();
  }
  TestWorker& StartWorker() { return StartWorker(Options()); }

  v1::Webhook CreateHook(const std::string& url, v1::RetryPolicy policy = {}, int timeout_ms = 0) {
    v1::Webhook hook;
    hook.set_timeout_ms(timeout_ms);
    hook.set_tenant(kTenant);
    hook.set_url(url);
    hook.add_event_types("order.*");
    *hook.mutable_retry_policy() = std::move(policy);
    auto created = registry_->CreateWebhook(hook);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::Webhook();
  }

  // Publishes an order.created event matching one hook; returns its delivery id.
  std::string Publish(const std::string& payload = R"({"order":42})") {
    v1::PublishEventRequest req;
    req.set_tenant(kTenant);
    req.set_type("order.created");
    req.set_payload(payload);
    *req.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(1704164645678);
    auto published = registry_->PublishEvent(req);
    EXPECT_TRUE(published.ok()) << published.status();
    if (!published.ok() || published->delivery_ids_size() != 1) {
      ADD_FAILURE() << "want one delivery";
      return "";
    }
    event_id_ = published->event_id();
    return published->delivery_ids(0);
  }

  v1::Delivery GetDelivery(const std::string& id) {
    auto d = registry_->GetDelivery(kTenant, id);
    return d.ok() ? *d : v1::Delivery();
  }

  // Waits until the delivery has `status` (and, when given, `attempts` attempts recorded).
  v1::Delivery WaitForStatus(const std::string& id, v1::DeliveryStatus status, int attempts = -1) {
    v1::Delivery d;
    const bool reached = WaitFor(
        [&] {
          d = GetDelivery(id);
          return d.status() == status && (attempts < 0 || d.attempts_size() == attempts);
        },
        kWait, absl::Milliseconds(10));
    EXPECT_TRUE(reached) << "delivery " << id << " wanted " << v1::DeliveryStatus_Name(status)
                         << " with " << attempts << " attempts, is " << d.DebugString();
    return d;
  }

  // Waits until the maintainer of `w` has finished two passes that began after this call,
  // so a promotion due at the clock's current time has been done if it was going to be.
  static void WaitForMaintenancePasses(TestWorker& w) {
    for (int i = 0; i < 2; ++i) {
      w.metrics.retry_set_size.Set(-1);
      ASSERT_TRUE(WaitFor([&] { return w.metrics.retry_set_size.Value() >= 0; }, kWait));
    }
  }

  static long long Integer(const std::vector<std::string>& command) {
    auto reply = redis_->Command(command);
    EXPECT_TRUE(reply.ok()) << reply.status();
    long long n = -1;
    if (reply.ok()) {
      const std::string first = std::vector<std::string>(absl::StrSplit(*reply, '\n'))[0];
      EXPECT_TRUE(absl::SimpleAtoi(first, &n)) << *reply;
    }
    return n;
  }
  long long StreamLength() { return Integer({"XLEN", keys_.Stream()}); }
  long long PendingCount() {
    return Integer({"XPENDING", keys_.Stream(), std::string(store::KeySchema::kGroup)});
  }
  long long RetrySetSize() { return Integer({"ZCARD", keys_.RetrySet()}); }
  // Retries due at or after `t`.
  long long RetriesDueFrom(absl::Time t) {
    return Integer({"ZCOUNT", keys_.RetrySet(), std::to_string(absl::ToUnixMillis(t)), "+inf"});
  }
  void CreateGroup() {
    ASSERT_OK(redis_->Command({"XGROUP", "CREATE", keys_.Stream(),
                               std::string(store::KeySchema::kGroup), "0", "MKSTREAM"}));
  }
  // Reads every new entry as a consumer that then dies without acknowledging.
  void ReadAsDeadConsumer(int want) {
    auto reply = redis_->Command({"XREADGROUP", "GROUP", std::string(store::KeySchema::kGroup),
                                  "dead-consumer", "COUNT", "100", "STREAMS", keys_.Stream(), ">"});
    ASSERT_OK(reply);
    ASSERT_EQ(PendingCount(), want);
  }

  inline static std::unique_ptr<RedisServer> redis_;
  core::SimulatedClock clock_;
  const store::KeySchema keys_;
  std::unique_ptr<registry::Registry> registry_;
  std::string event_id_;
  std::vector<std::unique_ptr<TestWorker>> workers_;
};

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

TEST_F(WorkerTest, RetriesAfterServerErrorOnceTheDelayHasPassed) {
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

  // Not due yet: the task stays in the retry set.
  clock_.Advance(absl::Milliseconds(3900));
  WaitForMaintenancePasses(w);
  EXPECT_EQ(RetrySetSize(), 1);
  EXPECT_EQ(receiver->RequestCount(), 1u);

  clock_.Advance(absl::Milliseconds(2101));  // 6.001 s after the first attempt
  const v1::Delivery d = WaitForStatus(id, v1::DELIVERY_STATUS_SUCCEEDED, 2);
  EXPECT_EQ(d.attempt_count(), 2);
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
  // Past the retry delay and the worker's hook cache TTL (5 s on the same clock).
  clock_.Advance(absl::Seconds(7));

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
  options.visibility_timeout = absl::Seconds(1);
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
  options.visibility_timeout = absl::Seconds(1);
  options.max_reclaims = 0;
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
  options.disable_after_failures = 2;
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
  options.disable_after_failures = 2;
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
  options.max_in_flight_per_hook = 16;
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
      << redis_->Command({"XLEN", "hookrelay:stream"}).value_or("?") << ", retry set "
      << redis_->Command({"ZCARD", "hookrelay:retry"}).value_or("?") << ", pending "
      << redis_->Command({"XPENDING", "hookrelay:stream", "workers"}).value_or("?");
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
