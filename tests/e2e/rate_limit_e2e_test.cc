// End to end, with the services as processes: a hook's rate limit holds across three
// workers, and a receiver's 429 + Retry-After pauses its hook on every worker.
//   * 1,000 events to a hook limited to 50/s (burst 5) through three workers: the receiver
//     never sees more than 55 requests in any 1 s, all arrive in about 20 s, each in one
//     attempt; meanwhile an unlimited hook gets a steady 20 events/s at idle latency.
//   * A hook without a limit, fed by three workers, answers one 429 with Retry-After: 2:
//     nothing reaches it for about 2 s (from any worker), then deliveries resume.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/latency_log.h"
#include "tests/e2e/stack.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

constexpr int kLimit = 50;
constexpr int kBurst = 5;
constexpr int kEvents = 1000;

absl::StatusOr<v1::Webhook> CreateHook(Stack& stack, const std::string& url,
                                       const std::string& types, int per_second, int burst) {
  v1::CreateWebhookRequest req;
  v1::Webhook* h = req.mutable_webhook();
  h->set_tenant("acme");
  h->set_url(url);
  h->add_event_types(types);
  if (per_second > 0) {
    h->mutable_rate_limit()->set_per_second(per_second);
    h->mutable_rate_limit()->set_burst(burst);
  }
  v1::Webhook out;
  grpc::Status st = stack.stub().CreateWebhook(stack.Context().get(), req, &out);
  if (!st.ok()) return absl::InternalError(st.error_message());
  return out;
}

// The value of an unlabelled counter on worker `i`'s /metrics.
double WorkerCounter(Stack& stack, size_t i, const std::string& name) {
  httplib::Client client("127.0.0.1", stack.worker_metrics_port(i));
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) return -1;
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (!absl::ConsumePrefix(&line, name) || !absl::ConsumePrefix(&line, " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line, &v)) return v;
  }
  return -1;
}

// The most arrivals in any window [t, t + 1 s).
int MaxPerSecond(std::vector<absl::Time> times) {
  std::sort(times.begin(), times.end());
  int most = 0;
  size_t j = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    while (j < times.size() && times[j] < times[i] + absl::Seconds(1)) ++j;
    most = std::max(most, static_cast<int>(j - i));
  }
  return most;
}

std::unique_ptr<Stack> ThreeWorkers(const RedisServer& redis) {
  auto stack = Stack::Start(redis);
  if (!stack.ok()) return nullptr;
  for (int i = 0; i < 2; ++i) {
    if (!(*stack)->StartWorker().ok()) return nullptr;
  }
  return *std::move(stack);
}

TEST(RateLimitE2eTest, HoldsAcrossThreeWorkersWithoutSlowingOtherHooks) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  ASSERT_OK_AND_ASSIGN(auto limited, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 204};
                       }));
  LatencyLog latency;
  ASSERT_OK_AND_ASSIGN(auto free, HttpReceiver::Start(latency.Recorder()));
  auto stack = ThreeWorkers(*redis);
  ASSERT_NE(stack, nullptr);
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook,
                       CreateHook(*stack, limited->Url("/limited"), "bulk.*", kLimit, kBurst));
  ASSERT_OK(CreateHook(*stack, free->Url("/free"), "order.*", 0, 0).status());

  // The API shows the limit.
  v1::GetWebhookRequest get;
  get.set_tenant("acme");
  get.set_id(hook.id());
  v1::Webhook got;
  ASSERT_TRUE(stack->stub().GetWebhook(stack->Context().get(), get, &got).ok());
  EXPECT_EQ(got.rate_limit().per_second(), kLimit);
  EXPECT_EQ(got.rate_limit().burst(), kBurst);

  const absl::Time start = absl::Now();
  std::vector<std::string> delivery_ids;
  for (int batch = 0; batch < kEvents / 500; ++batch) {
    v1::PublishEventsRequest req;
    for (int i = 0; i < 500; ++i) {
      v1::PublishEventRequest* e = req.add_events();
      e->set_tenant("acme");
      e->set_type("bulk.item");
      e->set_payload(absl::StrCat(R"({"n":)", batch * 500 + i, "}"));
    }
    v1::PublishEventsResponse resp;
    ASSERT_TRUE(stack->stub().PublishEvents(stack->Context().get(), req, &resp).ok());
    for (const auto& r : resp.results()) delivery_ids.push_back(r.delivery_ids(0));
  }
  // The unlimited hook, meanwhile: 20 events/s for 10 s.
  constexpr int kFree = 200;
  for (int i = 0; i < kFree; ++i) {
    absl::SleepFor(start + i * absl::Milliseconds(50) - absl::Now());
    v1::PublishEventRequest req;
    req.set_tenant("acme");
    req.set_type("order.created");
    req.set_payload(LatencyLog::StampedPayload());
    v1::PublishEventResponse resp;
    ASSERT_TRUE(stack->stub().PublishEvent(stack->Context().get(), req, &resp).ok());
  }
  ASSERT_TRUE(latency.WaitForCount(kFree, absl::Seconds(10)));
  ASSERT_TRUE(limited->WaitForRequests(kEvents, absl::Seconds(40)))
      << limited->RequestCount() << " of " << kEvents;
  const std::vector<ReceivedRequest> got_limited = limited->Requests();
  std::vector<absl::Time> times;
  std::set<std::string> ids;
  for (const ReceivedRequest& r : got_limited) {
    times.push_back(r.received_at);
    ids.insert(r.headers.at("webhook-id"));
  }
  const absl::Duration took = *std::max_element(times.begin(), times.end()) - start;
  const int most = MaxPerSecond(times);
  const LatencyLog::Summary l = latency.Summarize();
  std::cout << "rate limit " << kLimit << "/s burst " << kBurst << ", 3 workers: " << kEvents
            << " deliveries in " << took << ", at most " << most
            << " in any 1 s; the unlimited hook beside it: p50 " << l.p50 << ", p99 " << l.p99
            << "\n";
  EXPECT_LE(most, kLimit + kBurst);
  EXPECT_GE(took, absl::Seconds(19));  // (1000 - 5) / 50 s at least
  EXPECT_LE(took, absl::Seconds(23));
  EXPECT_EQ(got_limited.size(), static_cast<size_t>(kEvents));  // waiting is not an attempt:
  EXPECT_EQ(ids.size(), static_cast<size_t>(kEvents));          // nothing was sent twice
  EXPECT_EQ(l.count, static_cast<size_t>(kFree));
  EXPECT_LE(l.p99, absl::Milliseconds(100));

  // Each delivery ended SUCCEEDED with a single attempt.
  for (size_t i = 0; i < delivery_ids.size(); i += 97) {
    v1::GetDeliveryRequest req;
    req.set_tenant("acme");
    req.set_id(delivery_ids[i]);
    v1::Delivery d;
    ASSERT_TRUE(WaitFor(
        [&] {
          d.Clear();
          return stack->stub().GetDelivery(stack->Context().get(), req, &d).ok() &&
                 d.status() == v1::DELIVERY_STATUS_SUCCEEDED;
        },
        absl::Seconds(10)));
    EXPECT_EQ(d.attempts_size(), 1) << d.id();
  }
  double delayed = 0, waited = 0;
  for (size_t w = 0; w < 3; ++w) {
    delayed += WorkerCounter(*stack, w, "hookrelay_worker_rate_limited_total");
    waited += WorkerCounter(*stack, w, "hookrelay_worker_rate_limit_wait_seconds_total");
  }
  EXPECT_GE(delayed, kEvents - kBurst);
  EXPECT_GT(waited, 0);
}

