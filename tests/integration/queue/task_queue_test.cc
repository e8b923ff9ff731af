// TaskQueue and TaskReader against a private redis-server (standalone, or a Redis Cluster
// with HOOKRELAY_TEST_REDIS=cluster, which refuses any command spanning slots): the
// shards' streams, groups, retry sets, reclaim, trim, statistics, the maintenance lease, and
// a reader that is fair to every shard.
#include "libs/queue/task_queue.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/queue/task_reader.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::queue {
namespace {

using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::RedisServer;
using ::testing::ElementsAre;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixMillis(1700000000000);

std::string Task(int n) { return absl::StrCat("task-", n); }

class TaskQueueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    ASSERT_OK_AND_ASSIGN(conn_, store::RedisConnection::Connect({.url = redis_->url()}));
    ASSERT_OK(TaskQueue(*conn_, keys_).EnsureGroups());
  }

  // Appends `n` tasks to `shard`'s stream, pipelined.
  void Add(int shard, int n, int first = 0) {
    store::Pipeline p;
    for (int i = first; i < first + n; ++i) AddTask(keys_, shard, Task(i), &p);
    ASSERT_OK(conn_->Execute(p).status());
  }
  long long Len(const std::string& key, const char* cmd = "XLEN") {
    long long n = -1;
    EXPECT_TRUE(absl::SimpleAtoi(redis_->Command({cmd, key}).value_or("x"), &n));
    return n;
  }
  // Reads until `want` entries came back (reads answer as their shards have entries).
  std::vector<StreamEntry> ReadAtLeast(TaskReader& reader, size_t want) {
    std::vector<StreamEntry> out;
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          auto read = reader.Read(100, absl::Milliseconds(100));
          if (read.ok()) out.insert(out.end(), read->begin(), read->end());
          return out.size() >= want;
        },
        absl::Seconds(5)));
    return out;
  }
  TaskReader Reader(const std::string& consumer, int batch = 128) {
    return TaskReader(keys_, {.redis = {.url = redis_->url()},
                              .consumer = consumer,
                              .batch_size = batch,
                              .quiet_batch = 2,
                              .block = absl::Milliseconds(200)});
  }

  inline static std::unique_ptr<RedisServer> redis_;
  const store::KeySchema keys_{"hookrelay:", 4};
  std::unique_ptr<store::RedisConnection> conn_;
};

TEST_F(TaskQueueTest, EveryShardHasItsStreamAndGroup) {
  for (int s = 0; s < keys_.shards(); ++s) {
    EXPECT_THAT(redis_->Command({"XINFO", "GROUPS", keys_.Stream(s)}),
                IsOkAndHolds(::testing::HasSubstr("workers")));
  }
  // Creating them again is harmless.
  EXPECT_OK(TaskQueue(*conn_, keys_).EnsureGroups());
}

TEST_F(TaskQueueTest, DueRetriesMoveBackToTheirOwnShardsStreamOnly) {
  store::Pipeline p;
  AddRetry(keys_, 0, kNow - absl::Seconds(1), "due-0", &p);
  AddRetry(keys_, 2, kNow, "due-2", &p);
  AddRetry(keys_, 2, kNow + absl::Seconds(1), "later-2", &p);
  ASSERT_OK(conn_->Execute(p).status());
  EXPECT_THAT(TaskQueue(*conn_, keys_).PromoteDue(kNow, 100), IsOkAndHolds(2));
  EXPECT_EQ(Len(keys_.Stream(0)), 1);
  EXPECT_EQ(Len(keys_.Stream(1)), 0);
  EXPECT_EQ(Len(keys_.Stream(2)), 1);
  EXPECT_EQ(Len(keys_.RetrySet(2), "ZCARD"), 1);  // not due yet
  EXPECT_THAT(TaskQueue(*conn_, keys_).PromoteDue(kNow, 100), IsOkAndHolds(0));
}

