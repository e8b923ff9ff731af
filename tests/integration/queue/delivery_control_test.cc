// RateLimiter and the ordered-delivery queues against a private redis-server (standalone, or
// a Redis Cluster with HOOKRELAY_TEST_REDIS=cluster, which refuses any command
// spanning slots): tokens shared by every caller, bursts, pauses and their pub/sub message;
// one delivery out per (hook, key), released in order, redelivery through the key's queue.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/queue/ordered.h"
#include "libs/queue/rate_limiter.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"
#include "libs/store/subscriber.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::queue {
namespace {

using ::hookrelay::testing::RedisServer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr absl::Duration kMs = absl::Milliseconds(1);

class DeliveryControlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    ASSERT_OK_AND_ASSIGN(conn_, store::RedisConnection::Connect({.url = redis_->url()}));
  }
  RateRequest Ask(int count, int per_second = 10, int burst = 3) {
    v1::RateLimit limit;
    limit.set_per_second(per_second);
    limit.set_burst(burst);
    return RateRequest{.tenant = "acme",
                       .hook_id = "wh_1",
                       .spec = RateSpec::Of(limit),
                       .count = count,
                       .horizon = absl::Seconds(1)};
  }
  // The tasks in the tenant's stream, oldest first.
  std::vector<std::string> Stream() {
    std::vector<std::string> out;
    auto r = conn_->Command({"XRANGE", keys_.StreamOf("acme"), "-", "+"});
    EXPECT_OK(r.status());
    if (!r.ok()) return out;
    for (const store::RedisReply& e : r->elements) out.push_back(e.elements[1].elements[1].str);
    return out;
  }
  void Run(const std::function<void(store::Pipeline*)>& add) {
    store::Pipeline p;
    add(&p);
    auto replies = conn_->Execute(p);
    ASSERT_OK(replies.status());
    for (const store::RedisReply& r : *replies) ASSERT_OK(r.ToStatus());
  }
  OrderedTask Ordered(const std::string& delivery, const std::string& key = "order-1") {
    return OrderedTask{"acme", "wh_1", key, delivery};
  }

  static std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<store::RedisConnection> conn_;
  store::KeySchema keys_;
};

std::unique_ptr<RedisServer> DeliveryControlTest::redis_;

TEST_F(DeliveryControlTest, ABurstGoesAtOnceThenOneTokenPerIntervalWithinTheHorizon) {
  RateLimiter limiter(keys_);
  ASSERT_OK_AND_ASSIGN(std::vector<RateGrant> g, limiter.Reserve(*conn_, {Ask(20)}));
  ASSERT_EQ(g.size(), 1u);
  // 10/s, burst 3: three now, then one per 103 ms (3 % to spare) up to 1 s ahead.
  EXPECT_EQ(g[0].interval, absl::Milliseconds(103));
  EXPECT_EQ(g[0].granted, 12);
  EXPECT_EQ(g[0].At(0), absl::ZeroDuration());
  EXPECT_EQ(g[0].At(2), absl::ZeroDuration());
  EXPECT_NEAR(absl::ToDoubleMilliseconds(g[0].At(3)), 103, 5);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(g[0].At(11)), 927, 5);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(g[0].next), 1030, 5);
  // The state expires once it no longer matters.
  ASSERT_OK_AND_ASSIGN(store::RedisReply ttl,
                       conn_->Command({"PTTL", keys_.HookRate("acme", "wh_1")}));
  EXPECT_GT(ttl.integer, 1000);
  EXPECT_LE(ttl.integer, 2300);
}

TEST_F(DeliveryControlTest, TokensAreSharedByEveryCaller) {
  RateLimiter limiter(keys_);
  ASSERT_OK_AND_ASSIGN(auto other, store::RedisConnection::Connect({.url = redis_->url()}));
  ASSERT_OK_AND_ASSIGN(std::vector<RateGrant> first, limiter.Reserve(*conn_, {Ask(5)}));
  ASSERT_OK_AND_ASSIGN(std::vector<RateGrant> second, limiter.Reserve(*other, {Ask(20)}));
  EXPECT_EQ(first[0].granted, 5);
  // The second caller's tokens start where the first's end: 12 in all within the second.
  EXPECT_EQ(second[0].granted, 7);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(second[0].At(0)), 309, 5);
  // Another hook's limit is its own.
  RateRequest b = Ask(1);
  b.hook_id = "wh_2";
  ASSERT_OK_AND_ASSIGN(std::vector<RateGrant> g, limiter.Reserve(*conn_, {Ask(1), b}));
  EXPECT_EQ(g[0].granted, 0);
  EXPECT_EQ(g[1].granted, 1);
  EXPECT_EQ(g[1].At(0), absl::ZeroDuration());
}

