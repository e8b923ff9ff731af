// Tests of DeliveryStore against a private redis-server: the records the publish writes, the
// attempts the worker adds to them (AddAttemptUpdate), read back whole by Get and as summaries
// by List.

#include "libs/store/delivery_store.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/store/event_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::store {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::hookrelay::testing::RedisServer;
using ::hookrelay::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Gt;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixMillis(1700000000123);

class DeliveryStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override { ASSERT_OK(redis_->FlushAll()); }

  // Publishes one event of tenant "acme" to hook "wh_1" and returns its delivery id.
  std::string Publish() {
    v1::Event event;
    event.set_id(core::NewId(core::kEventIdPrefix, kNow));
    event.set_tenant("acme");
    event.set_type("review.created");
    event.set_payload("{}");
    const std::vector<NewDelivery> deliveries = {
        {core::NewId(core::kDeliveryIdPrefix, kNow), "wh_1"}};
    Pipeline p;
    absl::flat_hash_set<std::string> indexes;
    p.Add({"MULTI"});
    AddPublishWrites(keys_, EventStoreOptions{}, event, deliveries, kNow, &indexes, &p);
    p.Add({"EXEC"});
    auto conn = pool_.Acquire();
    EXPECT_OK(conn.status());
    if (conn.ok()) {
      auto replies = (*conn)->Execute(p);
      EXPECT_OK(replies.status());
      if (replies.ok()) EXPECT_EQ(replies->back().type, RedisReply::Type::kArray);
    }
    return deliveries[0].delivery_id;
  }

  // Records one attempt the way the worker's recorder does.
  void Record(const std::string& delivery_id, const std::string& attempt_id, int number,
              int http_status, v1::DeliveryStatus status, absl::Time start) {
    AttemptUpdate u{
        .tenant = "acme", .delivery_id = delivery_id, .attempt_id = attempt_id, .status = status};
    u.attempt.set_number(number);
    u.attempt.set_http_status(http_status);
    *u.attempt.mutable_start_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(start));
    Pipeline p;
    AddAttemptUpdate(keys_, u, start, &p);
    auto conn = pool_.Acquire();
    ASSERT_OK(conn.status());
    ASSERT_OK((*conn)->Execute(p).status());
  }

  long long Ttl(const std::string& key) { return redis_->Ttl(key); }

  inline static std::unique_ptr<RedisServer> redis_;
  KeySchema keys_;
  RedisPool pool_{RedisOptions{.url = redis_->url()}};
  DeliveryStore store_{pool_, keys_};
};

TEST_F(DeliveryStoreTest, AttemptsComeBackOldestFirstAndNoneIsLost) {
  const std::string id = Publish();
  const long long ttl = Ttl(keys_.Delivery("acme", id));
  ASSERT_THAT(ttl, Gt(0));
  // Recorded out of order, and a manual retry numbered like the scheduled attempt 2.
  Record(id, "1700000003000-0", 3, 200, v1::DELIVERY_STATUS_SUCCEEDED, kNow + absl::Seconds(3));
  Record(id, "1700000000200-0", 1, 500, v1::DELIVERY_STATUS_RETRY_SCHEDULED, kNow);
  Record(id, "1700000002000-0", 2, 502, v1::DELIVERY_STATUS_RETRY_SCHEDULED,
         kNow + absl::Seconds(2));
  Record(id, "1700000001000-0", 2, 503, v1::DELIVERY_STATUS_RETRY_SCHEDULED,
         kNow + absl::Seconds(1));

  ASSERT_OK_AND_ASSIGN(v1::Delivery d, store_.Get("acme", id));
  std::vector<int> statuses;
  for (const v1::Attempt& a : d.attempts()) statuses.push_back(a.http_status());
  EXPECT_THAT(statuses, ElementsAre(500, 503, 502, 200));
  // The record holds the last write's status fields.
  EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_RETRY_SCHEDULED);
  EXPECT_EQ(d.attempt_count(), 2);
  EXPECT_EQ(d.last_http_status(), 503);
  EXPECT_EQ(d.webhook_id(), "wh_1");
  // The attempts live in the record: no second key, and the record keeps its TTL.
  EXPECT_EQ(redis_->Command({"EXISTS", keys_.LegacyAttempts("acme", id)}).value_or(""), "0");
  EXPECT_THAT(Ttl(keys_.Delivery("acme", id)), Gt(ttl - 5));
}

TEST_F(DeliveryStoreTest, ReadsAttemptsKeptInTheOlderListToo) {
  const std::string id = Publish();
  v1::Attempt old;
  old.set_number(1);
  old.set_http_status(500);
  ASSERT_OK(redis_->Command({"RPUSH", keys_.LegacyAttempts("acme", id), old.SerializeAsString()})
                .status());
  Record(id, "1700000001000-0", 2, 200, v1::DELIVERY_STATUS_SUCCEEDED, kNow + absl::Seconds(1));

  ASSERT_OK_AND_ASSIGN(v1::Delivery d, store_.Get("acme", id));
  ASSERT_EQ(d.attempts_size(), 2);
  EXPECT_EQ(d.attempts(0).http_status(), 500);
  EXPECT_EQ(d.attempts(1).http_status(), 200);
}

TEST_F(DeliveryStoreTest, ListGivesSummariesWithoutAttemptsAndSkipsExpiredRecords) {
  const std::string first = Publish();
  const std::string second = Publish();
  const std::string expired = Publish();
  Record(first, "1700000001000-0", 1, 200, v1::DELIVERY_STATUS_SUCCEEDED, kNow);
  ASSERT_OK(redis_->Command({"DEL", keys_.Delivery("acme", expired)}).status());

  ASSERT_OK_AND_ASSIGN(DeliveryPage page,
                       store_.List(DeliveryQuery{.tenant = "acme", .webhook_id = "wh_1"}));
  ASSERT_EQ(page.deliveries.size(), 2u);
  for (const v1::Delivery& d : page.deliveries) {
    EXPECT_THAT(d.attempts(), IsEmpty());
    EXPECT_EQ(d.webhook_id(), "wh_1");
    EXPECT_EQ(d.event_type(), "review.created");
    if (d.id() == first) {
      EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_SUCCEEDED);
      EXPECT_EQ(d.last_http_status(), 200);
      EXPECT_EQ(d.attempt_count(), 1);
    } else {
      EXPECT_EQ(d.id(), second);
      EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_PENDING);
      EXPECT_EQ(d.attempt_count(), 0);
    }
  }
  EXPECT_THAT(store_.Get("acme", expired), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace hookrelay::store