TEST_F(TaskQueueTest, PromotionAfterAScriptCacheFlushStillWorks) {
  store::Pipeline p;
  AddRetry(keys_, 1, kNow, "due", &p);
  ASSERT_OK(conn_->Execute(p).status());
  ASSERT_OK(TaskQueue(*conn_, keys_).PromoteDue(kNow, 10).status());  // loads the script
  ASSERT_OK(redis_->Command({"SCRIPT", "FLUSH"}).status());
  p.Clear();
  AddRetry(keys_, 1, kNow, "due-again", &p);
  ASSERT_OK(conn_->Execute(p).status());
  EXPECT_THAT(TaskQueue(*conn_, keys_).PromoteDue(kNow, 10), IsOkAndHolds(1));
}

TEST_F(TaskQueueTest, ClaimIdleTakesOtherConsumersIdleEntriesAndCountsDeliveries) {
  Add(3, 3);
  TaskReader dead = Reader("dead");
  ASSERT_THAT(ReadAtLeast(dead, 3), SizeIs(3));
  // Not idle long enough yet.
  EXPECT_THAT(TaskQueue(*conn_, keys_).ClaimIdle(3, "live", absl::Hours(1), 10),
              IsOkAndHolds(SizeIs(0)));
  std::vector<StreamEntry> claimed;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto more = TaskQueue(*conn_, keys_).ClaimIdle(3, "live", absl::Milliseconds(50), 10);
        if (more.ok()) claimed.insert(claimed.end(), more->begin(), more->end());
        return claimed.size() >= 3;
      },
      absl::Seconds(5)));
  ASSERT_THAT(claimed, SizeIs(3));
  for (const StreamEntry& e : claimed) {
    EXPECT_EQ(e.shard, 3);
    EXPECT_EQ(e.deliveries, 2);
  }
  // The live consumer's own entries are not claimed again by itself.
  EXPECT_THAT(TaskQueue(*conn_, keys_).ClaimIdle(3, "live", absl::ZeroDuration(), 10),
              IsOkAndHolds(SizeIs(0)));
}

TEST_F(TaskQueueTest, TrimKeepsWhatIsPendingOrUnread) {
  Add(1, 5);
  TaskReader reader = Reader("c", 3);
  ASSERT_OK_AND_ASSIGN(auto read, reader.Read(3, absl::Seconds(2)));
  ASSERT_THAT(read, SizeIs(2));  // a quiet shard's first read brings quiet_batch
  store::Pipeline ack;
  AddAck(keys_, 1, {read[0].id}, &ack);
  ASSERT_OK(conn_->Execute(ack).status());
  ASSERT_OK(TaskQueue(*conn_, keys_).Trim(1));
  // The acknowledged first entry is gone; the pending second and the unread rest stay.
  EXPECT_EQ(Len(keys_.Stream(1)), 4);
}

TEST_F(TaskQueueTest, StatsCountEachShardsLagPendingAndRetries) {
  Add(0, 4);
  Add(2, 1);
  store::Pipeline p;
  AddRetry(keys_, 3, kNow, "r", &p);
  ASSERT_OK(conn_->Execute(p).status());
  TaskReader reader = Reader("c");
  // Every entry: a read parked on a shard may have taken its entries already (they are
  // pending) while another shard's answer came back first.
  const std::vector<StreamEntry> read = ReadAtLeast(reader, 5);
  ASSERT_OK_AND_ASSIGN(std::vector<ShardStats> stats, TaskQueue(*conn_, keys_).Stats());
  ASSERT_THAT(stats, SizeIs(4));
  long long handed_out = 0;
  for (const ShardStats& s : stats) handed_out += s.pending;
  EXPECT_EQ(handed_out, static_cast<long long>(read.size()));
  EXPECT_EQ(stats[0].lag + stats[0].pending, 4);
  EXPECT_EQ(stats[2].lag + stats[2].pending, 1);
  EXPECT_EQ(stats[3].retries, 1);
  EXPECT_EQ(stats[1].lag + stats[1].pending + stats[1].retries, 0);
}

