// The recipes of deploy/docs/recipes.md, run verbatim: every webhook created through the
// registry's gRPC API as written, every event published, every test send made, and every
// request a real delivery-worker sends compared with the request the recipe shows, then
// checked by the product's own verification (tests/e2e/recipe_verify.js,
// recipe_verify_reviewboard.py).
#include <google/protobuf/util/json_util.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/recipe_support.h"
#include "tests/e2e/stack.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using json = nlohmann::json;

constexpr absl::Duration kDeliveryTimeout = absl::Seconds(20);
// Every recipe in the document has a test below.
const std::set<std::string> kTestedRecipes = {
    "mockreview-slack", "mockreview-discord", "mockreview-jira", "mockreview-custom",
    "reviewboard",      "smartlook",          "miniback"};

json Parse(absl::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << text;
  return j;
}

template <typename Message>
Message FromJson(const std::string& text) {
  Message m;
  const auto st = google::protobuf::util::JsonStringToMessage(text, &m);
  EXPECT_TRUE(st.ok()) << st.ToString() << "\n" << text;
  return m;
}

// A recipe as run: the hooks created, the events published, and per expected request the
// request received.
struct RecipeRun {
  std::vector<v1::Webhook> hooks;
  std::vector<v1::PublishEventResponse> published;
  std::vector<v1::TestWebhookResponse> tested;
  std::vector<ReceivedRequest> received;
};

