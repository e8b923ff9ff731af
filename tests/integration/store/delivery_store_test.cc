// Tests of DeliveryStore against a private redis-server: the records the publish writes, the
// attempts the worker adds to them (AddAttemptUpdate), read back whole by Get and as summaries
// by List.

#include "libs/store/delivery_store.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <set>
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
  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    // Listings need their hook to exist (its record's contents do not matter here).
    ASSERT_OK(redis_->Command({"SET", keys_.Hook("acme", "wh_1"), "hook"}).status());
  }

  // Publishes one event of tenant "acme" to hook "wh_1" at `at` and returns its delivery id.
  std::string Publish(absl::Time at = kNow, bool test = false) {
    v1::Event event;
    event.set_id(core::NewId(core::kEventIdPrefix, at));
    event.set_tenant("acme");
    event.set_type("review.created");
    event.set_payload("{}");
    const std::vector<NewDelivery> deliveries = {
        {core::NewId(core::kDeliveryIdPrefix, at), "wh_1"}};
    Pipeline p;
    absl::flat_hash_set<std::string> indexes;
    p.Add({"MULTI"});
    AddPublishWrites(keys_, EventStoreOptions{}, {.event = event, .test = test}, deliveries, at,
                     &indexes, &p);
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

// Follows the cursors of `q` to the end, `after` changing the index between pages; the ids
// listed.
std::vector<std::string> ListAll(DeliveryStore& store, DeliveryQuery q,
                                 const std::function<void(int page)>& after = nullptr) {
  std::vector<std::string> ids;
  for (int page = 0; page < 100; ++page) {
    absl::StatusOr<DeliveryPage> got = store.List(q);
    EXPECT_OK(got.status());
    if (!got.ok()) break;
    for (const v1::Delivery& d : got->deliveries) ids.push_back(d.id());
    if (got->next_cursor.empty()) break;
    q.after = got->next_cursor;
    if (after) after(page);
  }
  return ids;
}

TEST_F(DeliveryStoreTest, ListPagesByPositionSoNewerAndTiedDeliveriesDoNotShiftIt) {
  // 30 deliveries created in the same millisecond (a batch), then 10 a second later.
  std::vector<std::string> existing;
  for (int i = 0; i < 30; ++i) existing.push_back(Publish());
  for (int i = 0; i < 10; ++i) existing.push_back(Publish(kNow + absl::Seconds(1)));
  std::vector<std::string> added;
  const std::vector<std::string> listed = ListAll(
      store_, DeliveryQuery{.tenant = "acme", .webhook_id = "wh_1", .page_size = 7}, [&](int) {
        // Between pages: newer ones, and more in the batch's millisecond (their ids
        // fall anywhere among the batch's).
        added.push_back(Publish(kNow + absl::Seconds(2)));
        added.push_back(Publish());
      });
  std::set<std::string> unique(listed.begin(), listed.end());
  EXPECT_EQ(unique.size(), listed.size()) << "a delivery came twice";
  for (const std::string& id : existing) EXPECT_TRUE(unique.count(id)) << "skipped " << id;
  for (const std::string& id : listed) {
    EXPECT_TRUE(std::count(existing.begin(), existing.end(), id) ||
                std::count(added.begin(), added.end(), id));
  }
}

TEST_F(DeliveryStoreTest, ListEndsWithoutACursorAfterAFullLastPage) {
  for (int i = 0; i < 10; ++i) Publish(kNow + absl::Milliseconds(i));
  DeliveryQuery q{.tenant = "acme", .webhook_id = "wh_1", .page_size = 5};
  ASSERT_OK_AND_ASSIGN(DeliveryPage first, store_.List(q));
  ASSERT_EQ(first.deliveries.size(), 5u);
  ASSERT_FALSE(first.next_cursor.empty());
  q.after = first.next_cursor;
  ASSERT_OK_AND_ASSIGN(DeliveryPage second, store_.List(q));
  EXPECT_EQ(second.deliveries.size(), 5u);
  EXPECT_EQ(second.next_cursor, "");
}

TEST_F(DeliveryStoreTest, ACursorWhoseEntryRetentionRemovedEndsTheListingWithoutRepeats) {
  std::vector<std::string> older;
  for (int i = 0; i < 5; ++i) older.push_back(Publish(kNow));
  for (int i = 0; i < 5; ++i) Publish(kNow + absl::Hours(1));
  DeliveryQuery q{.tenant = "acme", .webhook_id = "wh_1", .page_size = 7};
  ASSERT_OK_AND_ASSIGN(DeliveryPage first, store_.List(q));  // the 5 newer, 2 older
  ASSERT_EQ(first.deliveries.size(), 7u);
  // Retention drops index entries by time, oldest first: here every older one, the page's
  // last entry (the cursor's) with them.
  ASSERT_OK(redis_
                ->Command({"ZREMRANGEBYSCORE", keys_.HookDeliveries("acme", "wh_1"), "-inf",
                           std::to_string(absl::ToUnixMillis(kNow))})
                .status());
  q.after = first.next_cursor;
  ASSERT_OK_AND_ASSIGN(DeliveryPage rest, store_.List(q));
  EXPECT_THAT(rest.deliveries, IsEmpty());  // not the newer ones again
  EXPECT_EQ(rest.next_cursor, "");
}

TEST_F(DeliveryStoreTest, ListOfAnUnknownHookOrEventIsNotFoundAndABadCursorIsInvalid) {
  EXPECT_THAT(store_.List(DeliveryQuery{.tenant = "acme", .webhook_id = "wh_2"}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_.List(DeliveryQuery{.tenant = "globex", .webhook_id = "wh_1"}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_.List(DeliveryQuery{.tenant = "acme", .event_id = "evt_1"}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_.List(DeliveryQuery{.tenant = "acme", .webhook_id = "wh_1", .after = "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DeliveryStoreTest, TestDeliveriesAreMarkedInTheirRecords) {
  const std::string ping = Publish(kNow, /*test=*/true);
  const std::string real = Publish(kNow);
  ASSERT_OK_AND_ASSIGN(DeliveryPage page,
                       store_.List(DeliveryQuery{.tenant = "acme", .webhook_id = "wh_1"}));
  ASSERT_EQ(page.deliveries.size(), 2u);
  for (const v1::Delivery& d : page.deliveries) EXPECT_EQ(d.test(), d.id() == ping) << d.id();
  ASSERT_OK_AND_ASSIGN(v1::Delivery got, store_.Get("acme", ping));
  EXPECT_TRUE(got.test());
  ASSERT_OK_AND_ASSIGN(got, store_.Get("acme", real));
  EXPECT_FALSE(got.test());
}

}  // namespace
}  // namespace hookrelay::store
