// Tests of PublishBatcher, the registry's group commit for PublishEvent, against a private
// redis-server: many concurrent callers each get their own event and deliveries, concurrent
// events share Redis round trips, a caller's own batch (PublishEvents) is published whole
// beside them, a lone call is published at once, Redis being down fails every waiting call
// with UNAVAILABLE, and nothing is accepted after Stop().

#include "libs/queue/publish_batcher.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/core/notification.h"
#include "libs/store/event_store.h"
#include "libs/store/hook_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "tests/integration/queue/publish_fixture.h"

namespace hookrelay::queue {
namespace {

using ::hookrelay::testing::StatusIs;
using ::testing::Lt;
using ::testing::SizeIs;

// One call's outcome, filled by the batcher's completion.
struct Answer {
  core::Notification done;
  absl::StatusOr<v1::PublishEventResponse> result = absl::UnknownError("no answer");
};

class PublishBatcherTest : public PublishFixture {
 protected:
  void SetUp() override {
    PublishFixture::SetUp();
    hook_id_ = CreateHook();
  }

  static v1::PublishEventRequest Event(int i) {
    v1::PublishEventRequest req;
    req.set_tenant("acme");
    req.set_type("order.created");
    req.set_payload(absl::StrCat(R"({"order":)", i, "}"));
    return req;
  }

  void Submit(PublishBatcher& b, v1::PublishEventRequest req, Answer* a) {
    b.Submit(std::move(req), [a](absl::StatusOr<v1::PublishEventResponse> r) {
      a->result = std::move(r);
      a->done.Notify();
    });
  }

  // Calls of `command` Redis has served since the last CONFIG RESETSTAT.
  long long Calls(absl::string_view command) {
    const std::string stats = redis_->Command({"INFO", "commandstats"}).value_or("");
    const std::string prefix = absl::StrCat("cmdstat_", command, ":calls=");
    for (absl::string_view line : absl::StrSplit(stats, '\n')) {
      if (!absl::ConsumePrefix(&line, prefix)) continue;
      long long calls = 0;
      if (absl::SimpleAtoi(line.substr(0, line.find(',')), &calls)) return calls;
    }
    return 0;
  }

  std::string hook_id_;
};

TEST_F(PublishBatcherTest, ConcurrentCallersEachGetTheirOwnEventAndShareRoundTrips) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  PublishBatcher batcher(publisher_, PublishBatcherOptions{.flushers = 2, .max_batch = 64});
  // Loads the tenant's hooks into the index first, so the count below is publish calls only.
  Answer warm;
  Submit(batcher, Event(-1), &warm);
  warm.done.WaitForNotification();
  ASSERT_OK(warm.result.status());
  ASSERT_OK(redis_->Command({"CONFIG", "RESETSTAT"}).status());
  const int64_t flushes_before = batcher.flushes();

  std::vector<Answer> answers(kThreads * kPerThread);
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        Submit(batcher, Event(n), &answers[n]);
      }
    });
  }
  for (std::thread& t : callers) t.join();
  std::set<std::string> event_ids, delivery_ids;
  for (Answer& a : answers) {
    ASSERT_TRUE(a.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    ASSERT_OK(a.result.status());
    event_ids.insert(a.result->event_id());
    ASSERT_THAT(a.result->delivery_ids(), SizeIs(1));
    delivery_ids.insert(a.result->delivery_ids(0));
  }
  EXPECT_EQ(event_ids.size(), answers.size());
  EXPECT_EQ(delivery_ids.size(), answers.size());
  // Every event is stored, with its own payload.
  for (int n : {0, 777, kThreads * kPerThread - 1}) {
    ASSERT_OK_AND_ASSIGN(v1::Event e, events_.Get("acme", answers[n].result->event_id()));
    EXPECT_EQ(e.payload(), Event(n).payload());
  }
  EXPECT_EQ(redis_->Command({"XLEN", keys_.StreamOf("acme")}).value_or(""),
            absl::StrCat(answers.size() + 1));
  // One task per event, written by one transaction per flush, in far fewer flushes than
  // events.
  EXPECT_EQ(Calls("xadd"), static_cast<long long>(answers.size()));
  const int64_t flushes = batcher.flushes() - flushes_before;
  EXPECT_EQ(Calls("exec"), flushes);
  EXPECT_THAT(flushes, Lt(static_cast<int64_t>(answers.size()) / 2));
  EXPECT_EQ(batcher.published(), static_cast<int64_t>(answers.size()) + 1);
}