class RecipesE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = RedisServer::Start().value();
    absl::StatusOr<std::string> doc =
        ReadTextFile(absl::StrCat(HOOKRELAY_SOURCE_DIR, "/deploy/docs/recipes.md"));
    ASSERT_OK(doc.status());
    absl::StatusOr<std::map<std::string, Recipe>> recipes = ParseRecipes(*doc);
    ASSERT_OK(recipes.status());
    recipes_ = new std::map<std::string, Recipe>(*std::move(recipes));
  }
  static void TearDownTestSuite() { redis_.reset(); }

  void SetUp() override {
    ASSERT_NE(recipes_, nullptr);
    ASSERT_OK(redis_->FlushAll());
    ASSERT_OK_AND_ASSIGN(receiver_, HttpReceiver::Start());
    ASSERT_OK_AND_ASSIGN(stack_, Stack::Start(*redis_));
  }

  const Recipe& RecipeNamed(const std::string& name) {
    EXPECT_TRUE(recipes_->contains(name)) << name << " is not in recipes.md";
    static const Recipe kNone;
    return recipes_->contains(name) ? recipes_->at(name) : kNone;
  }

  // Creates the recipe's webhooks as written, sending to the receiver instead of their host.
  void CreateHooks(const Recipe& recipe, RecipeRun* run) {
    size_t templated = 0;
    for (const std::string& text : recipe.webhooks) {
      auto req = FromJson<v1::CreateWebhookRequest>(text);
      if (!req.webhook().payload_template().empty()) {
        ASSERT_LT(templated, recipe.templates.size()) << "no readable template block";
        EXPECT_EQ(req.webhook().payload_template(), recipe.templates[templated++]);
      }
      req.mutable_webhook()->set_url(ReplaceOrigin(req.webhook().url(), receiver_->Url("")));
      v1::Webhook created;
      grpc::Status st = stack_->stub().CreateWebhook(stack_->Context().get(), req, &created);
      ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << text;
      run->hooks.push_back(created);
    }
  }

  void PublishEvents(const Recipe& recipe, RecipeRun* run) {
    ASSERT_EQ(recipe.payloads.size(), recipe.events.size()) << "one payload block per event";
    for (size_t i = 0; i < recipe.events.size(); ++i) {
      const auto req = FromJson<v1::PublishEventRequest>(recipe.events[i]);
      EXPECT_EQ(Parse(req.payload()), Parse(recipe.payloads[i])) << "event and payload differ";
      v1::PublishEventResponse published;
      grpc::Status st = stack_->stub().PublishEvent(stack_->Context().get(), req, &published);
      ASSERT_TRUE(st.ok()) << st.error_message();
      run->published.push_back(published);
    }
  }

  // Runs the test sends, each for the recipe's first hook, once the events' requests are in.
  void TestHooks(const Recipe& recipe, RecipeRun* run) {
    const size_t from_events = recipe.requests.size() - recipe.tests.size();
    ASSERT_TRUE(
        WaitFor([&] { return receiver_->RequestCount() >= from_events; }, kDeliveryTimeout));
    for (const std::string& text : recipe.tests) {
      auto req = FromJson<v1::TestWebhookRequest>(text);
      EXPECT_EQ(req.id(), "wh_…");
      req.set_id(run->hooks.at(0).id());
      v1::TestWebhookResponse resp;
      grpc::Status st = stack_->stub().TestWebhook(stack_->Context().get(), req, &resp);
      ASSERT_TRUE(st.ok()) << st.error_message();
      run->tested.push_back(resp);
    }
  }

  // The first request at `path` not yet taken, waiting for it.
  ReceivedRequest Take(const std::string& path, std::set<size_t>* taken) {
    ReceivedRequest found;
    const bool ok = WaitFor(
        [&] {
          std::vector<ReceivedRequest> all = receiver_->Requests();
          for (size_t i = 0; i < all.size(); ++i) {
            if (all[i].path != path || taken->contains(i)) continue;
            taken->insert(i);
            found = std::move(all[i]);
            return true;
          }
          return false;
        },
        kDeliveryTimeout, absl::Milliseconds(10));
    EXPECT_TRUE(ok) << "no request at " << path;
    return found;
  }

  static void ExpectMatches(const ExpectedRequest& expected, const ReceivedRequest& r) {
    SCOPED_TRACE(expected.path);
    EXPECT_EQ(r.method, expected.method);
    bool json_body = false;
    for (const auto& [name, value] : expected.headers) {
      const std::string key = absl::AsciiStrToLower(name);
      ASSERT_TRUE(r.headers.contains(key)) << "no " << name << " header";
      EXPECT_TRUE(HeaderMatches(value, r.headers.at(key)))
          << name << ": " << r.headers.at(key) << " is not " << value;
      if (key == "content-type" && absl::StrContains(value, "json")) json_body = true;
    }
    if (!json_body) {
      EXPECT_EQ(r.body, expected.body);
      return;
    }
    std::string why;
    EXPECT_TRUE(JsonMatches(Parse(expected.body), Parse(r.body), &why)) << why << "\n" << r.body;
  }

  // Runs recipe `name` as written and checks every request against the recipe's.
  RecipeRun RunRecipe(const std::string& name) {
    const Recipe& recipe = RecipeNamed(name);
    RecipeRun run;
    CreateHooks(recipe, &run);
    PublishEvents(recipe, &run);
    TestHooks(recipe, &run);
    std::set<size_t> taken;
    for (const std::string& block : recipe.requests) {
      absl::StatusOr<ExpectedRequest> expected = ParseExpectedRequest(block);
      EXPECT_OK(expected.status());
      if (!expected.ok()) continue;
      run.received.push_back(Take(expected->path, &taken));
      ExpectMatches(*expected, run.received.back());
    }
    return run;
  }

  // The product's own check of a received request (recipe_verify.js).
  static int Verify(const std::string& product, const std::string& secret,
                    const ReceivedRequest& r) {
    return RunRecipeVerifier(
        "node", "recipe_verify.js",
        {{"product", product}, {"secret", secret}, {"headers", r.headers}, {"body", r.body}});
  }

  v1::Delivery WaitForEnd(const std::string& delivery_id) {
    v1::Delivery d;
    WaitFor(
        [&] {
          v1::GetDeliveryRequest get;
          get.set_tenant("acme");
          get.set_id(delivery_id);
          d.Clear();
          return stack_->stub().GetDelivery(stack_->Context().get(), get, &d).ok() &&
                 (d.status() == v1::DELIVERY_STATUS_SUCCEEDED ||
                  d.status() == v1::DELIVERY_STATUS_FAILED);
        },
        kDeliveryTimeout, absl::Milliseconds(20));
    return d;
  }

  void ExpectAllSucceeded(const RecipeRun& run) {
    for (const v1::PublishEventResponse& p : run.published) {
      for (const std::string& id : p.delivery_ids()) {
        const v1::Delivery d = WaitForEnd(id);
        EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_SUCCEEDED) << d.DebugString();
      }
    }
  }

  inline static std::unique_ptr<RedisServer> redis_;
  inline static const std::map<std::string, Recipe>* recipes_ = nullptr;
  std::unique_ptr<HttpReceiver> receiver_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(RecipesE2eTest, EveryRecipeInTheDocumentIsTested) {
  std::set<std::string> names;
  for (const auto& [name, recipe] : *recipes_) {
    names.insert(name);
    EXPECT_FALSE(recipe.webhooks.empty()) << name;
    EXPECT_FALSE(recipe.requests.empty()) << name;
  }
  EXPECT_EQ(names, kTestedRecipes);
}

