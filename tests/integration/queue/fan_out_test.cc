// Tests of FanOut's atomic publish (WATCH, then MULTI/EXEC per shard) against a private
// redis-server: what one publish writes (event, delivery records, indexes, one stream entry
// per delivery in the tenant's shard), the idempotency key, the version check that writes
// nothing when stale, batches over several shards, and the one-round-trip path that keeps
// the versions watched between batches.

#include "libs/queue/fan_out.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/core/ids.h"
#include "libs/store/delivery_record.h"
#include "libs/store/delivery_store.h"
#include "libs/store/hook_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::queue {
namespace {

using store::DeliveryStore;
using store::EventStore;
using store::EventStoreOptions;
using store::HookStore;
using store::KeySchema;
using store::RedisConnection;
using store::RedisOptions;
using store::RedisPool;
using store::RedisReply;
namespace dlv = store::dlv;

using ::google::protobuf::util::MessageDifferencer;
using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::RedisServer;
using ::hookrelay::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAreArray;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Le;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using Kind = PublishOutcome::Kind;

const absl::Time kNow = absl::FromUnixMillis(1700000000123);

// A plan for `tenant` with one delivery per hook id.
PublishPlan MakePlan(absl::string_view tenant, long long version,
                     const std::vector<std::string>& hook_ids,
                     absl::string_view idempotency_key = "") {
  PublishPlan plan;
  plan.expected_version = version;
  v1::Event& e = plan.event;
  e.set_id(core::NewId(core::kEventIdPrefix, kNow));
  e.set_tenant(std::string(tenant));
  e.set_type("review.created");
  e.set_payload(R"({"review":42})");
  (*e.mutable_attributes())["repo"] = "core";
  e.set_idempotency_key(std::string(idempotency_key));
  for (const std::string& hook_id : hook_ids) {
    const store::NewDelivery& d =
        plan.deliveries.emplace_back() = {core::NewId(core::kDeliveryIdPrefix, kNow), hook_id};
    v1::DeliveryTask task;
    task.set_delivery_id(d.delivery_id);
    task.set_tenant(std::string(tenant));
    task.set_webhook_id(hook_id);
    task.set_event_id(e.id());
    task.set_attempt(1);
    plan.tasks.push_back(task.SerializeAsString());
  }
  return plan;
}

std::vector<std::string> DeliveryIds(const PublishPlan& plan) {
  std::vector<std::string> ids;
  for (const store::NewDelivery& d : plan.deliveries) ids.push_back(d.delivery_id);
  return ids;
}

class FanOutTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override { ASSERT_OK(redis_->FlushAll()); }

  // Creates `n` hooks for `tenant` (so its version becomes n) and returns their ids.
  std::vector<std::string> CreateHooks(absl::string_view tenant, int n) {
    // A tenant's first version is random; start it at 0 so versions here count hooks.
    EXPECT_OK(redis_->Command({"SETNX", keys_.Version(tenant), "0"}).status());
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      v1::Webhook hook;
      hook.set_id(core::NewId(core::kWebhookIdPrefix, kNow));
      hook.set_tenant(std::string(tenant));
      hook.set_url("https://example.com/h");
      hook.add_event_types("*");
      hook.set_enabled(true);
      EXPECT_OK(hooks_.Create(hook));
      ids.push_back(hook.id());
    }
    return ids;
  }

  // Entries in every shard's stream.
  long long StreamLength() {
    long long n = 0;
    for (int s = 0; s < keys_.shards(); ++s) {
      long long len = 0;
      EXPECT_TRUE(absl::SimpleAtoi(redis_->Command({"XLEN", keys_.Stream(s)}).value_or("x"), &len));
      n += len;
    }
    return n;
  }

  absl::StatusOr<std::vector<PublishOutcome>> Batch(const std::vector<PublishPlan>& plans) {
    std::vector<PublishOutcome> out;
    for (auto& r : fan_out_.PublishBatch(plans, kNow)) {
      if (!r.ok()) return r.status();
      out.push_back(*std::move(r));
    }
    return out;
  }

  // The entries of `tenant`'s shard stream as DeliveryTasks, oldest first (binary-safe read).
  std::vector<v1::DeliveryTask> StreamTasks(absl::string_view tenant = "acme") {
    std::vector<v1::DeliveryTask> tasks;
    auto conn = pool_.Acquire();
    EXPECT_OK(conn.status());
    if (!conn.ok()) return tasks;
    auto reply = (*conn)->Command({"XRANGE", keys_.StreamOf(tenant), "-", "+"});
    EXPECT_OK(reply.status());
    if (!reply.ok()) return tasks;
    for (const RedisReply& entry : reply->elements) {
      const RedisReply& fields = entry.elements[1];
      EXPECT_EQ(fields.elements.size(), 2u);
      EXPECT_EQ(fields.elements[0].str, KeySchema::kTaskField);
      EXPECT_TRUE(tasks.emplace_back().ParseFromString(fields.elements[1].str));
    }
    return tasks;
  }

  // Keys matching `pattern`, newline-separated ("" for none).
  std::string Keys(absl::string_view pattern) {
    return redis_->Command({"KEYS", std::string(pattern)}).value_or("<error>");
  }

  long long Ttl(const std::string& key) { return redis_->Ttl(key); }

  inline static std::unique_ptr<RedisServer> redis_;
  KeySchema keys_;
  RedisPool pool_{RedisOptions{.url = redis_->url()}};
  HookStore hooks_{pool_, keys_};
  EventStoreOptions options_{.retention = absl::Hours(48), .idempotency_ttl = absl::Hours(24)};
  EventStore events_{pool_, keys_};
  FanOut fan_out_{pool_, keys_, options_};
};

