// End to end, with the services as processes: ordered delivery per key.
//   * 100 keys × 50 events to one ordered hook through three workers and a receiver that
//     fails a third of its answers, one worker SIGKILLed midway: each key's events arrive in
//     publish order (counting each delivery's first success), never two in flight for a key.
//   * A failed head releases its key by default; with PER_KEY_HOLD_ON_FAILURE it holds the
//     key until it is redelivered and succeeds (RedeliverDelivery).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/store/keys.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/stack.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

constexpr int kKeys = 100;
constexpr int kPerKey = 50;

absl::StatusOr<v1::Webhook> CreateOrderedHook(Stack& stack, const std::string& url,
                                              v1::Ordering ordering, int retries) {
  v1::CreateWebhookRequest req;
  v1::Webhook* h = req.mutable_webhook();
  h->set_tenant("acme");
  h->set_url(url);
  h->add_event_types("item.*");
  h->set_ordering(ordering);
  h->set_timeout_ms(2000);
  for (int i = 0; i < retries; ++i) h->mutable_retry_policy()->add_delays_ms(200);
  h->mutable_retry_policy()->set_jitter_percent(0);
  v1::Webhook out;
  grpc::Status st = stack.stub().CreateWebhook(stack.Context().get(), req, &out);
  if (!st.ok()) return absl::InternalError(st.error_message());
  return out;
}

// Records what a key's receiver sees: requests in flight per key, and each delivery's first
// success in arrival order.
class OrderedReceiver {
 public:
  explicit OrderedReceiver(int fail_every) : fail_every_(fail_every) {}
  Reply Handle(const ReceivedRequest& r) {
    const auto body = nlohmann::json::parse(r.body, nullptr, false);
    const std::string key = body["data"]["key"].get<std::string>();
    const int seq = body["data"]["seq"].get<int>();
    const std::string id = r.headers.at("webhook-id");
    int n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = ++requests_;
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_[key]);
    }
    absl::SleepFor(absl::Milliseconds(2));  // a window for a second request of the key to land
    const bool fail = fail_every_ > 0 && n % fail_every_ == 0;
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_[key];
    if (fail) return Reply{.status = 500};
    if (succeeded_.insert(id).second) firsts_[key].push_back(seq);
    return Reply{.status = 204};
  }
  size_t Succeeded() {
    std::lock_guard<std::mutex> lock(mu_);
    return succeeded_.size();
  }
  int MaxInFlight() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_in_flight_;
  }
  int Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::map<std::string, std::vector<int>> Firsts() {
    std::lock_guard<std::mutex> lock(mu_);
    return firsts_;
  }

 private:
  const int fail_every_;
  std::mutex mu_;
  int requests_ = 0;
  int max_in_flight_ = 0;
  std::map<std::string, int> in_flight_;
  std::set<std::string> succeeded_;
  std::map<std::string, std::vector<int>> firsts_;
};

// The consumer name a worker process logged when it started.
std::string ConsumerOf(const Process& worker) {
  const std::string out = worker.Output();
  const std::string kField = R"("consumer":")";
  const size_t at = out.find(kField);
  if (at == std::string::npos) return "";
  const size_t from = at + kField.size();
  return out.substr(from, out.find('"', from) - from);
}

v1::PublishEventRequest Item(const std::string& key, int seq) {
  v1::PublishEventRequest e;
  e.set_tenant("acme");
  e.set_type("item.updated");
  e.set_ordering_key(key);
  e.set_payload(absl::StrCat(R"({"key":")", key, R"(","seq":)", seq, "}"));
  return e;
}

TEST(OrderingE2eTest, EachKeyArrivesInPublishOrderThroughFailuresAndAKilledWorker) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  OrderedReceiver receiver(/*fail_every=*/3);
  ASSERT_OK_AND_ASSIGN(
      auto http, HttpReceiver::Start([&](const ReceivedRequest& r) { return receiver.Handle(r); }));
  Stack::Options options;
  options.worker_args = {"--allow_cidrs=127.0.0.0/8", "--allow_http", "--visibility_timeout=3s"};
  ASSERT_OK_AND_ASSIGN(auto stack, Stack::Start(*redis, options));
  ASSERT_OK(stack->StartWorker().status());
  ASSERT_OK(stack->StartWorker().status());
  ASSERT_OK(CreateOrderedHook(*stack, http->Url("/items"), v1::ORDERING_PER_KEY, 20).status());

  // Round by round, so each key's events are published in seq order.
  for (int seq = 0; seq < kPerKey; ++seq) {
    v1::PublishEventsRequest req;
    for (int k = 0; k < kKeys; ++k) *req.add_events() = Item(absl::StrCat("k", k), seq);
    v1::PublishEventsResponse resp;
    grpc::Status st = stack->stub().PublishEvents(stack->Context().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  constexpr size_t kAll = kKeys * kPerKey;
  ASSERT_TRUE(WaitFor([&] { return receiver.Succeeded() >= kAll / 3; }, absl::Seconds(120)));
  // Killed mid-delivery, while it holds heads in the stream: their keys wait out the
  // visibility timeout. (Most heads wait in the retry set at any moment: a third fail.)
  const std::string stream = store::KeySchema().StreamOf("acme");
  const std::string killed = ConsumerOf(stack->worker(0));
  ASSERT_FALSE(killed.empty());
  auto pending_of_killed = [&] {
    auto r = redis->Command({"XPENDING", stream, "workers", "-", "+", "1", killed});
    EXPECT_OK(r.status());
    return !r.ok() || !r->empty();  // an error fails the test and ends the wait
  };
  // Killed even when no head showed within 10 s: the reclaim checks below then say so.
  WaitFor(pending_of_killed, absl::Seconds(10), absl::Milliseconds(1));
  stack->worker(0).Signal(SIGKILL);
  ASSERT_OK(stack->worker(0).Wait(absl::Seconds(10)).status());
  const bool killed_holding = pending_of_killed();  // its entries can no longer be acked
  ASSERT_OK(stack->StartWorker().status());
  ASSERT_TRUE(WaitFor([&] { return receiver.Succeeded() >= kAll; }, absl::Seconds(240)))
      << receiver.Succeeded() << " of " << kAll;

  std::cout << "ordered: " << kKeys << " keys x " << kPerKey << " events, " << receiver.Requests()
            << " requests (a third failed), at most " << receiver.MaxInFlight()
            << " in flight per key\n";
  EXPECT_EQ(receiver.MaxInFlight(), 1);
  std::vector<int> in_order(kPerKey);
  for (int i = 0; i < kPerKey; ++i) in_order[static_cast<size_t>(i)] = i;
  const auto firsts = receiver.Firsts();
  ASSERT_EQ(firsts.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, seqs] : firsts) EXPECT_EQ(seqs, in_order) << key;
  // The killed worker's heads were reclaimed by the others (their keys did not stall).
  if (killed_holding) {
    EXPECT_THAT(stack->worker(1).Output() + stack->worker(2).Output() + stack->worker(3).Output(),
                ::testing::HasSubstr("reclaimed entries of a stopped worker"));
    EXPECT_FALSE(pending_of_killed());
  } else {
    std::cout << "(the killed worker held no head at that moment)\n";
  }
}

