// hookctl as a person uses it: the real hookctl binary against a real webhook-registry and
// delivery-worker (processes) on a private redis-server, sending to a real HTTP receiver.

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/stack.h"
#include "tests/support/http_receiver.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

struct Outcome {
  int code = -1;
  std::string output;  // stdout and stderr
};

class HookctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = RedisServer::Start().value();
    stack_ = Stack::Start(*redis_).value();
  }
  static void TearDownTestSuite() {
    stack_.reset();
    redis_.reset();
  }
  void SetUp() override { ASSERT_OK(redis_->FlushAll()); }

  std::string Address() const { return absl::StrCat("127.0.0.1:", stack_->grpc_port()); }

  // Runs hookctl with `args` (and `input` on its standard input) through a shell, the admin
  // key in HOOKRELAY_API_KEY and, unless `env_address` is false, the registry's address in
  // HOOKRELAY_ADDRESS. `stdout_only` drops standard error (for output to parse).
  Outcome Hookctl(std::vector<std::string> args, const std::string& input = "",
                  bool stdout_only = false, bool env_address = true) {
    Process::Options o{.binary = "/bin/sh",
                       .args = {"-c",
                                absl::StrCat(R"(printf '%s' "$HOOKCTL_INPUT" | "$HOOKCTL" "$@")",
                                             stdout_only ? " 2>/dev/null" : ""),
                                "hookctl"},
                       .env = {{"HOOKCTL", BinaryPath("services/hookctl/hookctl")},
                               {"HOOKCTL_INPUT", input},
                               {"HOOKRELAY_API_KEY", Stack::Options().admin_key},
                               {"HOOKRELAY_ADDRESS", env_address ? Address() : ""}}};
    o.args.insert(o.args.end(), args.begin(), args.end());
    auto p = Process::Start(o);
    EXPECT_OK(p.status());
    if (!p.ok()) return {};
    absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(60));
    EXPECT_OK(code.status());
    return Outcome{.code = code.value_or(-1), .output = (*p)->Output()};
  }

  // Creates a hook to `url` subscribed to everything with hookctl; its id.
  std::string CreateHook(const std::string& url) {
    Outcome run = Hookctl({"create-webhook", "--tenant", "acme", "--url", url, "--json"}, "", true);
    EXPECT_EQ(run.code, 0) << run.output;
    const nlohmann::json hook = nlohmann::json::parse(run.output, nullptr, false);
    return hook.is_object() ? hook.value("id", "") : "";
  }

  inline static std::unique_ptr<RedisServer> redis_;
  inline static std::unique_ptr<Stack> stack_;
};

// The defect: "--enabeld false" was ignored, hookctl listed everything and exited 0.
TEST_F(HookctlTest, UnknownOptionsMissingValuesAndStrayArgumentsExitTwoWithAHint) {
  CreateHook("http://127.0.0.1:9/never");
  Outcome run = Hookctl({"list-webhooks", "--tenant", "acme", "--enabeld", "false"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.output, AllOf(HasSubstr("unknown option --enabeld"),
                                HasSubstr("hookctl help list-webhooks"), Not(HasSubstr("wh_"))));
  run = Hookctl({"get-webhook", "--tenant", "acme", "--id"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.output, HasSubstr("--id: missing value"));
  run = Hookctl({"list-webhooks", "acme"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.output, HasSubstr("unexpected argument \"acme\""));
  run = Hookctl({});
  EXPECT_EQ(run.code, 2);
  run = Hookctl({"publish", "--tenant", "acme", "--type", "x.y"});  // no payload given
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.output, HasSubstr("--payload"));
}

TEST_F(HookctlTest, HelpExitsZeroAndShowsAnExampleForEveryCommand) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"help"}}) {
    Outcome run = Hookctl(args);
    EXPECT_EQ(run.code, 0) << args[0];
    // An example line for every command.
    const std::vector<std::string> lines = absl::StrSplit(run.output, '\n');
    for (const char* command : {"create-webhook", "get-webhook", "list-webhooks", "update-webhook",
                                "delete-webhook", "rotate-secret", "test-webhook", "publish",
                                "get-event", "list-deliveries", "get-delivery", "redeliver",
                                "recover", "create-api-key", "list-api-keys", "revoke-api-key"}) {
      EXPECT_TRUE(std::any_of(lines.begin(), lines.end(),
                              [&](const std::string& l) {
                                return absl::StartsWith(l, "      e.g. ") &&
                                       absl::StrContains(l, absl::StrCat("hookctl ", command, " "));
                              }))
          << args[0] << " " << command;
    }
  }
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"help", "list-deliveries"}, {"list-deliveries", "--help"}}) {
    Outcome run = Hookctl(args);
    EXPECT_EQ(run.code, 0);
    EXPECT_THAT(run.output, AllOf(HasSubstr("usage: hookctl list-deliveries"),
                                  HasSubstr("--status"), HasSubstr("Example:")));
  }
}