TEST_F(FanOutTest, PublishStoresEventOnceAndOneRecordAndTaskPerDelivery) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 3);
  const PublishPlan plan = MakePlan("acme", 3, hook_ids);

  ASSERT_OK_AND_ASSIGN(PublishOutcome out, fan_out_.Publish(plan, kNow));
  EXPECT_EQ(out.kind, Kind::kPublished);
  EXPECT_EQ(out.event_id, plan.event.id());
  EXPECT_THAT(out.delivery_ids, ElementsAreArray(DeliveryIds(plan)));

  // The event, once.
  ASSERT_OK_AND_ASSIGN(v1::Event stored, events_.Get("acme", plan.event.id()));
  EXPECT_TRUE(MessageDifferencer::Equals(stored, plan.event)) << stored.DebugString();
  const std::vector<std::string> evt_keys = absl::StrSplit(Keys(keys_.TenantKey("acme", "evt:*")), '\n');
  EXPECT_THAT(evt_keys, UnorderedElementsAre(keys_.Event("acme", plan.event.id()),
                                             keys_.EventDeliveries("acme", plan.event.id())));
  EXPECT_THAT(
      redis_->Command({"LRANGE", keys_.EventDeliveries("acme", plan.event.id()), "0", "-1"}),
      IsOkAndHolds(absl::StrJoin(DeliveryIds(plan), "\n")));

  // One PENDING record per delivery, indexed under its hook.
  for (const store::NewDelivery& d : plan.deliveries) {
    const std::string rec = keys_.Delivery("acme", d.delivery_id);
    EXPECT_THAT(redis_->Command({"HGET", rec, std::string(dlv::kStatus)}),
                IsOkAndHolds(absl::StrCat(static_cast<int>(v1::DELIVERY_STATUS_PENDING))));
    EXPECT_THAT(redis_->Command({"HGET", rec, std::string(dlv::kHook)}), IsOkAndHolds(d.hook_id));
    EXPECT_THAT(redis_->Command({"HGET", rec, std::string(dlv::kEvent)}),
                IsOkAndHolds(plan.event.id()));
    EXPECT_THAT(redis_->Command({"HGET", rec, std::string(dlv::kType)}),
                IsOkAndHolds("review.created"));
    EXPECT_THAT(redis_->Command({"HGET", rec, std::string(dlv::kCreated)}),
                IsOkAndHolds(absl::StrCat(absl::ToUnixMillis(kNow))));
    EXPECT_THAT(redis_->Command({"HGET", rec, std::string(dlv::kAttempts)}), IsOkAndHolds("0"));
    EXPECT_THAT(redis_->Command({"ZSCORE", keys_.HookDeliveries("acme", d.hook_id), d.delivery_id}),
                IsOkAndHolds(absl::StrCat(absl::ToUnixMillis(kNow))));
    EXPECT_THAT(Ttl(rec), AllOf(Ge(47 * 3600), Le(48 * 3600)));
  }

  // One stream entry per delivery, in plan order, carrying the planned task.
  const std::vector<v1::DeliveryTask> tasks = StreamTasks();
  ASSERT_EQ(tasks.size(), 3u);
  for (size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ(tasks[i].SerializeAsString(), plan.tasks[i]);
  }

  // Everything written expires after the retention period.
  EXPECT_THAT(Ttl(keys_.Event("acme", plan.event.id())), AllOf(Ge(47 * 3600), Le(48 * 3600)));
  EXPECT_THAT(Ttl(keys_.EventDeliveries("acme", plan.event.id())),
              AllOf(Ge(47 * 3600), Le(48 * 3600)));
  // No idempotency key was given, so none is remembered.
  EXPECT_EQ(Keys("*idem*"), "");
}

