// The key layout every process checks at start, and the migration of the unsharded layout
// of earlier releases, against a private redis-server.
#include "libs/queue/migrate.h"

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/store/hook_store.h"
#include "libs/store/layout.h"
#include "libs/store/redis_pool.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::queue {
namespace {

using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::RedisServer;
using ::hookrelay::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Le;

std::string Task(const std::string& tenant, const std::string& delivery_id) {
  v1::DeliveryTask t;
  t.set_tenant(tenant);
  t.set_delivery_id(delivery_id);
  t.set_webhook_id("wh_1");
  t.set_event_id("evt_1");
  t.set_attempt(1);
  return t.SerializeAsString();
}

class LayoutTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    ASSERT_OK_AND_ASSIGN(conn_, store::RedisConnection::Connect({.url = redis_->url()}));
  }
  absl::StatusOr<std::string> Run(std::vector<std::string> argv) {
    return redis_->Command(std::move(argv));
  }

  // What a deployment of the unsharded releases left behind (keys as they named them).
  void WriteLegacyData() {
    v1::Webhook hook;
    hook.set_id("wh_1");
    hook.set_tenant("acme");
    hook.set_url("https://example.com/h");
    hook.set_enabled(true);
    ASSERT_OK(Run({"SET", "hookrelay:{acme}:version", "5"}).status());
    ASSERT_OK(Run({"SADD", "hookrelay:{acme}:hooks", "wh_1"}).status());
    ASSERT_OK(Run({"SET", "hookrelay:{acme}:hook:wh_1", hook.SerializeAsString()}).status());
    ASSERT_OK(Run({"SET", "hookrelay:{acme}:evt:evt_1", "event", "EX", "3600"}).status());
    ASSERT_OK(Run({"HSET", "hookrelay:{acme}:dlv:dlv_2", "s", "1"}).status());
    ASSERT_OK(Run({"SET", "hookrelay:apikey:abc", "key"}).status());
    ASSERT_OK(Run({"HSET", "hookrelay:apikeys", "key_1", "abc"}).status());
    // The stream: one entry acknowledged, one pending in a worker that died, one unread.
    ASSERT_OK(Run({"XGROUP", "CREATE", "hookrelay:stream", "workers", "0", "MKSTREAM"}).status());
    for (const char* d : {"dlv_1", "dlv_2"}) {
      ASSERT_OK(Run({"XADD", "hookrelay:stream", "*", "t", Task("acme", d)}).status());
    }
    ASSERT_OK(Run({"XREADGROUP", "GROUP", "workers", "old", "COUNT", "2", "STREAMS",
                   "hookrelay:stream", ">"})
                  .status());
    ASSERT_OK_AND_ASSIGN(std::string first,
                         Run({"XRANGE", "hookrelay:stream", "-", "+", "COUNT", "1"}));
    ASSERT_OK(
        Run({"XACK", "hookrelay:stream", "workers", first.substr(0, first.find('\n'))}).status());
    ASSERT_OK(Run({"XADD", "hookrelay:stream", "*", "t", Task("globex", "dlv_3")}).status());
    ASSERT_OK(Run({"ZADD", "hookrelay:retry", "1700000000000", Task("acme", "dlv_4")}).status());
  }

  inline static std::unique_ptr<RedisServer> redis_;
  const store::KeySchema keys_{"hookrelay:", 8};
  std::unique_ptr<store::RedisConnection> conn_;
};

TEST_F(LayoutTest, TheFirstProcessRecordsTheLayoutAndLaterOnesMustMatchIt) {
  ASSERT_OK(store::EnsureLayout(*conn_, keys_));
  EXPECT_THAT(Run({"HGET", keys_.Meta(), "shards"}), IsOkAndHolds("8"));
  EXPECT_OK(store::EnsureLayout(*conn_, keys_));
  const store::KeySchema other("hookrelay:", 16);
  EXPECT_THAT(store::EnsureLayout(*conn_, other),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("shards:"), HasSubstr("--shards=8"))));
  // Another key prefix is another deployment.
  EXPECT_OK(store::EnsureLayout(*conn_, store::KeySchema("other:", 16)));
}