// The defects: --json after the command was ignored, and "--address HOST:PORT" failed.
TEST_F(HookctlTest, OptionsWorkBeforeOrAfterTheCommandAndAddressTakesASeparateValue) {
  const std::string id = CreateHook("http://127.0.0.1:9/never");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--address", Address(), "list-webhooks", "--tenant", "acme", "--json"},
           {"list-webhooks", "--json", "--address", Address(), "--tenant", "acme"},
           {"--json", "--tenant=acme", "list-webhooks", "--address=" + Address()}}) {
    Outcome run = Hookctl(args, "", /*stdout_only=*/true, /*env_address=*/false);
    ASSERT_EQ(run.code, 0) << run.output;
    const nlohmann::json list = nlohmann::json::parse(run.output, nullptr, false);
    ASSERT_TRUE(list.is_object()) << run.output;
    ASSERT_EQ(list["webhooks"].size(), 1u);
    EXPECT_EQ(list["webhooks"][0]["id"], id);
  }
}

TEST_F(HookctlTest, PublishReadsThePayloadFromAFileOrStandardInput) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  CreateHook(receiver->Url("/in"));
  const std::string file = absl::StrCat(::testing::TempDir(), "/payload.json");
  std::ofstream(file) << R"({"from":"file"})";
  Outcome run = Hookctl({"publish", "--tenant", "acme", "--type", "x.y", "--payload-file", file});
  EXPECT_EQ(run.code, 0) << run.output;
  run = Hookctl({"publish", "--tenant", "acme", "--type", "x.y", "--payload-file", "-"},
                R"({"from":"stdin"})");
  EXPECT_EQ(run.code, 0) << run.output;
  run = Hookctl({"publish", "--tenant", "acme", "--type", "x.y", "--payload-file", "/nonexistent"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.output, HasSubstr("--payload-file: cannot read /nonexistent"));

  ASSERT_TRUE(receiver->WaitForRequests(2, absl::Seconds(20)));
  std::string bodies;
  for (const ReceivedRequest& r : receiver->Requests()) bodies += r.body;
  EXPECT_THAT(bodies, AllOf(HasSubstr(R"("from":"file")"), HasSubstr(R"("from":"stdin")")));
}

TEST_F(HookctlTest, GetDeliveryShowsEachAttemptOnALineOfItsOwn) {
  std::atomic<int> calls{0};
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&](const ReceivedRequest&) {
                         return Reply{.status = ++calls == 1 ? 503 : 204, .body = "busy"};
                       }));
  const std::string hook = CreateHook(receiver->Url("/in"));
  Outcome run = Hookctl({"update-webhook", "--tenant", "acme", "--id", hook, "--description", "x"});
  ASSERT_EQ(run.code, 0) << run.output;
  // One retry after 0 ms: a retry policy is not a hookctl option, so set it through the API.
  v1::UpdateWebhookRequest update;
  update.mutable_webhook()->set_tenant("acme");
  update.mutable_webhook()->set_id(hook);
  update.mutable_webhook()->mutable_retry_policy()->add_delays_ms(0);
  update.mutable_update_mask()->add_paths("retry_policy");
  v1::Webhook updated;
  ASSERT_TRUE(stack_->stub().UpdateWebhook(stack_->Context().get(), update, &updated).ok());

  run = Hookctl({"publish", "--tenant", "acme", "--type", "x.y", "--payload", "{}", "--json"}, "",
                true);
  ASSERT_EQ(run.code, 0) << run.output;
  const std::string delivery =
      nlohmann::json::parse(run.output, nullptr, false)["delivery_ids"][0].get<std::string>();
  ASSERT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(
            Hookctl({"get-delivery", "--tenant", "acme", "--id", delivery}).output,
            "status:      SUCCEEDED");
      },
      absl::Seconds(30), absl::Milliseconds(100)));
  run = Hookctl({"get-delivery", "--tenant", "acme", "--id", delivery});
  ASSERT_EQ(run.code, 0);
  const std::vector<std::string> lines = absl::StrSplit(run.output, '\n');
  std::vector<std::string> attempts;
  for (const std::string& l : lines) {
    if (absl::StartsWith(l, "  1 ") || absl::StartsWith(l, "  2 ")) attempts.push_back(l);
  }
  ASSERT_EQ(attempts.size(), 2u) << run.output;
  EXPECT_THAT(attempts[0], AllOf(HasSubstr("HTTP 503"), HasSubstr(" ms"), HasSubstr("Z")));
  EXPECT_THAT(attempts[1], HasSubstr("HTTP 204"));
  EXPECT_THAT(run.output, HasSubstr("response: busy"));
  EXPECT_THAT(run.output, HasSubstr("STARTED (UTC)"));
}