// PublishEvents: a caller's batch goes through the same queue as single calls but is
// published alone, in its own transaction, and single calls queued beside it still share
// round trips; the flushers take turns, so neither kind waits for the other to drain.
TEST_F(PublishBatcherTest, ACallersBatchIsPublishedWholeBesideQueuedSingleCalls) {
  PublishBatcher batcher(publisher_, PublishBatcherOptions{.flushers = 2, .max_batch = 64});
  constexpr int kBatches = 20;
  constexpr int kPerBatch = 50;
  constexpr int kSingles = 400;
  struct BatchAnswer {
    core::Notification done;
    absl::StatusOr<std::vector<v1::PublishEventResponse>> result = absl::UnknownError("none");
  };
  std::vector<BatchAnswer> batches(kBatches);
  std::vector<Answer> singles(kSingles);
  std::thread batch_caller([&] {
    for (int b = 0; b < kBatches; ++b) {
      v1::PublishEventsRequest req;
      for (int i = 0; i < kPerBatch; ++i) *req.add_events() = Event(10000 + b * kPerBatch + i);
      batcher.SubmitBatch(std::move(req), [a = &batches[b]](auto r) {
        a->result = std::move(r);
        a->done.Notify();
      });
    }
  });
  for (int i = 0; i < kSingles; ++i) Submit(batcher, Event(i), &singles[i]);
  batch_caller.join();

  std::set<std::string> event_ids;
  for (int b = 0; b < kBatches; ++b) {
    ASSERT_TRUE(batches[b].done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    ASSERT_OK(batches[b].result.status());
    ASSERT_THAT(*batches[b].result, SizeIs(kPerBatch));
    for (int i = 0; i < kPerBatch; ++i) {
      const v1::PublishEventResponse& r = (*batches[b].result)[i];
      ASSERT_THAT(r.delivery_ids(), SizeIs(1));
      event_ids.insert(r.event_id());
    }
    // In the caller's order: the last result is the batch's last event.
    ASSERT_OK_AND_ASSIGN(v1::Event last, events_.Get("acme", batches[b].result->back().event_id()));
    EXPECT_EQ(last.payload(), Event(10000 + b * kPerBatch + kPerBatch - 1).payload());
  }
  for (Answer& a : singles) {
    ASSERT_TRUE(a.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    ASSERT_OK(a.result.status());
    event_ids.insert(a.result->event_id());
  }
  EXPECT_EQ(event_ids.size(), static_cast<size_t>(kBatches * kPerBatch + kSingles));
  EXPECT_EQ(redis_->Command({"XLEN", keys_.StreamOf("acme")}).value_or(""),
            absl::StrCat(kBatches * kPerBatch + kSingles));
  EXPECT_EQ(batcher.published(), kBatches * kPerBatch + kSingles);

  batcher.Stop();
  BatchAnswer late;
  v1::PublishEventsRequest req;
  *req.add_events() = Event(1);
  batcher.SubmitBatch(std::move(req), [&](auto r) {
    late.result = std::move(r);
    late.done.Notify();
  });
  ASSERT_TRUE(late.done.HasBeenNotified());
  EXPECT_THAT(late.result.status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(PublishBatcherTest, ALoneCallIsPublishedAtOnce) {
  PublishBatcher batcher(publisher_, PublishBatcherOptions{});
  Answer a;
  const absl::Time start = absl::Now();
  Submit(batcher, Event(1), &a);
  ASSERT_TRUE(a.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ASSERT_OK(a.result.status());
  EXPECT_THAT(absl::Now() - start, Lt(absl::Seconds(1)));
  ASSERT_OK_AND_ASSIGN(v1::Event e, events_.Get("acme", a.result->event_id()));
  EXPECT_EQ(e.type(), "order.created");
}

TEST_F(PublishBatcherTest, RedisDownFailsEveryWaitingCallWithUnavailable) {
  PublishBatcher batcher(publisher_, PublishBatcherOptions{.flushers = 1, .max_batch = 8});
  Answer warm;
  Submit(batcher, Event(0), &warm);
  warm.done.WaitForNotification();
  ASSERT_OK(warm.result.status());
  ASSERT_OK(redis_->Stop());
  std::vector<Answer> answers(20);
  for (int i = 0; i < 20; ++i) Submit(batcher, Event(i), &answers[i]);
  for (Answer& a : answers) {
    ASSERT_TRUE(a.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    EXPECT_THAT(a.result.status(), StatusIs(absl::StatusCode::kUnavailable));
  }
  ASSERT_OK(redis_->StartAgain());
  Answer after;
  Submit(batcher, Event(99), &after);
  ASSERT_TRUE(after.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_OK(after.result.status());
}

TEST_F(PublishBatcherTest, StopWhileCallersSubmitAnswersEveryCallOnceAndLosesNone) {
  auto batcher = std::make_unique<PublishBatcher>(publisher_, PublishBatcherOptions{});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::vector<Answer> answers(kThreads * kPerThread);
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Submit(*batcher, Event(i), &answers[t * kPerThread + i]);
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(5));
  batcher->Stop();  // returns once every accepted call is published and answered
  for (std::thread& t : callers) t.join();
  int published = 0;
  for (Answer& a : answers) {
    ASSERT_TRUE(a.done.HasBeenNotified());
    if (a.result.ok()) {
      ++published;
    } else {
      EXPECT_THAT(a.result.status(), StatusIs(absl::StatusCode::kUnavailable));
    }
  }
  EXPECT_GT(published, 0);
  // What was answered OK is stored; what was refused is not.
  EXPECT_EQ(redis_->Command({"XLEN", keys_.StreamOf("acme")}).value_or(""),
            absl::StrCat(published));
  Answer late;
  Submit(*batcher, Event(1000), &late);
  ASSERT_TRUE(late.done.HasBeenNotified());
  EXPECT_THAT(late.result.status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(PublishBatcherOptionsTest, RejectsOutOfRangeValuesNamingTheFlag) {
  EXPECT_THAT(
      PublishBatcherOptions{.flushers = 0}.Validate(),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("publish_flushers")));
  EXPECT_THAT(PublishBatcherOptions{.max_batch = 0}.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("publish_batch")));
  EXPECT_OK(PublishBatcherOptions{}.Validate());
}

}  // namespace
}  // namespace hookrelay::queue
