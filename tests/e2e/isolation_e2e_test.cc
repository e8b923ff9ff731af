// End to end, with the services as processes and default flags: a dead endpoint with a
// backlog does not slow anyone else. One hook's receiver never answers (each attempt waits
// out the default 10 s timeout) and 300 deliveries queue for it; a healthy hook receives a
// steady 20 events/s for 25 s, across two of the dead hook's timeout periods. The healthy
// hook's publish → delivered latency must stay that of an idle system: p99 ≤ 50 ms.
#include <algorithm>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
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
  std::mutex mu;
  std::vector<absl::Duration> latencies;
  ASSERT_OK_AND_ASSIGN(auto healthy, HttpReceiver::Start([&](const ReceivedRequest& r) {
                         const auto body = nlohmann::json::parse(r.body, nullptr, false);
                         const int64_t sent = body["data"]["sent_ns"].get<int64_t>();
                         std::lock_guard<std::mutex> lock(mu);
                         latencies.push_back(r.received_at - absl::FromUnixNanos(sent));
                         return Reply{.status = 204};
                       }));
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
    req.set_payload(absl::StrCat(R"({"sent_ns":)", absl::GetCurrentTimeNanos(), "}"));
    v1::PublishEventResponse resp;
    ASSERT_TRUE(stack->stub().PublishEvent(stack->Context().get(), req, &resp).ok());
  }
  ASSERT_TRUE(healthy->WaitForRequests(events, absl::Seconds(30)))
      << healthy->RequestCount() << " of " << events;
  std::lock_guard<std::mutex> lock(mu);
  std::sort(latencies.begin(), latencies.end());
  const absl::Duration p50 = latencies[latencies.size() / 2];
  const absl::Duration p99 = latencies[latencies.size() * 99 / 100];
  std::cout << "healthy hook beside a dead one: " << latencies.size() << " deliveries, p50 " << p50
            << ", p99 " << p99 << ", max " << latencies.back() << "; the dead receiver got "
            << dead->RequestCount() << " requests\n";
  EXPECT_LE(p99, absl::Milliseconds(50));
  // The dead hook never had more in flight than its per-hook limit (32) at a time: within
  // 25 s, at most three rounds of 10 s timeouts.
  EXPECT_LE(dead->RequestCount(), 3u * 32u);
}

}  // namespace
}  // namespace hookrelay::testing
