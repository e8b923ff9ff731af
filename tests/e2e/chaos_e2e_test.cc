// Chaos end to end: 10,000 events to a receiver that answers 500, times out or resets a
// third of the time, while a worker is SIGKILLed and replaced twice and redis-server (AOF
// on) restarts once. Every delivery must end SUCCEEDED; duplicates stay bounded by what was
// in flight at each kill.
#include <signal.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/store/keys.h"
#include "tests/e2e/chaos_support.h"
#include "tests/e2e/stack.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

constexpr int kEvents = 10000;
constexpr int kBatch = 500;
constexpr int kInFlight = 128;

TEST(ChaosE2eTest, NothingIsLostThroughKillsRestartsAndFlakyReceivers) {
  if (RedisServer::MastersFromEnvironment() > 1) {
    GTEST_SKIP() << "cluster_chaos_e2e_test is this test on a cluster";
  }
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start(RedisServer::Options{.append_only = true}));
  FlakyReceiver flaky;
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&](const ReceivedRequest& r) {
                         return flaky.Handle(r);
                       }));
  Stack::Options options;
  options.worker_args = {"--allow_cidrs=127.0.0.0/8", "--allow_http", "--visibility_timeout=3s",
                         absl::StrCat("--max_in_flight=", kInFlight), "--max_reclaims=50"};
  ASSERT_OK_AND_ASSIGN(auto stack, Stack::Start(*redis, options));

  v1::CreateWebhookRequest create;
  v1::Webhook* hook = create.mutable_webhook();
  hook->set_tenant("acme");
  hook->set_url(receiver->Url("/orders"));
  hook->add_event_types("order.*");
  hook->set_timeout_ms(500);
  for (int i = 0; i < 20; ++i) hook->mutable_retry_policy()->add_delays_ms(200);
  hook->mutable_retry_policy()->set_jitter_percent(0);
  v1::Webhook created;
  const grpc::Status st = stack->stub().CreateWebhook(stack->Context().get(), create, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();

  std::atomic<int> published{0};
  std::thread publisher(
      [&] { PublishAll(*stack, {.events = kEvents, .batch = kBatch}, &published); });

  // Chaos while deliveries flow.
  ASSERT_TRUE(WaitFor([&] { return flaky.Unique() >= 2000; }, absl::Seconds(120)));
  stack->worker(0).Signal(SIGKILL);
  ASSERT_OK(stack->StartWorker().status());
  ASSERT_TRUE(WaitFor([&] { return flaky.Unique() >= 4000; }, absl::Seconds(120)));
  ASSERT_OK(redis->Restart());
  ASSERT_TRUE(WaitFor([&] { return flaky.Unique() >= 6000; }, absl::Seconds(120)));
  stack->worker(1).Signal(SIGKILL);
  ASSERT_OK(stack->StartWorker().status());
  publisher.join();
  ASSERT_EQ(published.load(), kEvents);

  // Every delivery arrives and is recorded SUCCEEDED.
  ASSERT_TRUE(
      WaitFor([&] { return flaky.Unique() >= static_cast<size_t>(kEvents); }, absl::Seconds(180)))
      << "only " << flaky.Unique() << " deliveries arrived";
  ASSERT_OK_AND_ASSIGN(std::string ids,
                       redis->Command({"KEYS", store::KeySchema().TenantKey("acme", "dlv:*")}));
  int records = 0, succeeded = 0;
  for (absl::string_view key : absl::StrSplit(ids, '\n')) {
    if (absl::EndsWith(key, ":att")) continue;
    ++records;
    ASSERT_TRUE(WaitFor(
        [&] {
          return redis->Command({"HGET", std::string(key), "s"}).value_or("") == "2";
        },
        absl::Seconds(30)))
        << key << " did not end SUCCEEDED";
    ++succeeded;
  }
  EXPECT_EQ(records, kEvents);
  EXPECT_EQ(succeeded, kEvents);
  EXPECT_EQ(flaky.Unique(), static_cast<size_t>(kEvents));
  // What each killed worker left pending was reclaimed by a live one.
  EXPECT_THAT(stack->worker(1).Output() + stack->worker(2).Output(),
              ::testing::HasSubstr("reclaimed entries of a stopped worker"));
  // A kill can repeat what the dead worker had in flight; nothing else is sent twice.
  EXPECT_LE(flaky.Duplicates(), 3 * kInFlight) << flaky.requests() << " requests in all";
  std::cout << "chaos: " << kEvents << " deliveries, " << flaky.requests() << " requests, "
            << flaky.Duplicates() << " duplicates\n";
}

}  // namespace
}  // namespace hookrelay::testing