TEST_F(RecipesE2eTest, MockReviewSlackSendsMockReviewsMessage) {
  const RecipeRun run = RunRecipe("mockreview-slack");
  ASSERT_THAT(run.received, SizeIs(1));
  EXPECT_EQ(Verify("mockreview-slack", "", run.received[0]), 0);
  ExpectAllSucceeded(run);
}

TEST_F(RecipesE2eTest, MockReviewDiscordSendsAnEmbedWithinDiscordsLimits) {
  const RecipeRun run = RunRecipe("mockreview-discord");
  ASSERT_THAT(run.received, SizeIs(1));
  EXPECT_EQ(Verify("mockreview-discord", "", run.received[0]), 0);
  ExpectAllSucceeded(run);
}

// The issue key comes from the event, so no value may move the comment (and its
// Authorization header) elsewhere: ".." would have made .../issue/../comment, which URL
// normalisation sends to /rest/api/3/comment.
TEST_F(RecipesE2eTest, MockReviewJiraCommentsOnTheEventsIssueOnly) {
  const RecipeRun run = RunRecipe("mockreview-jira");
  ASSERT_THAT(run.received, SizeIs(1));
  EXPECT_EQ(Verify("mockreview-jira", "", run.received[0]), 0);
  ExpectAllSucceeded(run);

  for (const char* key : {R"(".")", R"("..")", R"("")", R"("../comment")", "null"}) {
    SCOPED_TRACE(key);
    v1::PublishEventRequest req =
        FromJson<v1::PublishEventRequest>(RecipeNamed("mockreview-jira").events.at(0));
    req.set_payload(absl::StrCat(R"({"file":{"name":"x.png"},"jiraIssueKey":)", key, "}"));
    v1::PublishEventResponse published;
    ASSERT_TRUE(stack_->stub().PublishEvent(stack_->Context().get(), req, &published).ok());
    ASSERT_THAT(published.delivery_ids(), SizeIs(1));
    const v1::Delivery d = WaitForEnd(published.delivery_ids(0));
    EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_FAILED) << d.DebugString();
    ASSERT_THAT(d.attempts(), SizeIs(1)) << d.DebugString();  // never retried
    EXPECT_EQ(d.attempts(0).error_class(), v1::ERROR_CLASS_RENDER);
    EXPECT_THAT(d.attempts(0).error(), HasSubstr("webhook.url: "));
    EXPECT_FALSE(d.has_next_attempt_time());
  }
  // Escaped, "%2e%2e" is an issue key of its own, sent to that (encoded) issue's path.
  v1::PublishEventRequest req =
      FromJson<v1::PublishEventRequest>(RecipeNamed("mockreview-jira").events.at(0));
  req.set_payload(R"({"file":{"name":"x.png"},"jiraIssueKey":"%2e%2E"})");
  v1::PublishEventResponse published;
  ASSERT_TRUE(stack_->stub().PublishEvent(stack_->Context().get(), req, &published).ok());
  EXPECT_EQ(WaitForEnd(published.delivery_ids(0)).status(), v1::DELIVERY_STATUS_SUCCEEDED);
  std::vector<std::string> paths;
  for (const ReceivedRequest& r : receiver_->Requests()) paths.push_back(r.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/rest/api/3/issue/PROJECT-123/comment",
                                             "/rest/api/3/issue/%252e%252E/comment"}));
}

TEST_F(RecipesE2eTest, MockReviewCustomWebhookVerifiesWithMockReviewsExample) {
  const RecipeRun run = RunRecipe("mockreview-custom");
  ASSERT_THAT(run.received, SizeIs(1));
  const std::string secret = run.hooks.at(0).signing().secret();
  EXPECT_EQ(secret, "your-secret-here");
  EXPECT_EQ(Verify("mockreview-custom", secret, run.received[0]), 0);
  EXPECT_EQ(Verify("mockreview-custom", "another-secret-value", run.received[0]), 1);
  ExpectAllSucceeded(run);
}

