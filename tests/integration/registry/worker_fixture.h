#pragma once

// RegistryTest with plain-http hook URLs allowed and in-process delivery workers on the real
// clock (TestWebhook waits on real time), sending to HttpReceivers on 127.0.0.1.
//
//   TEST_F(RegistryWorkerTest, X) {
//     ASSERT_OK_AND_ASSIGN(auto receiver, testing::HttpReceiver::Start());
//     ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(HttpHook("acme", receiver->Url())));
//     StartWorker();
//     ...
//   }

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/registry.grpc.pb.h"
#include "libs/core/clock.h"
#include "prometheus/registry.h"
#include "services/worker/worker.h"
#include "services/worker/worker_metrics.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::registry {

class RegistryWorkerTest : public RegistryTest {
 protected:
  static constexpr absl::Duration kWait = absl::Seconds(20);

  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    registry_.reset();
    ASSERT_OK_AND_ASSIGN(registry_,
                         RegistryInstance::Start({.redis_url = redis_->url(), .allow_http = true}));
  }

  void TearDown() override {
    for (auto& w : workers_) w->worker->Shutdown();
    workers_.clear();
    RegistryTest::TearDown();
  }

  // Starts a worker that may reach loopback receivers, polls often and never disables a
  // failing hook (tests of failures make many).
  void StartWorker() {
    auto w = std::make_unique<TestWorker>();
    worker::WorkerOptions o;
    o.redis.url = redis_->url();
    o.consumer_name = absl::StrCat("test-worker-", workers_.size());
    o.allow_cidrs = {"127.0.0.0/8"};
    o.sender.allow_http = true;
    o.read_block = absl::Milliseconds(50);
    o.maintain.interval = absl::Milliseconds(20);
    o.health.disable_after_failures = 0;
    auto created = worker::Worker::Create(std::move(o), core::Clock::Real(), w->metrics);
    ASSERT_OK(created.status());
    w->worker = *std::move(created);
    ASSERT_OK(w->worker->Start());
    workers_.push_back(std::move(w));
  }

  // A valid hook for `tenant` that sends to `url` (an HttpReceiver's).
  static v1::Webhook HttpHook(absl::string_view tenant, const std::string& url,
                              std::vector<std::string> event_types = {"*"}) {
    v1::Webhook hook = Hook(tenant, std::move(event_types));
    hook.set_url(url);
    return hook;
  }

  // Polls GetDelivery until `done` holds for it (or kWait passes); returns the last read.
  template <typename Pred>
  v1::Delivery WaitForDelivery(absl::string_view tenant, const std::string& id, Pred done) {
    v1::Delivery d;
    const bool reached = testing::WaitFor(
        [&] {
          absl::StatusOr<v1::Delivery> got = GetDelivery(tenant, id);
          if (got.ok()) d = *std::move(got);
          return got.ok() && done(d);
        },
        kWait, absl::Milliseconds(10));
    EXPECT_TRUE(reached) << "delivery " << id << " is " << d.DebugString();
    return d;
  }
  // Waits until the delivery has `status` and `attempts` attempts recorded.
  v1::Delivery WaitForStatus(absl::string_view tenant, const std::string& id,
                             v1::DeliveryStatus status, int attempts) {
    return WaitForDelivery(tenant, id, [&](const v1::Delivery& d) {
      return d.status() == status && d.attempts_size() == attempts;
    });
  }

 private:
  // A worker with its own metrics; the worker goes before the metrics it points to.
  struct TestWorker {
    prometheus::Registry registry;
    worker::WorkerMetrics metrics{registry};
    std::unique_ptr<worker::Worker> worker;
  };
  std::vector<std::unique_ptr<TestWorker>> workers_;
};

}  // namespace hookrelay::registry