TEST_F(HookctlTest, RegistryRefusalsExitOneWithTheCodeAndMessage) {
  Outcome run =
      Hookctl({"get-webhook", "--tenant", "acme", "--id", "wh_01ARZ3NDEKTSV4RRFFQ69G5FAV"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.output,
              HasSubstr("GetWebhook: NOT_FOUND: webhook wh_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
  run = Hookctl({"list-webhooks", "--tenant", "acme", "--api-key", "hr_wrong"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.output, AllOf(HasSubstr("UNAUTHENTICATED"), HasSubstr("HOOKRELAY_API_KEY")));
  run = Hookctl({"list-webhooks", "--tenant", "acme", "--page-size", "-1"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.output, HasSubstr("INVALID_ARGUMENT: page_size:"));
}

TEST_F(HookctlTest, RateLimitAndOrderingAreSetShownAndRemoved) {
  const std::string id = CreateHook("https://example.com/hook");
  ASSERT_FALSE(id.empty());
  Outcome run = Hookctl({"get-webhook", "--tenant", "acme", "--id", id});
  EXPECT_THAT(run.output, AllOf(HasSubstr("rate limit:  none"), HasSubstr("ordering:    none")));
  run = Hookctl({"update-webhook", "--tenant", "acme", "--id", id, "--rate-limit", "50", "--burst",
                 "5", "--ordering", "per-key-hold"});
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_THAT(run.output,
              AllOf(HasSubstr("rate limit:  50/s, burst 5"),
                    HasSubstr("ordering:    per key, a failed delivery holds its key")));
  run = Hookctl({"update-webhook", "--tenant", "acme", "--id", id, "--rate-limit", "0"});
  EXPECT_THAT(run.output, HasSubstr("rate limit:  none"));
  run = Hookctl({"update-webhook", "--tenant", "acme", "--id", id, "--rate-limit", "20000"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.output, HasSubstr("INVALID_ARGUMENT: webhook.rate_limit.per_second:"));
  run = Hookctl({"update-webhook", "--tenant", "acme", "--id", id, "--ordering", "sorted"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.output, HasSubstr("--ordering: want none, per-key or per-key-hold"));
  run = Hookctl({"publish", "--tenant", "acme", "--type", "x.y", "--payload", "{}",
                 "--ordering-key", "order-42", "--json"},
                "", true);
  ASSERT_EQ(run.code, 0) << run.output;
  const std::string event = nlohmann::json::parse(run.output).value("event_id", "");
  run = Hookctl({"get-event", "--tenant", "acme", "--id", event});
  EXPECT_THAT(run.output, HasSubstr("order key:   order-42"));
}

TEST_F(HookctlTest, TestWebhookShowsTheAttempt) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  const std::string hook = CreateHook(receiver->Url("/in"));
  Outcome run = Hookctl({"test-webhook", "--tenant", "acme", "--id", hook});
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_THAT(run.output,
              AllOf(HasSubstr("result:      HTTP 200"), HasSubstr("delivery:    dlv_")));
  ASSERT_EQ(receiver->RequestCount(), 1u);
  EXPECT_THAT(receiver->Requests()[0].body, HasSubstr("webhook.test"));
}

}  // namespace
}  // namespace hookrelay::testing