// Publishes key "a" seq 0 and 1 and key "b" seq 0; "a"/0 always fails until `heal`.
struct HeadFixture {
  std::atomic<bool> healed{false};
  std::mutex mu;
  std::vector<std::string> delivered;  // "key/seq" of each success, in order
  Reply Handle(const ReceivedRequest& r) {
    const auto body = nlohmann::json::parse(r.body, nullptr, false);
    const std::string item =
        absl::StrCat(body["data"]["key"].get<std::string>(), "/", body["data"]["seq"].get<int>());
    if (item == "a/0" && !healed) return Reply{.status = 500};
    std::lock_guard<std::mutex> lock(mu);
    delivered.push_back(item);
    return Reply{.status = 204};
  }
  std::vector<std::string> Delivered() {
    std::lock_guard<std::mutex> lock(mu);
    return delivered;
  }
};

std::string PublishHeads(Stack& stack) {
  std::string head;
  for (auto [key, seq] : std::vector<std::pair<std::string, int>>{{"a", 0}, {"a", 1}, {"b", 0}}) {
    v1::PublishEventResponse resp;
    EXPECT_TRUE(stack.stub().PublishEvent(stack.Context().get(), Item(key, seq), &resp).ok());
    if (head.empty()) head = resp.delivery_ids(0);
  }
  return head;
}

bool EndsFailed(Stack& stack, const std::string& id) {
  v1::GetDeliveryRequest req;
  req.set_tenant("acme");
  req.set_id(id);
  return WaitFor(
      [&] {
        v1::Delivery d;
        return stack.stub().GetDelivery(stack.Context().get(), req, &d).ok() &&
               d.status() == v1::DELIVERY_STATUS_FAILED;
      },
      absl::Seconds(20));
}

TEST(OrderingE2eTest, AFailedHeadReleasesItsKeyByDefault) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  HeadFixture f;
  ASSERT_OK_AND_ASSIGN(auto http,
                       HttpReceiver::Start([&](const ReceivedRequest& r) { return f.Handle(r); }));
  ASSERT_OK_AND_ASSIGN(auto stack, Stack::Start(*redis));
  ASSERT_OK(CreateOrderedHook(*stack, http->Url("/"), v1::ORDERING_PER_KEY, 1).status());
  const std::string head = PublishHeads(*stack);
  ASSERT_TRUE(EndsFailed(*stack, head));
  ASSERT_TRUE(WaitFor([&] { return f.Delivered().size() == 2; }, absl::Seconds(10)));
  EXPECT_THAT(f.Delivered(), ::testing::UnorderedElementsAre("a/1", "b/0"));
}

TEST(OrderingE2eTest, AHoldingHookWaitsForItsFailedHeadToBeRedelivered) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  HeadFixture f;
  ASSERT_OK_AND_ASSIGN(auto http,
                       HttpReceiver::Start([&](const ReceivedRequest& r) { return f.Handle(r); }));
  ASSERT_OK_AND_ASSIGN(auto stack, Stack::Start(*redis));
  ASSERT_OK(
      CreateOrderedHook(*stack, http->Url("/"), v1::ORDERING_PER_KEY_HOLD_ON_FAILURE, 1).status());
  const std::string head = PublishHeads(*stack);
  ASSERT_TRUE(EndsFailed(*stack, head));
  // Other keys go on; "a"/1 waits behind its failed head.
  ASSERT_TRUE(WaitFor([&] { return !f.Delivered().empty(); }, absl::Seconds(10)));
  EXPECT_FALSE(WaitFor([&] { return f.Delivered().size() > 1; }, absl::Seconds(1)));
  EXPECT_THAT(f.Delivered(), ::testing::ElementsAre("b/0"));
  f.healed = true;
  v1::RedeliverDeliveryRequest redeliver;
  redeliver.set_tenant("acme");
  redeliver.set_id(head);
  v1::Delivery d;
  ASSERT_TRUE(stack->stub().RedeliverDelivery(stack->Context().get(), redeliver, &d).ok());
  ASSERT_TRUE(WaitFor([&] { return f.Delivered().size() == 3; }, absl::Seconds(10)));
  EXPECT_THAT(f.Delivered(), ::testing::ElementsAre("b/0", "a/0", "a/1"));
}

}  // namespace
}  // namespace hookrelay::testing