// JSON, XML and form data carry Review Board's own payload, as Review Board encodes it; the
// custom payload names its fields as Review Board's templates do.
TEST_F(RecipesE2eTest, ReviewBoardEncodingsAreReviewBoards) {
  const RecipeRun run = RunRecipe("reviewboard");
  ASSERT_THAT(run.received, SizeIs(4));
  // As text: the XML follows the payload's member order, which a parsed json would sort.
  const std::string payload = RecipeNamed("reviewboard").payloads.at(0);
  const char* const kKinds[] = {"json", "xml", "form", "custom"};
  for (size_t i = 0; i < 4; ++i) {
    json input = {{"kind", kKinds[i]},
                  {"secret", run.hooks.at(i).signing().secret()},
                  {"headers", run.received[i].headers},
                  {"body", run.received[i].body},
                  {"payload", payload}};
    EXPECT_EQ(RunRecipeVerifier("python3", "recipe_verify_reviewboard.py", input), 0) << kKinds[i];
    input["secret"] = "another-secret-value";  // the verifier can fail
    EXPECT_EQ(RunRecipeVerifier("python3", "recipe_verify_reviewboard.py", input), 1) << kKinds[i];
  }
  ExpectAllSucceeded(run);
  // "Apply to" selected repositories: another repository's review request reaches no hook.
  auto other = FromJson<v1::PublishEventRequest>(RecipeNamed("reviewboard").events.at(0));
  (*other.mutable_attributes())["repository"] = "reviewboard";
  v1::PublishEventResponse published;
  ASSERT_TRUE(stack_->stub().PublishEvent(stack_->Context().get(), other, &published).ok());
  EXPECT_THAT(published.delivery_ids(), SizeIs(0));
}

TEST_F(RecipesE2eTest, SmartlookIssueVerifiesWithSmartlooksExample) {
  const RecipeRun run = RunRecipe("smartlook");
  ASSERT_THAT(run.received, SizeIs(1));
  EXPECT_EQ(Verify("smartlook", run.hooks.at(0).signing().secret(), run.received[0]), 0);
  EXPECT_EQ(Verify("smartlook", "another-secret-value", run.received[0]), 1);
  ExpectAllSucceeded(run);
}

// Miniback's feedback webhook and its Test button (TestWebhook with the event type "test").
TEST_F(RecipesE2eTest, MinibackFeedbackAndTestButtonVerifyWithMinibacksExample) {
  const RecipeRun run = RunRecipe("miniback");
  ASSERT_THAT(run.received, SizeIs(2));
  const std::string secret = run.hooks.at(0).signing().secret();
  EXPECT_EQ(Verify("miniback", secret, run.received[0]), 0);
  EXPECT_EQ(Verify("miniback", secret, run.received[1]), 0);
  EXPECT_EQ(Verify("miniback", "another-secret-value", run.received[1]), 1);
  ASSERT_THAT(run.tested, SizeIs(1));
  EXPECT_EQ(run.tested[0].attempt().http_status(), 200);
  EXPECT_EQ(Parse(run.received[1].body)["timestamp"],
            run.received[1].headers.at("x-miniback-timestamp"));
  ExpectAllSucceeded(run);

  // Without an event type the test event is still webhook.test; a bad one is refused.
  v1::TestWebhookRequest req;
  req.set_tenant("acme");
  req.set_id(run.hooks.at(0).id());
  v1::TestWebhookResponse resp;
  ASSERT_TRUE(stack_->stub().TestWebhook(stack_->Context().get(), req, &resp).ok());
  ASSERT_TRUE(WaitFor([&] { return receiver_->RequestCount() == 3; }, kDeliveryTimeout));
  EXPECT_EQ(Parse(receiver_->Requests().back().body)["event"], "webhook.test");
  req.set_event_type("not a type!");
  grpc::Status st = stack_->stub().TestWebhook(stack_->Context().get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), ::testing::StartsWith("event_type: "));
}

}  // namespace
}  // namespace hookrelay::testing
