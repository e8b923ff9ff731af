// Chaos end to end on a real Redis Cluster of 3 masters × 1 replica: 3,000 events for 30
// tenants (spread over the shards, so over every master) to a receiver that answers 500,
// resets or hangs a third of the time. While publishing: a master is SIGKILLed and its
// replica promoted (the old master then comes back as a replica), 500 slots move between
// masters, and a worker is SIGKILLed. The registry runs with --publish_min_replicas=1, so an
// acknowledged event is on two nodes: every acknowledged event must arrive with a 2xx and a
// valid signature, and be recorded SUCCEEDED; duplicates stay bounded.
#include <signal.h>

#include <atomic>
#include <iostream>
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

constexpr int kEvents = 3000;
constexpr int kTenants = 30;
constexpr int kInFlight = 64;

std::vector<std::string> Tenants() {
  std::vector<std::string> t;
  for (int i = 0; i < kTenants; ++i) t.push_back(absl::StrCat("tenant-", i));
  return t;
}

// The delivery records of `tenant` and how many ended SUCCEEDED.
std::pair<int, int> Records(const RedisServer& redis, const std::string& tenant) {
  const store::KeySchema keys;
  auto ids = redis.Command({"KEYS", keys.TenantKey(tenant, "dlv:*")});
  int records = 0, succeeded = 0;
  for (absl::string_view key : absl::StrSplit(ids.value_or(""), '\n', absl::SkipEmpty())) {
    if (absl::EndsWith(key, ":att")) continue;
    ++records;
    if (redis.Command({"HGET", std::string(key), "s"}).value_or("") == "2") ++succeeded;
  }
  return {records, succeeded};
}

TEST(ClusterChaosE2eTest, AcknowledgedEventsSurviveFailoverReshardAndKilledWorkers) {
  if (RedisServer::MastersFromEnvironment() > 0) {
    GTEST_SKIP() << "makes its own cluster: it ran in the standalone pass";
  }
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start({.masters = 3, .replicas = 1}));
  FlakyReceiver flaky;
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&](const ReceivedRequest& r) {
                         return flaky.Handle(r);
                       }));
  Stack::Options options;
  options.registry_args = {"--publish_min_replicas=1", "--publish_replica_timeout=2s"};
  options.worker_args = {"--allow_cidrs=127.0.0.0/8", "--allow_http", "--visibility_timeout=3s",
                         absl::StrCat("--max_in_flight=", kInFlight), "--max_reclaims=50"};
  ASSERT_OK_AND_ASSIGN(auto stack, Stack::Start(*redis, options));
  ASSERT_OK(stack->StartWorker().status());

  std::vector<std::string> secrets;
  for (const std::string& tenant : Tenants()) {
    v1::CreateWebhookRequest create;
    v1::Webhook* hook = create.mutable_webhook();
    hook->set_tenant(tenant);
    hook->set_url(receiver->Url("/orders"));
    hook->add_event_types("order.*");
    hook->set_timeout_ms(500);
    for (int i = 0; i < 20; ++i) hook->mutable_retry_policy()->add_delays_ms(300);
    hook->mutable_retry_policy()->set_jitter_percent(0);
    v1::Webhook created;
    const grpc::Status st = stack->stub().CreateWebhook(stack->Context().get(), create, &created);
    ASSERT_TRUE(st.ok()) << st.error_message();
    secrets.push_back(created.signing().secret());
  }
  flaky.ExpectSecrets(secrets);

  // About 150 events/s, so the chaos below happens while publishing.
  std::atomic<int> acknowledged{0};
  std::atomic<bool> all_acknowledged{false};
  std::thread publisher([&] {
    all_acknowledged = PublishAll(*stack,
                                  {.events = kEvents,
                                   .batch = 30,
                                   .tenants = Tenants(),
                                   .pause = absl::Milliseconds(200),
                                   .give_up = absl::Seconds(90)},
                                  &acknowledged);
  });
  auto reach = [&](int n) {
    return WaitFor([&] { return acknowledged.load() >= n; }, absl::Seconds(120));
  };

  // A master dies; its replica takes over; the old master returns as a replica (so WAIT 1
  // can succeed again for its slots).
  ASSERT_TRUE(reach(600));
  const int slot = std::stoi(redis->Command({"CLUSTER", "KEYSLOT", "{s0}"}).value_or("0"));
  ASSERT_OK_AND_ASSIGN(std::string killed, redis->KillMasterOf(slot));
  std::cout << "killed master " << killed << " at " << acknowledged.load() << " events\n";
  ASSERT_OK(redis->StartAgain());
  // Slots, keys and all, move between masters while events are published and delivered.
  ASSERT_TRUE(reach(1400));
  ASSERT_OK(redis->MoveSlots(slot, 500));
  std::cout << "moved 500 slots at " << acknowledged.load() << " events\n";
  ASSERT_TRUE(reach(2200));
  stack->worker(0).Signal(SIGKILL);
  ASSERT_OK(stack->StartWorker().status());
  publisher.join();
  ASSERT_TRUE(all_acknowledged.load()) << "only " << acknowledged.load() << " acknowledged";

  ASSERT_TRUE(
      WaitFor([&] { return flaky.Unique() >= static_cast<size_t>(kEvents); }, absl::Seconds(180)))
      << "only " << flaky.Unique() << " of " << kEvents << " deliveries arrived";
  EXPECT_EQ(flaky.Unique(), static_cast<size_t>(kEvents));
  EXPECT_EQ(flaky.BadSignatures(), 0);
  int records = 0, succeeded = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        records = succeeded = 0;
        for (const std::string& tenant : Tenants()) {
          auto [r, s] = Records(*redis, tenant);
          records += r;
          succeeded += s;
        }
        return succeeded == kEvents;
      },
      absl::Seconds(60)))
      << succeeded << " of " << records << " records SUCCEEDED";
  EXPECT_EQ(records, kEvents);
  // A killed worker can repeat what it had in flight; nothing else is sent twice.
  EXPECT_LE(flaky.Duplicates(), 2 * kInFlight) << flaky.requests() << " requests in all";
  std::cout << "cluster chaos: " << kEvents << " deliveries, " << flaky.requests() << " requests, "
            << flaky.Duplicates() << " duplicates\n";
}

}  // namespace
}  // namespace hookrelay::testing
