// End to end: the real webhook-registry and delivery-worker processes, a real redis-server
// and a real HTTP receiver.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/signing/standard_signer.h"
#include "libs/store/keys.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/stack.h"
#include "tests/e2e/verifiers.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

grpc::Status CreateHook(Stack& stack, const std::string& url, v1::Webhook* out) {
  v1::CreateWebhookRequest req;
  req.mutable_webhook()->set_tenant("acme");
  req.mutable_webhook()->set_url(url);
  req.mutable_webhook()->add_event_types("review.*");
  return stack.stub().CreateWebhook(stack.Context().get(), req, out);
}

// Runs the npm `standardwebhooks` verifier on a received request; its exit code.
int VerifyWithNpmPackage(const std::string& secret, const ReceivedRequest& r) {
  return RunNodeVerifier("verify_standard_webhooks.js",
                         {{"secret", secret},
                          {"body", r.body},
                          {"headers",
                           {{"webhook-id", r.headers.at("webhook-id")},
                            {"webhook-timestamp", r.headers.at("webhook-timestamp")},
                            {"webhook-signature", r.headers.at("webhook-signature")}}}});
}

class DeliveryE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    ASSERT_OK_AND_ASSIGN(receiver_, HttpReceiver::Start([](const ReceivedRequest&) {
                           return Reply{.status = 204};
                         }));
    ASSERT_OK_AND_ASSIGN(stack_, Stack::Start(*redis_));
  }

  inline static std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<HttpReceiver> receiver_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(DeliveryE2eTest, PublishDeliversSignedRequestAndRecordsSuccess) {
  v1::Webhook hook;
  ASSERT_TRUE(CreateHook(*stack_, receiver_->Url("/hooks/review"), &hook).ok());
  ASSERT_THAT(hook.signing().secret(), StartsWith("whsec_"));

  v1::PublishEventRequest pub;
  pub.set_tenant("acme");
  pub.set_type("review.created");
  pub.set_payload(R"({"review":{"id":42,"title":"Fix the login bug"}})");
  v1::PublishEventResponse published;
  ASSERT_TRUE(stack_->stub().PublishEvent(stack_->Context().get(), pub, &published).ok());
  ASSERT_EQ(published.delivery_ids_size(), 1);
  const std::string delivery_id = published.delivery_ids(0);

  ASSERT_TRUE(receiver_->WaitForRequests(1, absl::Seconds(20)));
  const ReceivedRequest r = receiver_->Requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/hooks/review");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_THAT(r.headers.at("user-agent"), StartsWith("hookrelay/"));
  EXPECT_EQ(r.headers.at("webhook-id"), delivery_id);
  const nlohmann::json body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["id"], published.event_id());
  EXPECT_EQ(body["type"], "review.created");
  EXPECT_EQ(body["tenant"], "acme");
  EXPECT_EQ(body["data"]["review"]["title"], "Fix the login bug");

  // The signature verifies with our signer and with the public npm implementation.
  int64_t ts = 0;
  ASSERT_TRUE(absl::SimpleAtoi(r.headers.at("webhook-timestamp"), &ts));
  EXPECT_LT(std::abs(ts - absl::ToUnixSeconds(absl::Now())), 300);
  ASSERT_OK_AND_ASSIGN(auto signer, signing::StandardSigner::Create(hook.signing().secret()));
  EXPECT_EQ(r.headers.at("webhook-signature"),
            signer.Sign(delivery_id, absl::FromUnixSeconds(ts), r.body));
  EXPECT_EQ(VerifyWithNpmPackage(hook.signing().secret(), r), 0);

  // The delivery is recorded as succeeded, with its attempt.
  v1::Delivery d;
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::GetDeliveryRequest get;
        get.set_tenant("acme");
        get.set_id(delivery_id);
        return stack_->stub().GetDelivery(stack_->Context().get(), get, &d).ok() &&
               d.status() == v1::DELIVERY_STATUS_SUCCEEDED;
      },
      absl::Seconds(10)))
      << d.DebugString();
  ASSERT_EQ(d.attempts_size(), 1);
  EXPECT_EQ(d.attempts(0).http_status(), 204);
  EXPECT_EQ(d.webhook_id(), hook.id());
  EXPECT_EQ(d.event_id(), published.event_id());
}

