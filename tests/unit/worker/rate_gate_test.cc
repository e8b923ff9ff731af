// RateGate: jobs of rate-limited or paused hooks wait in arrival order until their token's
// time, driven with explicit times and grants (no threads, no clock, no Redis: the limiter's
// side is tested against a real Redis in tests/integration/queue/rate_limiter_test.cc).
#include "services/worker/rate_gate.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::worker {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);
constexpr absl::Duration kMs = absl::Milliseconds(1);

std::shared_ptr<const CachedHook> Hook(const std::string& id, int per_second) {
  v1::Webhook h;
  h.set_id(id);
  h.set_tenant("acme");
  h.set_url("https://example.com/");
  if (per_second > 0) h.mutable_rate_limit()->set_per_second(per_second);
  return MakeCachedHook(h, 1, kT0);
}

std::unique_ptr<Job> NewJob(const std::shared_ptr<const CachedHook>& hook, const std::string& id) {
  auto job = std::make_unique<Job>();
  job->task.set_tenant("acme");
  job->task.set_webhook_id(hook->hook.id());
  job->task.set_delivery_id(id);
  job->hook = hook;
  return job;
}

std::vector<std::string> Ids(const std::vector<std::unique_ptr<Job>>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) {
    out.push_back(j->task.delivery_id() + (j->kind == Job::Kind::kDeferred ? "*" : ""));
  }
  return out;
}

RateGate::Options Small() {
  return {.queue_per_hook = 4,
          .max_held = 100,
          .horizon = absl::Seconds(1),
          .ask_every = absl::Milliseconds(250),
          .max_hold = absl::Seconds(5)};
}

queue::RateGrant Granted(int n, absl::Duration first, absl::Duration interval) {
  return {.granted = n, .first = first, .interval = interval, .next = first + interval * n};
}

TEST(RateGateTest, LimitedJobsLeaveAtTheirTokensTimesInArrivalOrder) {
  RateGate gate(Small());
  auto hook = Hook("wh_1", 50);
  for (const char* id : {"a", "b", "c", "d"}) {
    auto job = NewJob(hook, id);
    ASSERT_TRUE(gate.Holds(*job));
    ASSERT_EQ(gate.Admit(std::move(job), kT0), nullptr);
  }
  std::vector<queue::RateRequest> asks = gate.Requests(kT0);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].count, 4);
  EXPECT_EQ(asks[0].spec.interval, absl::Microseconds(20600));  // 1.03 s / 50
  EXPECT_TRUE(gate.Requests(kT0).empty());                      // one ask out per hook
  gate.Grant(asks, {Granted(3, -kMs, 20 * kMs)}, kT0);
  EXPECT_THAT(Ids(gate.TakeDue(kT0)), ::testing::ElementsAre("a"));
  EXPECT_EQ(gate.NextWake(kT0), kT0 + 19 * kMs);
  EXPECT_TRUE(gate.TakeDue(kT0 + 18 * kMs).empty());
  EXPECT_THAT(Ids(gate.TakeDue(kT0 + 40 * kMs)), ::testing::ElementsAre("b", "c"));
  // "d" has no token: its hook asks again when the next frees, at most every 250 ms.
  EXPECT_TRUE(gate.TakeDue(kT0 + absl::Seconds(1)).empty());
  EXPECT_TRUE(gate.Requests(kT0 + 249 * kMs).empty());
  asks = gate.Requests(kT0 + 250 * kMs);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].count, 1);
  gate.Grant(asks, {Granted(1, absl::ZeroDuration(), 20 * kMs)}, kT0 + 250 * kMs);
  EXPECT_THAT(Ids(gate.TakeDue(kT0 + 250 * kMs)), ::testing::ElementsAre("d"));
  EXPECT_EQ(gate.held(), 0);
}

TEST(RateGateTest, UnlimitedHooksPassUnlessPaused) {
  RateGate gate(Small());
  auto hook = Hook("wh_free", 0);
  auto job = NewJob(hook, "a");
  EXPECT_FALSE(gate.Holds(*job));
  EXPECT_TRUE(gate.Pause("acme/wh_free", kT0 + absl::Seconds(2)));
  EXPECT_FALSE(gate.Pause("acme/wh_free", kT0 + absl::Seconds(1)));  // not later: no change
  EXPECT_TRUE(gate.Holds(*job));
  ASSERT_EQ(gate.Admit(std::move(job), kT0), nullptr);
  EXPECT_TRUE(gate.Requests(kT0).empty());  // no limit: nothing to ask Redis
  EXPECT_TRUE(gate.TakeDue(kT0 + absl::Milliseconds(1999)).empty());
  EXPECT_EQ(gate.NextWake(kT0 + absl::Seconds(1)), kT0 + absl::Seconds(2));
  auto due = gate.TakeDue(kT0 + absl::Seconds(2));
  ASSERT_THAT(Ids(due), ::testing::ElementsAre("a"));
  EXPECT_EQ(due[0]->rate_waited, absl::Seconds(2));
  // The pause over, the hook passes the gate again.
  EXPECT_FALSE(gate.Holds(*NewJob(hook, "b")));
}

