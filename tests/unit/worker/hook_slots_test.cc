// HookSlots: the per-hook limits that keep one endpoint from holding up the others, driven
// with explicit times (no threads, no clock).
#include "services/worker/hook_slots.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::worker {
namespace {

using Admit = HookSlots::Admit;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

std::unique_ptr<Job> NewJob(const std::string& delivery_id) {
  auto job = std::make_unique<Job>();
  job->task.set_delivery_id(delivery_id);
  return job;
}

HookSlots::Options Small() {
  return {.per_hook = 2,
          .queue_per_hook = 2,
          .stalled_after = absl::Seconds(1),
          .max_defer = absl::Seconds(30),
          .max_wait = absl::Seconds(15)};
}

TEST(HookSlotsTest, JobsBeyondAHooksLimitQueueAndTakeOverFreedSlotsInOrder) {
  HookSlots slots(Small());
  auto a = NewJob("a"), b = NewJob("b"), c = NewJob("c"), d = NewJob("d");
  EXPECT_EQ(slots.Acquire("h", a, kT0), Admit::kGo);
  EXPECT_EQ(slots.Acquire("h", b, kT0), Admit::kGo);
  EXPECT_EQ(slots.Acquire("h", c, kT0), Admit::kQueued);
  EXPECT_EQ(c, nullptr);  // moved into the queue
  EXPECT_EQ(slots.Acquire("h", d, kT0), Admit::kQueued);
  std::unique_ptr<Job> next = slots.Release("h", kT0 + absl::Milliseconds(5));
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->task.delivery_id(), "c");
  next = slots.Release("h", kT0 + absl::Milliseconds(6));
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->task.delivery_id(), "d");
  EXPECT_EQ(slots.Release("h", kT0 + absl::Milliseconds(7)), nullptr);
  EXPECT_EQ(slots.Release("h", kT0 + absl::Milliseconds(8)), nullptr);
}

TEST(HookSlotsTest, OneHooksLimitDoesNotAffectAnother) {
  HookSlots slots(Small());
  for (const char* id : {"1", "2"}) {
    auto job = NewJob(id);
    ASSERT_EQ(slots.Acquire("busy", job, kT0), Admit::kGo);
  }
  auto other = NewJob("x");
  EXPECT_EQ(slots.Acquire("other", other, kT0), Admit::kGo);
}

TEST(HookSlotsTest, AFullQueuePutsJobsOffForASecond) {
  HookSlots slots(Small());
  for (const char* id : {"1", "2", "3", "4"}) {
    auto job = NewJob(id);
    ASSERT_NE(slots.Acquire("h", job, kT0), Admit::kDefer);
  }
  auto fifth = NewJob("5");
  EXPECT_EQ(slots.Acquire("h", fifth, kT0), Admit::kDefer);
  ASSERT_NE(fifth, nullptr);  // stays with the caller
  EXPECT_EQ(fifth->defer_for, absl::Seconds(1));
}

// A hook at its limit that finished nothing for stalled_after: its queue is handed back and
// new jobs are put off for as long as it has been stalled (at least 1 s, at most max_defer).
TEST(HookSlotsTest, AStalledHooksQueueIsHandedBackAndNewJobsPutOffLonger) {
  HookSlots slots(Small());
  for (const char* id : {"1", "2", "3", "4"}) {
    auto job = NewJob(id);
    ASSERT_NE(slots.Acquire("dead", job, kT0), Admit::kDefer);
  }
  EXPECT_TRUE(slots.TakeStalled(kT0 + absl::Milliseconds(900)).empty());
  std::vector<std::unique_ptr<Job>> back = slots.TakeStalled(kT0 + absl::Seconds(3));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0]->task.delivery_id(), "3");
  EXPECT_EQ(back[0]->defer_for, absl::Seconds(3));
  auto late = NewJob("5");
  EXPECT_EQ(slots.Acquire("dead", late, kT0 + absl::Seconds(10)), Admit::kDefer);
  EXPECT_EQ(late->defer_for, absl::Seconds(10));
  auto later = NewJob("6");
  EXPECT_EQ(slots.Acquire("dead", later, kT0 + absl::Minutes(10)), Admit::kDefer);
  EXPECT_EQ(later->defer_for, absl::Seconds(30));
  // A finished request is progress: the hook takes jobs again.
  EXPECT_EQ(slots.Release("dead", kT0 + absl::Minutes(10)), nullptr);
  auto again = NewJob("7");
  EXPECT_EQ(slots.Acquire("dead", again, kT0 + absl::Minutes(10)), Admit::kGo);
}

// A busy but healthy hook keeps finishing requests, so it is never stalled; but a job that
// waits in its queue longer than max_wait is handed back, before another worker could
// reclaim its stream entry.
TEST(HookSlotsTest, AJobQueuedPastMaxWaitIsHandedBack) {
  HookSlots slots({.per_hook = 1,
                   .queue_per_hook = 20,
                   .stalled_after = absl::Seconds(1),
                   .max_defer = absl::Seconds(30),
                   .max_wait = absl::Seconds(5)});
  for (int i = 0; i < 21; ++i) {
    auto job = NewJob(std::to_string(i));
    ASSERT_NE(slots.Acquire("slow", job, kT0), Admit::kDefer) << i;
  }
  // One request finishes every half second; its slot goes to the queue's head.
  int started = 1;
  for (int tick = 1; tick <= 10; ++tick) {
    const absl::Time t = kT0 + absl::Milliseconds(500 * tick);
    ASSERT_NE(slots.Release("slow", t), nullptr);
    ++started;
    EXPECT_TRUE(slots.TakeStalled(t).empty()) << "not stalled, and nothing waited 5 s yet";
  }
  // 5.5 s: the 10 jobs still queued have waited longer than max_wait.
  std::vector<std::unique_ptr<Job>> back = slots.TakeStalled(kT0 + absl::Milliseconds(5500));
  ASSERT_EQ(back.size(), 21u - started);
  EXPECT_EQ(back.front()->task.delivery_id(), std::to_string(started));
  EXPECT_EQ(back.front()->defer_for, absl::Seconds(1));
}

TEST(HookSlotsTest, TakeAllEmptiesEveryQueue) {
  HookSlots slots(Small());
  for (const char* hook : {"a", "b"}) {
    for (const char* id : {"1", "2", "3"}) {
      auto job = NewJob(id);
      slots.Acquire(hook, job, kT0);
    }
  }
  EXPECT_EQ(slots.TakeAll().size(), 2u);
  EXPECT_TRUE(slots.TakeAll().empty());
}

}  // namespace
}  // namespace hookrelay::worker