TEST_F(DeliveryE2eTest, BadInputIsRefusedNamingTheFieldAndNothingIsWritten) {
  v1::Webhook hook;
  grpc::Status st = CreateHook(*stack_, "ftp://example.com/hook", &hook);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("webhook.url"));

  v1::CreateWebhookRequest no_tenant;
  no_tenant.mutable_webhook()->set_url("https://example.com/hook");
  no_tenant.mutable_webhook()->add_event_types("a");
  st = stack_->stub().CreateWebhook(stack_->Context().get(), no_tenant, &hook);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("webhook.tenant"));

  v1::CreateWebhookRequest no_types;
  no_types.mutable_webhook()->set_tenant("acme");
  no_types.mutable_webhook()->set_url("https://example.com/hook");
  st = stack_->stub().CreateWebhook(stack_->Context().get(), no_types, &hook);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("webhook.event_types"));

  v1::PublishEventRequest pub;
  pub.set_tenant("acme");
  pub.set_type("review.created");
  pub.set_payload("{not json");
  v1::PublishEventResponse resp;
  st = stack_->stub().PublishEvent(stack_->Context().get(), pub, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("payload"));
  pub.set_payload("{}");
  pub.set_type("");
  st = stack_->stub().PublishEvent(stack_->Context().get(), pub, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("type"));

  // Only the layout record and the shards' delivery streams (created empty by the worker)
  // exist.
  ASSERT_OK_AND_ASSIGN(std::string keys, redis_->Command({"KEYS", "*"}));
  const store::KeySchema schema;
  for (absl::string_view key : absl::StrSplit(keys, '\n')) {
    if (key == schema.Meta()) continue;
    EXPECT_TRUE(absl::EndsWith(key, "}:stream")) << key;
    EXPECT_THAT(redis_->Command({"XLEN", std::string(key)}), IsOkAndHolds("0")) << key;
  }
}

TEST_F(DeliveryE2eTest, CallsWithoutAValidKeyAreUnauthenticated) {
  v1::CreateWebhookRequest req;
  req.mutable_webhook()->set_tenant("acme");
  req.mutable_webhook()->set_url("https://example.com/hook");
  req.mutable_webhook()->add_event_types("a");
  v1::Webhook hook;
  grpc::ClientContext none;
  EXPECT_EQ(stack_->stub().CreateWebhook(&none, req, &hook).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext wrong;
  wrong.AddMetadata("authorization", "Bearer not-the-key");
  EXPECT_EQ(stack_->stub().CreateWebhook(&wrong, req, &hook).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// A server-side failure reaches the caller as INTERNAL and the registry's log with its cause
// (a stored hook of the wrong Redis type stands in for any Redis error).
TEST_F(DeliveryE2eTest, AnInternalErrorIsLoggedWithItsCause) {
  v1::Webhook hook;
  ASSERT_TRUE(CreateHook(*stack_, receiver_->Url("/hooks"), &hook).ok());
  const store::KeySchema keys;
  ASSERT_OK(redis_->Command({"DEL", keys.Hook("acme", hook.id())}).status());
  ASSERT_OK(redis_->Command({"HSET", keys.Hook("acme", hook.id()), "not", "a hook"}).status());
  v1::GetWebhookRequest req;
  req.set_tenant("acme");
  req.set_id(hook.id());
  v1::Webhook got;
  const grpc::Status st = stack_->stub().GetWebhook(stack_->Context().get(), req, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_TRUE(stack_->registry().WaitForOutput("WRONGTYPE", absl::Seconds(10)))
      << stack_->registry().Output();
  EXPECT_THAT(stack_->registry().Output(),
              AllOf(HasSubstr(R"("msg":"rpc failed")"), HasSubstr(R"("method":"GetWebhook")")));
}

TEST_F(DeliveryE2eTest, ServicesStopCleanlyOnSigterm) {
  stack_->worker(0).Signal(SIGTERM);
  stack_->registry().Signal(SIGTERM);
  EXPECT_THAT(stack_->worker(0).Wait(absl::Seconds(30)), IsOkAndHolds(0));
  EXPECT_THAT(stack_->registry().Wait(absl::Seconds(30)), IsOkAndHolds(0));
  EXPECT_THAT(stack_->worker(0).Output(), HasSubstr("worker stopped"));
}

}  // namespace
}  // namespace hookrelay::testing