TEST(RateGateTest, JobsBeyondTheQueueArePutOffInOrderAtTheHooksPace) {
  RateGate gate(Small());
  auto hook = Hook("wh_1", 1);  // one per 1.03 s: it holds queue_per_hook (4)
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_EQ(gate.Admit(NewJob(hook, id), kT0), nullptr);
  std::vector<absl::Duration> defers;
  for (const char* id : {"e", "f", "g"}) {
    std::unique_ptr<Job> back = gate.Admit(NewJob(hook, id), kT0);
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(back->kind, Job::Kind::kDeferred);
    EXPECT_TRUE(back->rate_deferred);
    defers.push_back(back->defer_for);
  }
  // After the four held (4.12 s), then one interval apart: they come back in order.
  EXPECT_THAT(defers, ::testing::ElementsAre(absl::Milliseconds(4120), absl::Milliseconds(5150),
                                             absl::Milliseconds(6180)));
}

TEST(RateGateTest, AFastHookHoldsASecondOfItsRateAndPutsOffAfterTheReservedTokens) {
  RateGate gate(Small());
  auto hook = Hook("wh_1", 50);  // 48 in 1.03 s
  for (int i = 0; i < 48; ++i) {
    ASSERT_EQ(gate.Admit(NewJob(hook, absl::StrCat("j", i)), kT0), nullptr) << i;
  }
  // Another worker holds the tokens of the next 2 s: the grant says when the next is free.
  auto asks = gate.Requests(kT0);
  gate.Grant(asks,
             {queue::RateGrant{.granted = 0,
                               .first = absl::Seconds(2),
                               .interval = absl::Microseconds(20600),
                               .next = absl::Seconds(2)}},
             kT0);
  std::unique_ptr<Job> back = gate.Admit(NewJob(hook, "late"), kT0);
  ASSERT_NE(back, nullptr);
  // After the others' tokens (2 s), then the 48 held here.
  EXPECT_EQ(back->defer_for, absl::Seconds(2) + 48 * absl::Microseconds(20600));
}

TEST(RateGateTest, APauseDropsHeldTokensSoTheyDoNotAllGoAtItsEnd) {
  RateGate gate(Small());
  auto hook = Hook("wh_1", 50);
  for (const char* id : {"a", "b", "c"}) ASSERT_EQ(gate.Admit(NewJob(hook, id), kT0), nullptr);
  auto asks = gate.Requests(kT0);
  gate.Grant(asks, {Granted(3, 10 * kMs, 20 * kMs)}, kT0);
  ASSERT_TRUE(gate.Pause("acme/wh_1", kT0 + absl::Seconds(2)));
  EXPECT_TRUE(gate.TakeDue(kT0 + absl::Seconds(1)).empty());
  EXPECT_TRUE(gate.Requests(kT0 + absl::Seconds(1)).empty());  // not during the pause
  EXPECT_TRUE(gate.TakeDue(kT0 + absl::Seconds(2)).empty());   // no token: ask again
  asks = gate.Requests(kT0 + absl::Seconds(2));
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].count, 3);
}

TEST(RateGateTest, ALongPauseHandsHeldJobsBackUntilItsEnd) {
  RateGate gate(Small());
  auto hook = Hook("wh_free", 0);
  ASSERT_TRUE(gate.Pause("acme/wh_free", kT0 + absl::Seconds(3)));
  ASSERT_EQ(gate.Admit(NewJob(hook, "a"), kT0), nullptr);
  ASSERT_TRUE(gate.Pause("acme/wh_free", kT0 + absl::Minutes(1)));
  auto back = gate.TakeDue(kT0 + absl::Seconds(1));
  ASSERT_THAT(Ids(back), ::testing::ElementsAre("a*"));
  EXPECT_EQ(back[0]->defer_for, absl::Seconds(59));
  // New jobs of the hook are put off at once, behind it.
  std::unique_ptr<Job> later = gate.Admit(NewJob(hook, "b"), kT0 + absl::Seconds(1));
  ASSERT_NE(later, nullptr);
  EXPECT_EQ(later->defer_for, absl::Seconds(59) + kMs);
}

TEST(RateGateTest, JobsOthersTookTheTokensFromArePutOffAfterMaxHold) {
  RateGate gate(Small());
  auto hook = Hook("wh_1", 50);
  ASSERT_EQ(gate.Admit(NewJob(hook, "a"), kT0), nullptr);
  auto asks = gate.Requests(kT0);
  gate.Grant(
      asks,
      {queue::RateGrant{
          .granted = 0, .first = absl::Seconds(2), .interval = 20 * kMs, .next = absl::Seconds(2)}},
      kT0);
  EXPECT_EQ(gate.NextWake(kT0), kT0 + absl::Seconds(2));  // it asks again when a token frees
  EXPECT_TRUE(gate.TakeDue(kT0 + absl::Seconds(4)).empty());
  auto back = gate.TakeDue(kT0 + absl::Seconds(5));
  ASSERT_THAT(Ids(back), ::testing::ElementsAre("a*"));
}

}  // namespace
}  // namespace hookrelay::worker