TEST_F(FanOutTest, HookIndexDropsEntriesPastRetentionAndKeepsItsTtl) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 1);
  const std::string index = keys_.HookDeliveries("acme", hook_ids[0]);
  // Entries of a busy hook: one past the 48 h retention (its record expired), one within.
  const absl::Time old = kNow - absl::Hours(49), recent = kNow - absl::Hours(47);
  ASSERT_OK(
      redis_->Command({"ZADD", index, absl::StrCat(absl::ToUnixMillis(old)), "dlv_old"}).status());
  ASSERT_OK(redis_->Command({"ZADD", index, absl::StrCat(absl::ToUnixMillis(recent)), "dlv_recent"})
                .status());
  std::vector<PublishPlan> plans = {MakePlan("acme", 1, hook_ids), MakePlan("acme", 1, hook_ids)};
  ASSERT_OK_AND_ASSIGN(std::vector<PublishOutcome> out, Batch(plans));

  const std::vector<std::string> members =
      absl::StrSplit(redis_->Command({"ZRANGE", index, "0", "-1"}).value_or(""), '\n');
  EXPECT_THAT(members,
              UnorderedElementsAre("dlv_recent", out[0].delivery_ids[0], out[1].delivery_ids[0]));
  EXPECT_THAT(Ttl(index), AllOf(Ge(47 * 3600), Le(48 * 3600)));
}

TEST_F(FanOutTest, PublishedDeliveryReadsBackAsPending) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 1);
  const PublishPlan plan = MakePlan("acme", 1, hook_ids);
  ASSERT_OK(fan_out_.Publish(plan, kNow).status());
  DeliveryStore deliveries(pool_, keys_);
  ASSERT_OK_AND_ASSIGN(v1::Delivery d, deliveries.Get("acme", plan.deliveries[0].delivery_id));
  EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_PENDING);
  EXPECT_EQ(d.webhook_id(), hook_ids[0]);
  EXPECT_EQ(d.event_id(), plan.event.id());
  EXPECT_EQ(d.event_type(), "review.created");
  EXPECT_EQ(d.attempt_count(), 0);
  EXPECT_TRUE(d.attempts().empty());
  EXPECT_THAT(deliveries.Get("globex", plan.deliveries[0].delivery_id),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FanOutTest, PublishWithoutMatchesStoresOnlyTheEvent) {
  CreateHooks("acme", 1);
  const PublishPlan plan = MakePlan("acme", 1, {});
  ASSERT_OK_AND_ASSIGN(PublishOutcome out, fan_out_.Publish(plan, kNow));
  EXPECT_EQ(out.kind, Kind::kPublished);
  EXPECT_THAT(out.delivery_ids, IsEmpty());
  EXPECT_OK(events_.Get("acme", plan.event.id()));
  EXPECT_EQ(Keys("*dlv*"), "");
  EXPECT_EQ(StreamLength(), 0);
}

