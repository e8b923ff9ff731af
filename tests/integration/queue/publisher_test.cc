// Tests of Publisher's tasks against a private redis-server: with inline_event_bytes, an
// event with one delivery published a few at a time travels inside its task (the stored
// event, byte for byte); without it, for fan-out, large events and larger batches, tasks
// only name the stored event.

#include "libs/queue/publisher.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/delivery.pb.h"
#include "tests/integration/queue/publish_fixture.h"

namespace hookrelay::queue {
namespace {

using ::google::protobuf::util::MessageDifferencer;

class PublisherTest : public PublishFixture {
 protected:
  void CreateHooks(int n) {
    for (int i = 0; i < n; ++i) CreateHook();
  }

  static v1::PublishEventRequest Order(const std::string& payload) {
    v1::PublishEventRequest req;
    req.set_tenant("acme");
    req.set_type("order.created");
    req.set_payload(payload);
    return req;
  }

  // Publishes an order.created event with `payload` through `publisher`; returns the
  // stream's tasks.
  std::vector<v1::DeliveryTask> PublishAndReadTasks(Publisher& publisher,
                                                    const std::string& payload) {
    auto out = publisher.Publish(Order(payload));
    EXPECT_OK(out.status());
    if (!out.ok()) return {};
    event_id_ = out->event_id();
    return ReadTasks();
  }

  // Publishes `n` events from independent callers in one group commit; returns the tasks.
  std::vector<v1::DeliveryTask> PublishTogetherAndReadTasks(Publisher& publisher, size_t n) {
    std::vector<v1::PublishEventRequest> reqs(n, Order(R"({"order":3})"));
    std::vector<const v1::PublishEventRequest*> ptrs;
    for (const v1::PublishEventRequest& r : reqs) ptrs.push_back(&r);
    for (const auto& out : publisher.PublishEach(ptrs)) EXPECT_OK(out.status());
    return ReadTasks();
  }

  std::vector<v1::DeliveryTask> ReadTasks() {
    std::vector<v1::DeliveryTask> tasks;
    auto conn = pool_.Acquire();
    EXPECT_OK(conn.status());
    if (!conn.ok()) return tasks;
    auto entries = (*conn)->Command({"XRANGE", keys_.StreamOf("acme"), "-", "+"});
    EXPECT_OK(entries.status());
    if (!entries.ok()) return tasks;
    for (const store::RedisReply& entry : entries->elements) {
      EXPECT_TRUE(tasks.emplace_back().ParseFromString(entry.elements[1].elements[1].str));
    }
    return tasks;
  }

  v1::Event StoredEvent() {
    v1::Event e;
    auto stored = events_.Get("acme", event_id_);
    EXPECT_OK(stored.status());
    if (stored.ok()) e = *stored;
    return e;
  }

  std::string event_id_;
  // As the registry by default.
  Publisher inlining_{hooks_, fan_out_, core::Clock::Real(), Publisher::kDefaultInlineEventBytes};
};

TEST_F(PublisherTest, AnEventForOneHookTravelsInItsTask) {
  CreateHooks(1);
  const std::vector<v1::DeliveryTask> tasks = PublishAndReadTasks(inlining_, R"({"order":1})");
  ASSERT_EQ(tasks.size(), 1u);
  ASSERT_TRUE(tasks[0].has_event());
  EXPECT_EQ(tasks[0].event_id(), event_id_);
  EXPECT_TRUE(MessageDifferencer::Equals(tasks[0].event(), StoredEvent()))
      << tasks[0].event().DebugString();
}

TEST_F(PublisherTest, EventsPublishedAFewAtATimeTravelInTheirTasks) {
  CreateHooks(1);
  const std::vector<v1::DeliveryTask> tasks =
      PublishTogetherAndReadTasks(inlining_, Publisher::kMaxInlineBatch);
  ASSERT_EQ(tasks.size(), Publisher::kMaxInlineBatch);
  for (const v1::DeliveryTask& t : tasks) {
    EXPECT_TRUE(t.has_event());
    EXPECT_EQ(t.event().id(), t.event_id());
  }
}

TEST_F(PublisherTest, EventsPublishedInALargerBatchNameTheStoredEventOnly) {
  CreateHooks(1);
  const std::vector<v1::DeliveryTask> tasks =
      PublishTogetherAndReadTasks(inlining_, Publisher::kMaxInlineBatch + 1);
  ASSERT_EQ(tasks.size(), Publisher::kMaxInlineBatch + 1);
  for (const v1::DeliveryTask& t : tasks) EXPECT_FALSE(t.has_event());
}

TEST_F(PublisherTest, WithoutInliningTasksNameTheStoredEventOnly) {
  CreateHooks(1);
  const std::vector<v1::DeliveryTask> tasks = PublishAndReadTasks(publisher_, R"({"order":1})");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_FALSE(tasks[0].has_event());
  EXPECT_EQ(tasks[0].event_id(), event_id_);
}

TEST_F(PublisherTest, FanOutTasksNameTheStoredEventOnly) {
  CreateHooks(3);
  const std::vector<v1::DeliveryTask> tasks = PublishAndReadTasks(inlining_, R"({"order":2})");
  ASSERT_EQ(tasks.size(), 3u);
  for (const v1::DeliveryTask& t : tasks) {
    EXPECT_FALSE(t.has_event());
    EXPECT_EQ(t.event_id(), event_id_);
  }
}

TEST_F(PublisherTest, AnEventOverTheInlineLimitIsNotCarried) {
  CreateHooks(1);
  const std::string big =
      absl::StrCat(R"({"blob":")", std::string(Publisher::kDefaultInlineEventBytes, 'x'), R"("})");
  const std::vector<v1::DeliveryTask> tasks = PublishAndReadTasks(inlining_, big);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_FALSE(tasks[0].has_event());
  EXPECT_EQ(StoredEvent().payload(), big);
}

}  // namespace
}  // namespace hookrelay::queue