TEST_F(LayoutTest, TheUnshardedLayoutIsRefusedWithInstructionsAndLeftAsItIs) {
  if (redis_->cluster()) GTEST_SKIP() << "the unsharded layout never ran on a cluster";
  WriteLegacyData();
  ASSERT_OK_AND_ASSIGN(std::string before, Run({"DBSIZE"}));
  EXPECT_THAT(store::EnsureLayout(*conn_, keys_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--migrate_layout")));
  EXPECT_THAT(Run({"DBSIZE"}), IsOkAndHolds(before));
  EXPECT_THAT(Run({"EXISTS", keys_.Meta()}), IsOkAndHolds("0"));
}

TEST_F(LayoutTest, AHookAloneIsEnoughToRecogniseTheOldLayout) {
  if (redis_->cluster()) GTEST_SKIP() << "the unsharded layout never ran on a cluster";
  ASSERT_OK(Run({"SET", "hookrelay:{acme}:version", "1"}).status());
  EXPECT_THAT(store::HasLegacyLayout(*conn_, keys_), IsOkAndHolds(true));
  ASSERT_OK(redis_->FlushAll());
  ASSERT_OK(store::EnsureLayout(*conn_, keys_));  // sharded keys are not mistaken for it
  ASSERT_OK(Run({"SET", keys_.Version("acme"), "1"}).status());
  EXPECT_THAT(store::HasLegacyLayout(*conn_, keys_), IsOkAndHolds(false));
}

// Everything moves; the pending and unread deliveries land in their tenant's shard stream,
// the retry in its shard's retry set at the same due time; nothing acknowledged comes back.
TEST_F(LayoutTest, MigrationMovesEveryKeyAndEveryUnfinishedDelivery) {
  if (redis_->cluster()) GTEST_SKIP() << "the unsharded layout never ran on a cluster";
  WriteLegacyData();
  ASSERT_OK_AND_ASSIGN(MigrationReport report, MigrateLegacyLayout(*conn_, keys_));
  EXPECT_EQ(report.tenant_keys, 5);
  EXPECT_EQ(report.api_keys, 1);
  EXPECT_EQ(report.tasks, 2);
  EXPECT_EQ(report.retries, 1);
  EXPECT_EQ(report.dropped, 0);

  EXPECT_OK(store::EnsureLayout(*conn_, keys_));
  EXPECT_THAT(store::HasLegacyLayout(*conn_, keys_), IsOkAndHolds(false));
  for (const char* gone : {"hookrelay:stream", "hookrelay:retry", "hookrelay:apikeys",
                           "hookrelay:{acme}:version", "hookrelay:apikey:abc"}) {
    EXPECT_THAT(Run({"EXISTS", gone}), IsOkAndHolds("0")) << gone;
  }
  store::RedisPool pool({.url = redis_->url()});
  store::HookStore hooks(pool, keys_);
  ASSERT_OK_AND_ASSIGN(store::TenantHooks acme, hooks.LoadTenant("acme"));
  EXPECT_EQ(acme.version, 5);
  ASSERT_EQ(acme.hooks.size(), 1u);
  EXPECT_EQ(acme.hooks[0].url(), "https://example.com/h");
  EXPECT_THAT(redis_->Ttl(keys_.Event("acme", "evt_1")), AllOf(Ge(3500), Le(3600)));
  EXPECT_THAT(Run({"HGET", keys_.Delivery("acme", "dlv_2"), "s"}), IsOkAndHolds("1"));
  EXPECT_THAT(Run({"HGET", keys_.ApiKeys(), "key_1"}), IsOkAndHolds("abc"));
  EXPECT_THAT(Run({"GET", keys_.ApiKey("abc")}), IsOkAndHolds("key"));

  // dlv_2 (pending) and dlv_3 (unread) are in their shards' streams; dlv_1 (acked) is not.
  auto tasks_of = [&](const std::string& tenant) {
    std::vector<std::string> ids;
    auto conn = store::RedisConnection::Connect({.url = redis_->url()});
    auto r = (*conn)->Command({"XRANGE", keys_.StreamOf(tenant), "-", "+"});
    for (const auto& e : r->elements) {
      v1::DeliveryTask t;
      if (t.ParseFromString(e.elements[1].elements[1].str) && t.tenant() == tenant) {
        ids.push_back(t.delivery_id());
      }
    }
    return ids;
  };
  EXPECT_THAT(tasks_of("acme"), ::testing::ElementsAre("dlv_2"));
  EXPECT_THAT(tasks_of("globex"), ::testing::ElementsAre("dlv_3"));
  EXPECT_THAT(Run({"ZSCORE", keys_.RetrySetOf("acme"), Task("acme", "dlv_4")}),
              IsOkAndHolds("1700000000000"));
}

TEST_F(LayoutTest, MigrationRefusesAnotherShardCountThanRecorded) {
  ASSERT_OK(store::EnsureLayout(*conn_, store::KeySchema("hookrelay:", 4)));
  EXPECT_THAT(MigrateLegacyLayout(*conn_, keys_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--shards=4")));
}

}  // namespace
}  // namespace hookrelay::queue