TEST_F(DeliveryControlTest, APausePushesTheNextTokenPastItsEndAndTellsEveryWorker) {
  RateLimiter limiter(keys_);
  store::Subscriber sub({.url = redis_->url()}, keys_.HookPausesChannel());
  ASSERT_OK(sub.Poll(
      absl::Milliseconds(100), [](const std::string&) {}, [] {}));  // subscribed
  // The receiver answered at `answered`; the pause is published half a second later (a slow
  // reconnect): it still ends 2 s after the answer, and the limiter holds 1.5 s more.
  const absl::Time answered = absl::FromUnixMillis(1700000000000);
  const absl::Time now = answered + absl::Milliseconds(500);
  ASSERT_OK(limiter.Pause(*conn_, "acme", "wh_1", Ask(1).spec, answered + absl::Seconds(2), now));
  ASSERT_OK_AND_ASSIGN(std::vector<RateGrant> g, limiter.Reserve(*conn_, {Ask(5)}));
  EXPECT_EQ(g[0].granted, 0);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(g[0].next), 1500, 5);
  std::vector<std::string> messages;
  for (int i = 0; i < 20 && messages.empty(); ++i) {
    ASSERT_OK(sub.Poll(
        absl::Milliseconds(100), [&](const std::string& m) { messages.push_back(m); }, [] {}));
  }
  ASSERT_THAT(messages, ElementsAre("acme/wh_1 1700000002000"));
  auto parsed = RateLimiter::ParsePauseMessage(messages[0]);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->first, "acme/wh_1");
  EXPECT_EQ(parsed->second, answered + absl::Seconds(2));
  EXPECT_FALSE(RateLimiter::ParsePauseMessage("acme").has_value());
}

TEST_F(DeliveryControlTest, BadLimitsAreRefusedNamingTheField) {
  v1::RateLimit limit;
  EXPECT_THAT(std::string(ValidateRateLimit(limit, "webhook.rate_limit").message()),
              ::testing::StartsWith("webhook.rate_limit.per_second:"));
  limit.set_per_second(10);
  limit.set_burst(-1);
  EXPECT_THAT(std::string(ValidateRateLimit(limit, "webhook.rate_limit").message()),
              ::testing::StartsWith("webhook.rate_limit.burst:"));
}

TEST_F(DeliveryControlTest, OnlyTheHeadOfAKeyIsOutAndItsEndReleasesTheNext) {
  Run([&](store::Pipeline* p) {
    AddPlanTasks(keys_, keys_.ShardOf("acme"), {"t1", "t2", "t3", "x1"},
                 {Ordered("d1"), Ordered("d2"), Ordered("d3"), Ordered("dx", "order-2")}, p);
  });
  EXPECT_THAT(Stream(), ElementsAre("t1", "x1"));                                // one per key
  Run([&](store::Pipeline* p) { AddOrderedRelease(keys_, Ordered("d2"), p); });  // not the head
  EXPECT_THAT(Stream(), ElementsAre("t1", "x1"));
  Run([&](store::Pipeline* p) { AddOrderedRelease(keys_, Ordered("d1"), p); });
  EXPECT_THAT(Stream(), ElementsAre("t1", "x1", "t2"));
  Run([&](store::Pipeline* p) { AddOrderedRelease(keys_, Ordered("d1"), p); });  // again: no-op
  EXPECT_THAT(Stream(), ElementsAre("t1", "x1", "t2"));
  Run([&](store::Pipeline* p) {
    AddOrderedRelease(keys_, Ordered("d2"), p);
    AddOrderedRelease(keys_, Ordered("d3"), p);
  });
  EXPECT_THAT(Stream(), ElementsAre("t1", "x1", "t2", "t3"));
  ASSERT_OK_AND_ASSIGN(store::RedisReply len,
                       conn_->Command({"EXISTS", keys_.OrderQueue("acme", "wh_1", "order-1")}));
  EXPECT_EQ(len.integer, 0);  // an empty key leaves nothing behind
}

TEST_F(DeliveryControlTest, RedeliveryGoesThroughTheKeysQueue) {
  Run([&](store::Pipeline* p) {
    AddOrderedTask(keys_, Ordered("d1"), "t1", p);
    AddOrderedTask(keys_, Ordered("d2"), "t2", p);
  });
  // The head (e.g. held after failing) is sent again at once; one still waiting is left be.
  Run([&](store::Pipeline* p) {
    AddOrderedRequeue(keys_, Ordered("d1"), "t1-again", p);
    AddOrderedRequeue(keys_, Ordered("d2"), "t2-again", p);
  });
  EXPECT_THAT(Stream(), ElementsAre("t1", "t1-again"));
  // A delivery done before joins the end: after d2, which was published after it.
  Run([&](store::Pipeline* p) { AddOrderedRequeue(keys_, Ordered("d0"), "t0-again", p); });
  Run([&](store::Pipeline* p) { AddOrderedRelease(keys_, Ordered("d1"), p); });
  Run([&](store::Pipeline* p) { AddOrderedRelease(keys_, Ordered("d2"), p); });
  EXPECT_THAT(Stream(), ElementsAre("t1", "t1-again", "t2", "t0-again"));
  // On an idle key it goes out at once.
  Run([&](store::Pipeline* p) { AddOrderedRequeue(keys_, Ordered("d9", "idle"), "t9", p); });
  EXPECT_EQ(Stream().back(), "t9");
}

TEST_F(DeliveryControlTest, KeysLieInTheTenantsHashSlot) {
  const std::string tag = absl::StrCat("{", keys_.Tag(keys_.ShardOf("acme")), "}");
  EXPECT_THAT(keys_.HookRate("acme", "wh_1"), ::testing::HasSubstr(tag));
  EXPECT_THAT(keys_.OrderQueue("acme", "wh_1", "k"), ::testing::HasSubstr(tag));
  EXPECT_THAT(keys_.StreamOf("acme"), ::testing::HasSubstr(tag));
}

}  // namespace
}  // namespace hookrelay::queue
