// End to end, with two workers as processes: a delivery never goes out with a hook's
// configuration older than the UpdateWebhook or RotateWebhookSecret that returned before its
// publish. Workers cache hooks; each task carries the hook version it was planned at, and a
// worker whose cached hook is older reads it again.
#include <atomic>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/signing/standard_signer.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/stack.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

constexpr int kChains = 4;

class ConsistencyE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    ASSERT_OK_AND_ASSIGN(receiver_, HttpReceiver::Start([](const ReceivedRequest&) {
                           return Reply{.status = 204};
                         }));
    ASSERT_OK_AND_ASSIGN(stack_, Stack::Start(*redis_));
    ASSERT_OK(stack_->StartWorker().status());
  }

  // One hook per chain, each taking only its chain's events (attribute "chain").
  v1::Webhook CreateChainHook(int chain) {
    v1::CreateWebhookRequest req;
    v1::Webhook* h = req.mutable_webhook();
    h->set_tenant("acme");
    h->set_url(receiver_->Url(absl::StrCat("/c", chain, "/0")));
    h->add_event_types("order.*");
    v1::AttributeFilter* f = h->add_filters();
    f->set_key("chain");
    f->add_any_of(absl::StrCat(chain));
    v1::Webhook out;
    const grpc::Status st = stack_->stub().CreateWebhook(stack_->Context().get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  grpc::Status Publish(int chain, int n) {
    v1::PublishEventRequest req;
    req.set_tenant("acme");
    req.set_type("order.changed");
    req.set_payload(absl::StrCat(R"({"chain":)", chain, R"(,"n":)", n, "}"));
    (*req.mutable_attributes())["chain"] = absl::StrCat(chain);
    v1::PublishEventResponse resp;
    return stack_->stub().PublishEvent(stack_->Context().get(), req, &resp);
  }
  // Runs `step(chain, n)` for n = 1..per_chain on kChains threads at once.
  void RunChains(int per_chain, const std::function<void(int, int)>& step) {
    std::vector<std::thread> threads;
    for (int c = 0; c < kChains; ++c) {
      threads.emplace_back([&, c] {
        for (int n = 1; n <= per_chain; ++n) step(c, n);
      });
    }
    for (std::thread& t : threads) t.join();
  }

  inline static std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<HttpReceiver> receiver_;
  std::unique_ptr<Stack> stack_;
};

// 1,000 update→publish pairs, four chains at once, each publishing only after its update
// returned: every delivery goes to the URL, with the header, of the update just before its
// publish or of a later one (a delivery may go out after the next update), never an earlier.
TEST_F(ConsistencyE2eTest, NoDeliveryUsesAConfigurationOlderThanTheUpdateBeforeItsPublish) {
  constexpr int kPerChain = 250;
  std::vector<v1::Webhook> hooks;
  for (int c = 0; c < kChains; ++c) hooks.push_back(CreateChainHook(c));
  std::atomic<int> failures{0};
  RunChains(kPerChain, [&](int c, int n) {
    v1::UpdateWebhookRequest req;
    *req.mutable_webhook() = hooks[static_cast<size_t>(c)];
    req.mutable_webhook()->set_url(receiver_->Url(absl::StrCat("/c", c, "/", n)));
    (*req.mutable_webhook()->mutable_headers())["X-Iter"] = absl::StrCat(n);
    req.mutable_update_mask()->add_paths("url");
    req.mutable_update_mask()->add_paths("headers");
    v1::Webhook updated;
    grpc::Status st = stack_->stub().UpdateWebhook(stack_->Context().get(), req, &updated);
    if (st.ok()) st = Publish(c, n);
    if (!st.ok() && ++failures <= 5) ADD_FAILURE() << st.error_code() << " " << st.error_message();
  });
  ASSERT_EQ(failures.load(), 0);
  ASSERT_TRUE(receiver_->WaitForRequests(kChains * kPerChain, absl::Seconds(120)))
      << receiver_->RequestCount();
  int stale = 0;
  for (const ReceivedRequest& r : receiver_->Requests()) {
    const nlohmann::json body = nlohmann::json::parse(r.body);
    const int chain = body["data"]["chain"].get<int>(), n = body["data"]["n"].get<int>();
    // The path is "/c<chain>/<iteration of the configuration used>".
    const std::vector<std::string> path = absl::StrSplit(r.path, '/');
    int used = -1, header = -1;
    ASSERT_EQ(path.size(), 3u) << r.path;
    ASSERT_TRUE(absl::SimpleAtoi(path[2], &used)) << r.path;
    ASSERT_EQ(path[1], absl::StrCat("c", chain)) << "event of chain " << chain;
    const bool has_header =
        r.headers.count("x-iter") && absl::SimpleAtoi(r.headers.at("x-iter"), &header);
    if (used < n || !has_header || header != used) {
      if (++stale <= 5) {
        ADD_FAILURE() << "event " << chain << "/" << n << " went to " << r.path << " with X-Iter "
                      << header;
      }
    }
  }
  EXPECT_EQ(stale, 0) << "of " << kChains * kPerChain << " deliveries";
}

// 400 rotate→publish pairs: every delivery is signed with the secret the rotation before its
// publish returned, or with a later one (a worker that reads the hook after more rotations
// signs with the newest secret and its 3 predecessors; older ones may sign beside it during
// their grace period). Never only with secrets older than its publish's.
TEST_F(ConsistencyE2eTest, EveryDeliverySignsWithTheSecretOfTheRotationBeforeItsPublish) {
  constexpr int kPerChain = 100;
  std::vector<v1::Webhook> hooks;
  for (int c = 0; c < kChains; ++c) hooks.push_back(CreateChainHook(c));
  // secrets[c][n]: what chain c's rotation n (1..kPerChain) returned, its n-th event's secret.
  std::vector<std::vector<std::string>> secrets(kChains, std::vector<std::string>(kPerChain + 1));
  std::atomic<int> failures{0};
  RunChains(kPerChain, [&](int c, int n) {
    v1::RotateWebhookSecretRequest req;
    req.set_tenant("acme");
    req.set_id(hooks[static_cast<size_t>(c)].id());
    v1::Webhook rotated;
    grpc::Status st = stack_->stub().RotateWebhookSecret(stack_->Context().get(), req, &rotated);
    if (!st.ok()) {
      ++failures;
      return;
    }
    secrets[static_cast<size_t>(c)][static_cast<size_t>(n)] = rotated.signing().secret();
    if (!Publish(c, n).ok()) ++failures;
  });
  ASSERT_EQ(failures.load(), 0);
  ASSERT_TRUE(receiver_->WaitForRequests(kChains * kPerChain, absl::Seconds(120)));
  int stale = 0, newer = 0;
  for (const ReceivedRequest& r : receiver_->Requests()) {
    const nlohmann::json body = nlohmann::json::parse(r.body);
    const int c = body["data"]["chain"].get<int>(), n = body["data"]["n"].get<int>();
    long long ts = 0;
    ASSERT_TRUE(absl::SimpleAtoi(r.headers.at("webhook-timestamp"), &ts));
    const std::vector<std::string> sent = absl::StrSplit(r.headers.at("webhook-signature"), ' ');
    EXPECT_LE(sent.size(), 4u) << "more signatures than the current and 3 previous secrets";
    int signed_by = -1;  // the first rotation, from n on, whose secret signed it
    for (int k = n; k <= kPerChain && signed_by < 0; ++k) {
      auto signer =
          signing::StandardSigner::Create(secrets[static_cast<size_t>(c)][static_cast<size_t>(k)]);
      ASSERT_OK(signer.status());
      const std::string want =
          signer->Sign(r.headers.at("webhook-id"), absl::FromUnixSeconds(ts), r.body);
      if (std::find(sent.begin(), sent.end(), want) != sent.end()) signed_by = k;
    }
    if (signed_by > n) ++newer;
    if (signed_by < 0 && ++stale <= 5) {
      ADD_FAILURE() << "event " << c << "/" << n << " was signed only with secrets older than "
                    << "the rotation before its publish";
    }
  }
  std::cout << kChains * kPerChain << " deliveries: " << newer
            << " read the hook after later rotations (their own secret had left the 3 kept)\n";
  EXPECT_EQ(stale, 0) << "of " << kChains * kPerChain << " deliveries";
}

}  // namespace
}  // namespace hookrelay::testing