TEST_F(FanOutTest, DuplicateIdempotencyKeyReturnsTheFirstEventAndWritesNothing) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 2);
  const PublishPlan first = MakePlan("acme", 2, hook_ids, "order-7");
  ASSERT_OK_AND_ASSIGN(PublishOutcome out1, fan_out_.Publish(first, kNow));
  EXPECT_EQ(out1.kind, Kind::kPublished);
  const std::string keys_before = Keys("*");

  const PublishPlan again = MakePlan("acme", 2, hook_ids, "order-7");
  ASSERT_NE(again.event.id(), first.event.id());
  ASSERT_OK_AND_ASSIGN(PublishOutcome out2, fan_out_.Publish(again, kNow + absl::Seconds(1)));
  EXPECT_EQ(out2.kind, Kind::kDuplicate);
  EXPECT_EQ(out2.event_id, first.event.id());
  EXPECT_THAT(out2.delivery_ids, ElementsAreArray(DeliveryIds(first)));

  EXPECT_THAT(events_.Get("acme", again.event.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Keys("*"), keys_before);
  EXPECT_EQ(StreamLength(), 2);
  EXPECT_THAT(redis_->Command({"GET", keys_.Idempotency("acme", "order-7")}),
              IsOkAndHolds(first.event.id()));
  EXPECT_THAT(Ttl(keys_.Idempotency("acme", "order-7")), AllOf(Ge(23 * 3600), Le(24 * 3600)));
}

TEST_F(FanOutTest, DuplicateIsRecognisedEvenAfterHooksChanged) {
  std::vector<std::string> hook_ids = CreateHooks("acme", 1);
  const PublishPlan first = MakePlan("acme", 1, hook_ids, "k");
  ASSERT_OK(fan_out_.Publish(first, kNow).status());
  CreateHooks("acme", 1);  // version 2
  ASSERT_OK_AND_ASSIGN(PublishOutcome out,
                       fan_out_.Publish(MakePlan("acme", 1, hook_ids, "k"), kNow));
  EXPECT_EQ(out.kind, Kind::kDuplicate);
  EXPECT_EQ(out.event_id, first.event.id());
}

TEST_F(FanOutTest, IdempotencyKeysAreScopedToTheTenant) {
  ASSERT_OK(fan_out_.Publish(MakePlan("acme", 0, {}, "same"), kNow).status());
  const PublishPlan other = MakePlan("globex", 0, {}, "same");
  ASSERT_OK_AND_ASSIGN(PublishOutcome out, fan_out_.Publish(other, kNow));
  EXPECT_EQ(out.kind, Kind::kPublished);
  EXPECT_EQ(out.event_id, other.event.id());
}

TEST_F(FanOutTest, StaleVersionWritesNothingAndReportsTheCurrentVersion) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 2);
  const std::string keys_before = Keys("*");
  const PublishPlan plan = MakePlan("acme", 1, hook_ids, "idem-1");
  ASSERT_OK_AND_ASSIGN(PublishOutcome out, fan_out_.Publish(plan, kNow));
  EXPECT_EQ(out.kind, Kind::kStaleVersion);
  EXPECT_EQ(out.current_version, 2);
  EXPECT_THAT(out.delivery_ids, IsEmpty());
  EXPECT_EQ(Keys("*"), keys_before);
  EXPECT_THAT(Keys("*"), Not(HasSubstr("evt")));
  EXPECT_THAT(Keys("*"), Not(HasSubstr("stream")));

  // The key was not remembered: the re-planned publish goes through.
  ASSERT_OK_AND_ASSIGN(out, fan_out_.Publish(MakePlan("acme", 2, hook_ids, "idem-1"), kNow));
  EXPECT_EQ(out.kind, Kind::kPublished);
}

