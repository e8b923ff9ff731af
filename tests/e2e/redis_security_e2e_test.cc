// Managed-Redis settings end to end, with both services as processes: a Redis that speaks
// only TLS and requires a client certificate, and an ACL user limited to hookrelay's key
// prefix, channels and commands (the rule README "Redis" gives). Each one delivers, and each
// misconfiguration (a wrong CA, a wrong password) stops the process at start with its cause
// in the log.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/stack.h"
#include "tests/support/http_receiver.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// The ACL rule of README "Redis" for the prefix "hookrelay:" (keep the two the same).
constexpr char kAclRule[] =
    "~hookrelay:* &hookrelay:* -@all +@read +@write +@transaction +@connection +@pubsub "
    "+evalsha +eval +script|load +script|exists +cluster|slots -@dangerous";

// Creates a hook, publishes one event and waits until the receiver has it.
void DeliverOne(Stack& stack, HttpReceiver& receiver) {
  v1::CreateWebhookRequest create;
  create.mutable_webhook()->set_tenant("acme");
  create.mutable_webhook()->set_url(receiver.Url("/hook"));
  create.mutable_webhook()->add_event_types("order.*");
  v1::Webhook hook;
  grpc::Status st = stack.stub().CreateWebhook(stack.Context().get(), create, &hook);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::PublishEventRequest pub;
  pub.set_tenant("acme");
  pub.set_type("order.paid");
  pub.set_payload(R"({"order":1})");
  v1::PublishEventResponse published;
  st = stack.stub().PublishEvent(stack.Context().get(), pub, &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(WaitFor([&] { return receiver.Requests().size() == 1; }, absl::Seconds(20)));
}

// Runs a service binary that must refuse to start: its exit code and log.
std::pair<int, std::string> StartRefused(const std::string& binary, const std::string& url,
                                         std::vector<std::string> args) {
  args.insert(args.begin(), {"--metrics_address=127.0.0.1:0", "--grpc_address=127.0.0.1:0"});
  if (absl::StrContains(binary, "worker")) args.erase(args.begin() + 1);
  auto p = Process::Start(
      {.binary = BinaryPath(binary), .args = args, .env = {{"HOOKRELAY_REDIS_URL", url}}});
  if (!p.ok()) return {-1, p.status().ToString()};
  auto code = (*p)->Wait(absl::Seconds(20));
  return {code.value_or(-1), (*p)->Output()};
}

class RedisSecurityE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(receiver_, HttpReceiver::Start([](const ReceivedRequest&) {
                           return Reply{.status = 204};
                         }));
  }
  std::unique_ptr<HttpReceiver> receiver_;
};

TEST_F(RedisSecurityE2eTest, DeliversThroughTlsOnlyRedisWithAClientCertificate) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start({.masters = 0, .tls = true}));
  ASSERT_THAT(redis->url(), ::testing::StartsWith("rediss://"));
  Stack::Options options;
  options.redis_args = {absl::StrCat("--redis_ca_file=", redis->ca_file()),
                        absl::StrCat("--redis_cert_file=", redis->client_cert_file()),
                        absl::StrCat("--redis_key_file=", redis->client_key_file())};
  ASSERT_OK_AND_ASSIGN(auto stack, Stack::Start(*redis, options));
  DeliverOne(*stack, *receiver_);
  // The plain port is off: nothing reached Redis but TLS.
  EXPECT_THAT(redis->Command({"CONFIG", "GET", "port"}), IsOkAndHolds("port\n0"));
}

TEST_F(RedisSecurityE2eTest, AWrongCaStopsEachServiceAtStartNamingTheCertificate) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start({.masters = 0, .tls = true}));
  const std::vector<std::string> args = {
      absl::StrCat("--redis_ca_file=", redis->other_ca_file()),
      absl::StrCat("--redis_cert_file=", redis->client_cert_file()),
      absl::StrCat("--redis_key_file=", redis->client_key_file())};
  for (const char* binary :
       {"services/registry/webhook-registry", "services/worker/delivery-worker"}) {
    auto [code, log] = StartRefused(binary, redis->url(), args);
    EXPECT_EQ(code, 1) << binary << ":\n" << log;
    EXPECT_THAT(log, AllOf(HasSubstr("cannot start"), HasSubstr("certificate"))) << binary;
  }
}

TEST_F(RedisSecurityE2eTest, DeliversAsAnAclUserLimitedToItsPrefix) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  std::vector<std::string> setuser = {"ACL", "SETUSER", "hookrelay", "reset", "on", ">hr-pass"};
  for (absl::string_view rule : absl::StrSplit(kAclRule, ' ')) setuser.emplace_back(rule);
  ASSERT_OK(redis->CommandOnEveryNode(setuser));
  Stack::Options options;
  options.redis_url =
      absl::StrReplaceAll(redis->url(), {{"redis://", "redis://hookrelay:hr-pass@"}});
  ASSERT_OK_AND_ASSIGN(auto stack, Stack::Start(*redis, options));
  DeliverOne(*stack, *receiver_);
  // Nothing the user did was refused.
  EXPECT_THAT(stack->registry().Output() + stack->worker(0).Output(), Not(HasSubstr("NOPERM")));
  EXPECT_THAT(redis->Command({"ACL", "LOG"}), IsOkAndHolds(""));
}

TEST_F(RedisSecurityE2eTest, AWrongPasswordStopsEachServiceAtStartNamingAuth) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  ASSERT_OK(redis->CommandOnEveryNode(
      {"ACL", "SETUSER", "hookrelay", "reset", "on", ">right", "~*", "&*", "+@all"}));
  const std::string url =
      absl::StrReplaceAll(redis->url(), {{"redis://", "redis://hookrelay:hunter2-wrong@"}});
  for (const char* binary :
       {"services/registry/webhook-registry", "services/worker/delivery-worker"}) {
    auto [code, log] = StartRefused(binary, url, {});
    EXPECT_EQ(code, 1) << binary << ":\n" << log;
    EXPECT_THAT(log, AllOf(HasSubstr("cannot start"), HasSubstr("AUTH"), Not(HasSubstr("hunter2"))))
        << binary;
  }
}

}  // namespace
}  // namespace hookrelay::testing
