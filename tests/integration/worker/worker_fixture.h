// The worker test fixture: the delivery worker in-process against a real redis-server and
// real HTTP receivers. Hooks and events come from the registry library, as in production.
// Retry delays run on a SimulatedClock shared by the registry and the worker: a test
// advances it past a delay and watches the promoter move the retry, without sleeping.
#pragma once

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
#include "services/worker/worker.h"
#include "services/worker/worker_metrics.h"
#include "tests/support/http_receiver.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::worker {

using ::google::protobuf::util::TimeUtil;
using ::hookrelay::testing::HttpReceiver;
using ::hookrelay::testing::ReceivedRequest;
using ::hookrelay::testing::RedisServer;
using ::hookrelay::testing::Reply;
using ::hookrelay::testing::WaitFor;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(20);
constexpr char kTenant[] = "acme";

inline absl::Time ToTime(const google::protobuf::Timestamp& ts) {
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
    ASSERT_NO_FATAL_FAILURE(StartRegistry(0));
  }
  // The registry library publishing the tests' events; with `inline_event_bytes`, events for
  // one hook travel inside their task.
  void StartRegistry(size_t inline_event_bytes) {
    registry::RegistryOptions options;
    options.redis.url = redis_->url();
    options.limits.allow_http = true;
    options.inline_event_bytes = inline_event_bytes;
    ASSERT_OK_AND_ASSIGN(registry_, registry::Registry::Create(options, clock_));
  }

  void TearDown() override {
    for (auto& w : workers_) w->worker->Shutdown();
  }

  // The options the issue prescribes for tests, with short polling intervals.
  WorkerOptions Options() {
    WorkerOptions o;
    o.redis.url = redis_->url();
    o.consumer_name = absl::StrCat("test-worker-", workers_.size());
    o.allow_cidrs = {"127.0.0.0/8"};
    o.sender.allow_http = true;
    o.read_block = absl::Milliseconds(50);
    o.maintain.interval = absl::Milliseconds(20);
    o.maintain.gauge_interval = absl::ZeroDuration();
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
  // The stream, group and retry set of kTenant's shard.
  std::string Stream() const { return keys_.StreamOf(kTenant); }
  std::string RetrySet() const { return keys_.RetrySetOf(kTenant); }
  long long StreamLength() { return Integer({"XLEN", Stream()}); }
  long long PendingCount() {
    return Integer({"XPENDING", Stream(), std::string(store::KeySchema::kGroup)});
  }
  long long RetrySetSize() { return Integer({"ZCARD", RetrySet()}); }
  // Retries due at or after `t`.
  long long RetriesDueFrom(absl::Time t) {
    return Integer({"ZCOUNT", RetrySet(), std::to_string(absl::ToUnixMillis(t)), "+inf"});
  }
  void CreateGroup() {
    ASSERT_OK(redis_->Command(
        {"XGROUP", "CREATE", Stream(), std::string(store::KeySchema::kGroup), "0", "MKSTREAM"}));
  }
  // Reads every new entry as a consumer that then dies without acknowledging.
  void ReadAsDeadConsumer(int want) {
    auto reply = redis_->Command({"XREADGROUP", "GROUP", std::string(store::KeySchema::kGroup),
                                  "dead-consumer", "COUNT", "100", "STREAMS", Stream(), ">"});
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

}  // namespace hookrelay::worker