TEST_F(FanOutTest, PublishBatchReturnsOutcomesInOrder) {
  const std::vector<std::string> acme = CreateHooks("acme", 2);
  const std::vector<std::string> globex = CreateHooks("globex", 1);
  const std::vector<PublishPlan> plans = {
      MakePlan("acme", 2, acme, "a"),  // published
      MakePlan("globex", 7, globex),   // stale
      MakePlan("globex", 1, globex),   // published
      MakePlan("acme", 2, acme, "a"),  // duplicate of the first
      MakePlan("acme", 2, {}),         // published, no deliveries
  };
  ASSERT_OK_AND_ASSIGN(std::vector<PublishOutcome> out, Batch(plans));
  ASSERT_EQ(out.size(), plans.size());
  EXPECT_EQ(out[0].kind, Kind::kPublished);
  EXPECT_EQ(out[0].event_id, plans[0].event.id());
  EXPECT_THAT(out[0].delivery_ids, ElementsAreArray(DeliveryIds(plans[0])));
  EXPECT_EQ(out[1].kind, Kind::kStaleVersion);
  EXPECT_EQ(out[1].current_version, 1);
  EXPECT_EQ(out[2].kind, Kind::kPublished);
  EXPECT_EQ(out[2].event_id, plans[2].event.id());
  EXPECT_EQ(out[3].kind, Kind::kDuplicate);
  EXPECT_EQ(out[3].event_id, plans[0].event.id());
  EXPECT_THAT(out[3].delivery_ids, ElementsAreArray(DeliveryIds(plans[0])));
  EXPECT_EQ(out[4].kind, Kind::kPublished);
  EXPECT_EQ(out[4].event_id, plans[4].event.id());

  EXPECT_EQ(StreamLength(), 3);
  EXPECT_THAT(events_.Get("globex", plans[1].event.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(events_.Get("acme", plans[3].event.id()), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FanOutTest, PublishBatchReadsOnceAndWritesInOneTransaction) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 2);
  ASSERT_OK(redis_->Command({"CONFIG", "RESETSTAT"}).status());
  std::vector<PublishPlan> plans;
  for (int i = 0; i < 10; ++i) plans.push_back(MakePlan("acme", 2, hook_ids));
  plans.push_back(MakePlan("acme", 2, hook_ids, "key-1"));
  ASSERT_OK_AND_ASSIGN(std::vector<PublishOutcome> out, Batch(plans));
  ASSERT_EQ(out.size(), 11u);
  for (const PublishOutcome& o : out) EXPECT_EQ(o.kind, Kind::kPublished);
  // The read, then the transaction and the read that arms the next batch.
  EXPECT_THAT(
      redis_->Command({"INFO", "commandstats"}),
      IsOkAndHolds(AllOf(HasSubstr("cmdstat_watch:calls=2,"), HasSubstr("cmdstat_mget:calls=2,"),
                         HasSubstr("cmdstat_exec:calls=1,"), HasSubstr("cmdstat_xadd:calls=22,"),
                         Not(HasSubstr("cmdstat_eval")))));
}

// After a batch, the connection watches the tenant's version: the next batch without
// idempotency keys goes straight to its transaction, and its one WATCH and MGET are the
// ones arming the batch after it.
TEST_F(FanOutTest, TheNextBatchOfTheSameTenantSkipsTheRead) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 1);
  ASSERT_OK(Batch({MakePlan("acme", 1, hook_ids)}).status());
  for (int round = 0; round < 3; ++round) {
    ASSERT_OK(redis_->Command({"CONFIG", "RESETSTAT"}).status());
    ASSERT_OK_AND_ASSIGN(
        std::vector<PublishOutcome> out,
        Batch({MakePlan("acme", 1, hook_ids), MakePlan("acme", 1, hook_ids)}));
    EXPECT_EQ(out[0].kind, Kind::kPublished);
    EXPECT_EQ(out[1].kind, Kind::kPublished);
    EXPECT_THAT(
        redis_->Command({"INFO", "commandstats"}),
        IsOkAndHolds(AllOf(HasSubstr("cmdstat_watch:calls=1,"), HasSubstr("cmdstat_mget:calls=1,"),
                           HasSubstr("cmdstat_exec:calls=1,"))));
  }
  EXPECT_EQ(StreamLength(), 7);
}

// The one-round-trip path trusts the version it watched: a hook created since (by this or
// another registry) must make the next publish planned on the old hooks write nothing.
TEST_F(FanOutTest, HookChangeAfterABatchMakesTheNextOldPlanStale) {
  std::vector<std::string> hook_ids = CreateHooks("acme", 1);
  ASSERT_OK(Batch({MakePlan("acme", 1, hook_ids)}).status());
  const std::vector<std::string> more = CreateHooks("acme", 1);  // version 2
  ASSERT_OK_AND_ASSIGN(std::vector<PublishOutcome> out,
                       Batch({MakePlan("acme", 1, hook_ids)}));
  EXPECT_EQ(out[0].kind, Kind::kStaleVersion);
  EXPECT_EQ(StreamLength(), 1);

  hook_ids.insert(hook_ids.end(), more.begin(), more.end());
  ASSERT_OK_AND_ASSIGN(out, Batch({MakePlan("acme", 2, hook_ids)}));
  EXPECT_EQ(out[0].kind, Kind::kPublished);
  EXPECT_EQ(StreamLength(), 3);
}