TEST(RateLimitE2eTest, RetryAfterPausesTheHookOnEveryWorker) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  std::atomic<int> seen{0};
  std::atomic<int64_t> paused_at_ns{0};
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&](const ReceivedRequest& r) {
                         if (++seen == 150) {
                           paused_at_ns = absl::ToUnixNanos(r.received_at);
                           return Reply{.status = 429, .headers = {{"Retry-After", "2"}}};
                         }
                         return Reply{.status = 204};
                       }));
  auto stack = ThreeWorkers(*redis);
  ASSERT_NE(stack, nullptr);
  ASSERT_OK(CreateHook(*stack, receiver->Url("/busy"), "order.*", 0, 0).status());

  // 100 events/s for 5 s, spread over the three workers.
  const absl::Time start = absl::Now();
  for (int i = 0; i < 500; ++i) {
    absl::SleepFor(start + i * absl::Milliseconds(10) - absl::Now());
    v1::PublishEventRequest req;
    req.set_tenant("acme");
    req.set_type("order.created");
    req.set_payload("{}");
    v1::PublishEventResponse resp;
    ASSERT_TRUE(stack->stub().PublishEvent(stack->Context().get(), req, &resp).ok());
  }
  ASSERT_TRUE(receiver->WaitForRequests(501, absl::Seconds(20)));  // all, and the 429's retry
  ASSERT_NE(paused_at_ns.load(), 0);
  const absl::Time paused = absl::FromUnixNanos(paused_at_ns);
  // The first request after the 429 beyond the requests already on their way.
  absl::Time resumed = absl::InfiniteFuture();
  int during = 0;
  for (const ReceivedRequest& r : receiver->Requests()) {
    if (r.received_at <= paused + absl::Milliseconds(100)) continue;
    resumed = std::min(resumed, r.received_at);
    if (r.received_at < paused + absl::Milliseconds(1900)) ++during;
  }
  std::cout << "429 Retry-After: 2 → the hook resumed after " << resumed - paused << "\n";
  EXPECT_EQ(during, 0);
  EXPECT_GE(resumed - paused, absl::Milliseconds(1900));
  EXPECT_LE(resumed - paused, absl::Milliseconds(2600));
  // The worker that got the 429 says so in its log.
  EXPECT_THAT(stack->worker(0).Output() + stack->worker(1).Output() + stack->worker(2).Output(),
              ::testing::HasSubstr("receiver asked to slow down"));
  // Every worker held some of the hook's deliveries for the pause.
  for (size_t w = 0; w < 3; ++w) {
    EXPECT_GE(WorkerCounter(*stack, w, "hookrelay_worker_rate_limited_total"), 1) << "worker " << w;
  }
}

}  // namespace
}  // namespace hookrelay::testing
