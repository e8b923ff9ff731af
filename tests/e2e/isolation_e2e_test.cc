// End to end, with the services as processes and default flags: a dead endpoint with a
// backlog does not slow anyone else. One hook's receiver never answers (each attempt waits
// out the default 10 s timeout) and 300 deliveries queue for it; a healthy hook receives a
// steady 20 events/s for 25 s, across two of the dead hook's timeout periods. The healthy
// hook's publish → delivered latency must stay that of an idle system: p99 ≤ 50 ms.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/latency_log.h"
#include "tests/e2e/stack.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::testing {
namespace {

constexpr int kRate = 20;
constexpr absl::Duration kSteady = absl::Seconds(25);
constexpr int kDeadBacklog = 300;

grpc::Status CreateHook(Stack& stack, const std::string& url, const std::string& types) {
  v1::CreateWebhookRequest req;
  req.mutable_webhook()->set_tenant("acme");
  req.mutable_webhook()->set_url(url);
  req.mutable_webhook()->add_event_types(types);
  v1::Webhook out;
  return stack.stub().CreateWebhook(stack.Context().get(), req, &out);
}

TEST(IsolationE2eTest, ADeadEndpointsBacklogDoesNotSlowAHealthyHook) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  ASSERT_OK_AND_ASSIGN(auto dead, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kHang};
                       }));
  LatencyLog latency;
  ASSERT_OK_AND_ASSIGN(auto healthy, HttpReceiver::Start(latency.Recorder()));
  ASSERT_OK_AND_ASSIGN(auto stack, Stack::Start(*redis));
  ASSERT_TRUE(CreateHook(*stack, dead->Url("/dead"), "dead.*").ok());
  ASSERT_TRUE(CreateHook(*stack, healthy->Url("/ok"), "order.*").ok());

  v1::PublishEventsRequest backlog;
  for (int i = 0; i < kDeadBacklog; ++i) {
    v1::PublishEventRequest* e = backlog.add_events();
    e->set_tenant("acme");
    e->set_type("dead.ping");
    e->set_payload("{}");
  }
  v1::PublishEventsResponse backlog_resp;
  ASSERT_TRUE(stack->stub().PublishEvents(stack->Context().get(), backlog, &backlog_resp).ok());
  ASSERT_TRUE(dead->WaitForRequests(1, absl::Seconds(10)));

  const int events = static_cast<int>(kRate * absl::ToDoubleSeconds(kSteady));
  const absl::Time start = absl::Now();
  for (int i = 0; i < events; ++i) {
    absl::SleepFor(start + i * absl::Seconds(1) / kRate - absl::Now());
    v1::PublishEventRequest req;
    req.set_tenant("acme");
    req.set_type("order.created");
    req.set_payload(LatencyLog::StampedPayload());
    v1::PublishEventResponse resp;
    ASSERT_TRUE(stack->stub().PublishEvent(stack->Context().get(), req, &resp).ok());
  }
  ASSERT_TRUE(latency.WaitForCount(events, absl::Seconds(30)))
      << healthy->RequestCount() << " of " << events;
  const LatencyLog::Summary l = latency.Summarize();
  std::cout << "healthy hook beside a dead one: " << l.count << " deliveries, p50 " << l.p50
            << ", p99 " << l.p99 << ", max " << l.max << "; the dead receiver got "
            << dead->RequestCount() << " requests\n";
  EXPECT_EQ(l.count, static_cast<size_t>(events));
  EXPECT_LE(l.p99, absl::Milliseconds(50));
  // The dead hook never had more in flight than its per-hook limit (32) at a time: within
  // 25 s, at most three rounds of 10 s timeouts.
  EXPECT_LE(dead->RequestCount(), 3u * 32u);
}

}  // namespace
}  // namespace hookrelay::testing