// A connection dropped while it watched (a Redis restart, a killed client) reconnects
// without its WATCH; a hook change meanwhile must still make an old plan stale.
TEST_F(FanOutTest, ConnectionLostWhileWatchingStillSeesTheHookChange) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 1);
  ASSERT_OK(Batch({MakePlan("acme", 1, hook_ids)}).status());
  ASSERT_OK(redis_->Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).status());
  ASSERT_OK(redis_->Command({"INCR", keys_.Version("acme")}).status());
  auto out = Batch({MakePlan("acme", 1, hook_ids)});
  if (!out.ok()) {  // the dropped connection answers UNAVAILABLE once, then reconnects
    EXPECT_THAT(out, StatusIs(absl::StatusCode::kUnavailable));
    out = Batch({MakePlan("acme", 1, hook_ids)});
  }
  ASSERT_OK(out.status());
  EXPECT_EQ((*out)[0].kind, Kind::kStaleVersion);
  EXPECT_EQ((*out)[0].current_version, 2);
  EXPECT_EQ(StreamLength(), 1);
}

TEST_F(FanOutTest, TheSameIdempotencyKeyTwiceInOneBatchStoresOneEvent) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 1);
  const std::vector<PublishPlan> plans = {MakePlan("acme", 1, hook_ids, "order-7"),
                                          MakePlan("acme", 1, hook_ids, "order-7")};
  ASSERT_OK_AND_ASSIGN(std::vector<PublishOutcome> out, Batch(plans));
  EXPECT_EQ(out[0].kind, Kind::kPublished);
  EXPECT_EQ(out[1].kind, Kind::kDuplicate);
  EXPECT_EQ(out[1].event_id, plans[0].event.id());
  EXPECT_EQ(out[1].delivery_ids, out[0].delivery_ids);
  EXPECT_EQ(StreamLength(), 1);
  EXPECT_THAT(events_.Get("acme", plans[1].event.id()), StatusIs(absl::StatusCode::kNotFound));
}

// A hook change between the version read and the transaction (another registry's
// UpdateWebhook) makes Redis refuse the EXEC: nothing is written, and the plans come back
// stale to be planned again.
TEST_F(FanOutTest, VersionChangeDuringTheBatchWritesNothing) {
  const std::vector<std::string> hook_ids = CreateHooks("acme", 1);
  ASSERT_OK_AND_ASSIGN(std::string version, redis_->Command({"GET", keys_.Version("acme")}));
  long long v = 0;
  ASSERT_TRUE(absl::SimpleAtoi(version, &v));
  // Another client keeps writing the version key (INCRBY 0: a write that leaves the value
  // as it is), so the version read in round trip 1 matches but EXEC is often refused.
  std::atomic<bool> stop{false};
  std::thread bumper([&] {
    auto other = RedisConnection::Connect(RedisOptions{.url = redis_->url()});
    if (!other.ok()) return;
    while (!stop) (void)(*other)->Command({"INCRBY", keys_.Version("acme"), "0"});
  });
  int published = 0;
  int stale = 0;
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK_AND_ASSIGN(auto out, Batch({MakePlan("acme", v, hook_ids)}));
    (out[0].kind == Kind::kPublished ? published : stale)++;
  }
  stop = true;
  bumper.join();
  EXPECT_EQ(published + stale, 200);
  EXPECT_GT(stale, 0);
  EXPECT_GT(published, 0);
  // Every published plan wrote its task, and no refused one did.
  EXPECT_EQ(StreamLength(), published);
}

TEST_F(FanOutTest, GetOfUnknownEventIsNotFound) {
  EXPECT_THAT(events_.Get("acme", core::NewId(core::kEventIdPrefix, kNow)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("evt_")));
}

TEST_F(FanOutTest, PublishWhileRedisIsDownIsUnavailable) {
  const int port = testing::FreeLoopbackPort();
  RedisPool down(RedisOptions{.url = absl::StrCat("redis://127.0.0.1:", port)});
  FanOut store(down, keys_, options_);
  EXPECT_THAT(store.Publish(MakePlan("acme", 0, {}), kNow),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(EventStoreOptionsTest, ValidateRejectsShortRetentionAndIdempotencyWindow) {
  EXPECT_OK(EventStoreOptions().Validate());
  EXPECT_THAT(EventStoreOptions{.retention = absl::Minutes(5)}.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("retention")));
  EXPECT_THAT(EventStoreOptions{.idempotency_ttl = absl::Hours(1)}.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("idempotency_ttl")));
}

}  // namespace
}  // namespace hookrelay::queue