TEST_F(TaskQueueTest, OneHolderHasAShardsLeaseUntilItExpires) {
  TaskQueue q(*conn_, keys_);
  EXPECT_THAT(q.TryLease(2, "w1", absl::Milliseconds(300)), IsOkAndHolds(true));
  EXPECT_THAT(q.TryLease(2, "w2", absl::Milliseconds(300)), IsOkAndHolds(false));
  EXPECT_THAT(q.TryLease(2, "w1", absl::Milliseconds(300)), IsOkAndHolds(true));  // renewed
  EXPECT_THAT(q.TryLease(1, "w2", absl::Milliseconds(300)), IsOkAndHolds(true));  // another shard
  ASSERT_TRUE(
      testing::WaitFor([&] { return q.TryLease(2, "w2", absl::Milliseconds(300)).value_or(false); },
                       absl::Seconds(5)));
}

TEST_F(TaskQueueTest, RequeueSendsDeliveriesBackToTheirTenantsShard) {
  const std::string tenant = "acme";
  ASSERT_OK(RequeueAll(*conn_, keys_, tenant, {{"dlv_1", "t1"}, {"dlv_2", "t2"}}, kNow));
  EXPECT_EQ(Len(keys_.StreamOf(tenant)), 2);
  EXPECT_THAT(redis_->Command({"HGET", keys_.Delivery(tenant, "dlv_1"), "s"}),
              IsOkAndHolds(std::to_string(v1::DELIVERY_STATUS_PENDING)));
}

// A shard with a deep backlog gets fair shares of the room, and a quiet shard's entry comes
// back in the first round after it was added, not after the backlog.
TEST_F(TaskQueueTest, ABackloggedShardDoesNotStarveAQuietOne) {
  Add(0, 5000);
  TaskReader reader = Reader("c", 100);
  int from_backlog = 0;
  // Warm up: the backlogged shard turns busy.
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(auto read, reader.Read(100, absl::Seconds(2)));
    from_backlog += static_cast<int>(read.size());
  }
  Add(2, 1, 99999);
  bool quiet_seen = false;
  for (int round = 0; round < 2 && !quiet_seen; ++round) {
    ASSERT_OK_AND_ASSIGN(auto read, reader.Read(100, absl::Seconds(2)));
    for (const StreamEntry& e : read) {
      if (e.shard == 2) {
        quiet_seen = true;
        EXPECT_EQ(e.task, Task(99999));
      }
    }
  }
  EXPECT_TRUE(quiet_seen) << "the quiet shard's entry waited behind the backlog";
  EXPECT_GT(from_backlog, 150) << "the busy shard was not read in full batches";
}

TEST_F(TaskQueueTest, WakeEndsAWaitingRead) {
  TaskReader reader = Reader("c");
  std::thread waker([&] {
    absl::SleepFor(absl::Milliseconds(50));
    reader.Wake();
  });
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(auto read, reader.Read(10, absl::Seconds(10)));
  waker.join();
  EXPECT_THAT(read, SizeIs(0));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(TaskQueueTest, DrainReturnsWhatReadsStillOutBrought) {
  TaskReader reader = Reader("c");
  ASSERT_OK_AND_ASSIGN(auto read, reader.Read(10, absl::ZeroDuration()));  // reads go out
  EXPECT_THAT(read, SizeIs(0));
  Add(1, 1);
  std::vector<StreamEntry> drained = reader.Drain();
  ASSERT_THAT(drained, SizeIs(1));
  EXPECT_EQ(drained[0].shard, 1);
}

TEST_F(TaskQueueTest, ReaderRecreatesAGroupLostWithItsStream) {
  TaskReader reader = Reader("c");
  ASSERT_OK(redis_->FlushAll());
  // The first read finds no group and creates the groups again; the next ones read.
  (void)reader.Read(10, absl::Milliseconds(100));
  Add(0, 1);
  bool got = false;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto read = reader.Read(10, absl::Milliseconds(100));
        got |= read.ok() && !read->empty();
        return got;
      },
      absl::Seconds(5)));
}

}  // namespace
}  // namespace hookrelay::queue
