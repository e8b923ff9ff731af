// Compatibility end to end: every real-world webhook shape hookrelay promises, configured
// through the registry API alone (format, template, headers, user agent, signing, retry
// policy), delivered by the real worker to a real HTTP receiver that checks the body shape,
// the exact header names and the signature the way each receiver's documentation says,
// computed independently (OpenSSL HMAC, the npm `standardwebhooks` and `svix` packages).
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/stack.h"
#include "tests/e2e/verifiers.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using json = nlohmann::json;

constexpr char kTenant[] = "acme";
constexpr absl::Duration kDeliveryTimeout = absl::Seconds(20);

// The secrets a platform already gave its users, supplied on create (the hex schemes key
// HMAC with these bytes exactly).
constexpr char kMockReviewSecret[] = "mockreview-signing-secret-42";
constexpr char kReviewBoardSecret[] = "reviewboard shared secret 0123";
constexpr char kMinibackSecret[] = "mb_live_5f3c2a9e8d7b6a10";

// Parses `body` as JSON, failing the test (and returning null) when it is not.
json ParseJson(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << body;
  return j.is_discarded() ? json() : j;
}

// The names of an object's members.
std::vector<std::string> Keys(const json& object) {
  std::vector<std::string> keys;
  if (!object.is_object()) return keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

// Whether `node` is a well-formed Atlassian Document Format node of the kinds a comment
// uses; explains the first problem in `why`.
bool IsAdfNode(const json& node, std::string* why) {
  if (!node.is_object() || !node.contains("type") || !node["type"].is_string()) {
    *why = absl::StrCat("node without a type: ", node.dump());
    return false;
  }
  const std::string type = node["type"];
  if (type == "text") {
    if (!node.contains("text") || !node["text"].is_string() ||
        node["text"].get<std::string>().empty() ||
        absl::StrContains(node["text"].get<std::string>(), "\n")) {
      *why = absl::StrCat("text node needs non-empty text without newlines: ", node.dump());
      return false;
    }
    for (const json& mark : node.value("marks", json::array())) {
      const std::string m = mark.value("type", "");
      if (m != "strong" && m != "em" && m != "code" && m != "link") {
        *why = absl::StrCat("unknown mark: ", mark.dump());
        return false;
      }
      if (m == "link" && !(mark.contains("attrs") && mark["attrs"].is_object() &&
                           mark["attrs"].contains("href") && mark["attrs"]["href"].is_string())) {
        *why = absl::StrCat("link without href: ", mark.dump());
        return false;
      }
    }
    return true;
  }
  if (type == "hardBreak") return true;
  if (type != "paragraph" && type != "bulletList" && type != "orderedList" && type != "listItem" &&
      type != "heading" && type != "blockquote" && type != "codeBlock") {
    *why = absl::StrCat("unexpected node type: ", type);
    return false;
  }
  if (!node.contains("content") || !node["content"].is_array()) {
    *why = absl::StrCat(type, " without a content array");
    return false;
  }
  for (const json& child : node["content"]) {
    if (!IsAdfNode(child, why)) return false;
  }
  return true;
}

// The concatenated text of an ADF node, hard breaks as "\n".
std::string AdfText(const json& node) {
  if (node.value("type", "") == "text") return node.value("text", "");
  if (node.value("type", "") == "hardBreak") return "\n";
  std::string out;
  for (const json& child : node.value("content", json::array())) out += AdfText(child);
  return out;
}

class CompatE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }

  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    ASSERT_OK_AND_ASSIGN(receiver_, HttpReceiver::Start());  // 200, empty body
    ASSERT_OK_AND_ASSIGN(stack_, Stack::Start(*redis_));
    // Whole milliseconds, as the payload timestamps show them.
    occurred_at_ = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  }

  // Creates `hook` for the tenant through the API; the response (secret shown once).
  grpc::Status Create(v1::Webhook hook, v1::Webhook* out) {
    hook.set_tenant(kTenant);
    v1::CreateWebhookRequest req;
    *req.mutable_webhook() = std::move(hook);
    return stack_->stub().CreateWebhook(stack_->Context().get(), req, out);
  }

  grpc::Status Publish(const std::string& type, const std::string& payload,
                       v1::PublishEventResponse* out) {
    v1::PublishEventRequest req;
    req.set_tenant(kTenant);
    req.set_type(type);
    req.set_payload(payload);
    req.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(occurred_at_));
    req.mutable_occurred_at()->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(
        occurred_at_ - absl::FromUnixSeconds(absl::ToUnixSeconds(occurred_at_)))));
    return stack_->stub().PublishEvent(stack_->Context().get(), req, out);
  }

  // The event time as the payloads render it (RFC 3339 UTC, milliseconds).
  std::string OccurredAtText() const {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", occurred_at_, absl::UTCTimeZone());
  }

  // The delivery once it has ended (SUCCEEDED or FAILED), or as last seen after `timeout`.
  v1::Delivery WaitForEnd(const std::string& delivery_id,
                          absl::Duration timeout = kDeliveryTimeout) {
    v1::Delivery d;
    WaitFor(
        [&] {
          v1::GetDeliveryRequest get;
          get.set_tenant(kTenant);
          get.set_id(delivery_id);
          d.Clear();
          return stack_->stub().GetDelivery(stack_->Context().get(), get, &d).ok() &&
                 (d.status() == v1::DELIVERY_STATUS_SUCCEEDED ||
                  d.status() == v1::DELIVERY_STATUS_FAILED);
        },
        timeout, absl::Milliseconds(20));
    return d;
  }

  // The requests the receiver got at `path`, once there are at least `n` (or as many as
  // arrived within the timeout).
  std::vector<ReceivedRequest> RequestsAt(const std::string& path, size_t n = 1) {
    std::vector<ReceivedRequest> at;
    WaitFor(
        [&] {
          at.clear();
          for (ReceivedRequest& r : receiver_->Requests()) {
            if (r.path == path) at.push_back(std::move(r));
          }
          return at.size() >= n;
        },
        kDeliveryTimeout, absl::Milliseconds(10));
    return at;
  }

  inline static std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<HttpReceiver> receiver_;
  std::unique_ptr<Stack> stack_;
  absl::Time occurred_at_;
};

// (a) MockReview: its Slack message for REVIEW_REQUESTED, and its custom webhook (the raw
// payload, hex HMAC-SHA256 of the body in X-MockReview-Signature, 10 s timeout).
TEST_F(CompatE2eTest, MockReviewSlackMessageAndSignedCustomWebhook) {
  v1::Webhook slack;
  slack.set_url(receiver_->Url("/services/T0001/B0002/slack"));
  slack.add_event_types("REVIEW_REQUESTED");
  slack.set_payload_format(v1::PAYLOAD_FORMAT_SLACK);
  slack.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_NONE);  // Slack verifies none
  v1::Webhook created;
  grpc::Status st = Create(slack, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();

  v1::Webhook custom;
  custom.set_url(receiver_->Url("/mockreview/hooks"));
  custom.add_event_types("REVIEW_REQUESTED");
  custom.set_payload_format(v1::PAYLOAD_FORMAT_JSON);
  custom.set_timeout_ms(10000);
  custom.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
  custom.mutable_signing()->set_header("X-MockReview-Signature");
  custom.mutable_signing()->set_secret(kMockReviewSecret);
  st = Create(custom, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(created.timeout_ms(), 10000);

  const std::string payload =
      R"({"review":{"title":"Fix login","url":"https://review.example/r/42","author":"ana",)"
      R"("id":42,"status":"pending","reviewers":["grace","linus"]}})";
  v1::PublishEventResponse published;
  st = Publish("REVIEW_REQUESTED", payload, &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(published.delivery_ids_size(), 2);

  // The Slack message: one legacy attachment.
  std::vector<ReceivedRequest> at = RequestsAt("/services/T0001/B0002/slack");
  ASSERT_THAT(at, SizeIs(1));
  EXPECT_EQ(at[0].method, "POST");
  EXPECT_EQ(at[0].headers["content-type"], "application/json");
  EXPECT_FALSE(at[0].headers.contains("webhook-signature"));
  json body = ParseJson(at[0].body);
  ASSERT_TRUE(body["attachments"].is_array()) << at[0].body;
  ASSERT_THAT(body["attachments"], SizeIs(1)) << at[0].body;
  json& a = body["attachments"][0];
  EXPECT_EQ(a["title"], "Fix login");
  EXPECT_EQ(a["title_link"], "https://review.example/r/42");
  EXPECT_EQ(a["author_name"], "ana");
  EXPECT_EQ(a["color"], "#ecb22e");  // status "pending": amber, "#rrggbb" as Slack takes it
  EXPECT_EQ(a["footer"], "REVIEW_REQUESTED");
  ASSERT_TRUE(a["ts"].is_number_integer()) << a.dump();
  EXPECT_EQ(a["ts"].get<int64_t>(), absl::ToUnixSeconds(occurred_at_));
  EXPECT_EQ(a["fallback"], "Fix login");
  ASSERT_TRUE(a["fields"].is_array()) << a.dump();
  EXPECT_THAT(a["fields"],
              Contains(json{{"title", "Reviewers"}, {"value", "grace, linus"}, {"short", true}}));
  EXPECT_THAT(a["fields"], Contains(json{{"title", "Id"}, {"value", "42"}, {"short", true}}));
  for (json f : a["fields"]) {
    EXPECT_TRUE(f["title"].is_string() && f["value"].is_string() && f["short"].is_boolean())
        << f.dump();
  }

  // The custom webhook: the payload exactly as published, signed over the raw body.
  at = RequestsAt("/mockreview/hooks");
  ASSERT_THAT(at, SizeIs(1));
  EXPECT_EQ(at[0].headers["content-type"], "application/json");
  EXPECT_EQ(at[0].body, payload);
  ASSERT_TRUE(at[0].headers.contains("x-mockreview-signature"));
  EXPECT_EQ(at[0].headers["x-mockreview-signature"], HmacSha256Hex(kMockReviewSecret, at[0].body));
  EXPECT_NE(at[0].headers["x-mockreview-signature"], HmacSha256Hex("another secret", at[0].body));
  EXPECT_FALSE(at[0].headers.contains("webhook-signature"));

  for (const std::string& id : published.delivery_ids()) {
    const v1::Delivery d = WaitForEnd(id);
    EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_SUCCEEDED) << d.DebugString();
  }
}

// (b) A Discord embed for COMMENT_ADDED.
TEST_F(CompatE2eTest, DiscordEmbedForCommentAdded) {
  v1::Webhook hook;
  hook.set_url(receiver_->Url("/api/webhooks/1234/discord-token"));
  hook.add_event_types("COMMENT_ADDED");
  hook.set_payload_format(v1::PAYLOAD_FORMAT_DISCORD);
  hook.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_NONE);
  v1::Webhook created;
  grpc::Status st = Create(hook, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();

  const std::string payload =
      R"({"comment":{"title":"Re: Fix login","url":"https://review.example/r/42#c7",)"
      R"("text":"Looks good.\nOne nit on line 12.","author":{"name":"bob"},)"
      R"("color":"#5865F2","file":"src/login.cc","line":12}})";
  v1::PublishEventResponse published;
  st = Publish("COMMENT_ADDED", payload, &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(published.delivery_ids_size(), 1);

  std::vector<ReceivedRequest> at = RequestsAt("/api/webhooks/1234/discord-token");
  ASSERT_THAT(at, SizeIs(1));
  EXPECT_EQ(at[0].headers["content-type"], "application/json");
  json body = ParseJson(at[0].body);
  ASSERT_TRUE(body["embeds"].is_array()) << at[0].body;
  ASSERT_THAT(body["embeds"], SizeIs(1)) << at[0].body;
  json& e = body["embeds"][0];
  EXPECT_EQ(e["title"], "Re: Fix login");
  EXPECT_EQ(e["url"], "https://review.example/r/42#c7");
  EXPECT_EQ(e["description"], "Looks good.\nOne nit on line 12.");
  ASSERT_TRUE(e["color"].is_number_integer()) << e.dump();  // Discord takes an integer
  EXPECT_EQ(e["color"].get<int64_t>(), 0x5865F2);
  EXPECT_EQ(e["author"]["name"], "bob");
  EXPECT_EQ(e["footer"]["text"], "COMMENT_ADDED");
  EXPECT_EQ(e["timestamp"], OccurredAtText());  // ISO 8601, as Discord takes it
  ASSERT_TRUE(e["fields"].is_array()) << e.dump();
  EXPECT_THAT(e["fields"],
              Contains(json{{"name", "File"}, {"value", "src/login.cc"}, {"inline", true}}));
  EXPECT_THAT(e["fields"], Contains(json{{"name", "Line"}, {"value", "12"}, {"inline", true}}));

  const v1::Delivery d = WaitForEnd(published.delivery_ids(0));
  EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_SUCCEEDED) << d.DebugString();
}

// (c) JIRA: an ADF comment posted to .../rest/api/3/issue/{{data.jiraIssueKey}}/comment with
// Basic auth; an event without the key fails at once with a render error, never retried.
TEST_F(CompatE2eTest, JiraAdfCommentToTemplatedIssueUrlWithBasicAuth) {
  const std::string authorization =
      absl::StrCat("Basic ", absl::Base64Escape("bot@example.com:atl-api-token-0123"));
  v1::Webhook hook;
  hook.set_url(receiver_->Url("/rest/api/3/issue/{{data.jiraIssueKey}}/comment"));
  hook.add_event_types("REVIEW_REQUESTED");
  hook.set_payload_format(v1::PAYLOAD_FORMAT_JIRA);
  (*hook.mutable_headers())["Authorization"] = authorization;
  hook.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_NONE);
  v1::Webhook created;
  grpc::Status st = Create(hook, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();

  const std::string payload = R"({"jiraIssueKey":"PROJ-7","review":{"title":"Fix login",)"
                              R"("url":"https://review.example/r/42","author":"ana",)"
                              R"("description":"Please review.\nThanks!"}})";
  v1::PublishEventResponse published;
  st = Publish("REVIEW_REQUESTED", payload, &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(published.delivery_ids_size(), 1);

  std::vector<ReceivedRequest> at = RequestsAt("/rest/api/3/issue/PROJ-7/comment");
  ASSERT_THAT(at, SizeIs(1)) << "paths seen: " << receiver_->RequestCount();
  EXPECT_EQ(at[0].method, "POST");
  EXPECT_EQ(at[0].headers["authorization"], authorization);
  EXPECT_EQ(at[0].headers["content-type"], "application/json");
  json body = ParseJson(at[0].body);
  EXPECT_EQ(Keys(body), std::vector<std::string>{"body"});
  json& doc = body["body"];
  EXPECT_EQ(doc["type"], "doc");
  EXPECT_EQ(doc["version"], 1);
  ASSERT_TRUE(doc["content"].is_array()) << at[0].body;
  ASSERT_THAT(doc["content"], Not(IsEmpty()));
  for (const json& node : doc["content"]) {
    std::string why;
    EXPECT_TRUE(IsAdfNode(node, &why)) << why;
  }
  // The title paragraph: "Fix login" strong and linked, then the author.
  json& title = doc["content"][0];
  EXPECT_EQ(title["type"], "paragraph");
  EXPECT_EQ(title["content"][0]["text"], "Fix login");
  EXPECT_THAT(title["content"][0]["marks"], Contains(json{{"type", "strong"}}));
  EXPECT_THAT(
      title["content"][0]["marks"],
      Contains(json{{"type", "link"}, {"attrs", {{"href", "https://review.example/r/42"}}}}));
  EXPECT_THAT(AdfText(title), HasSubstr("ana"));
  // The description keeps its line break as a hardBreak.
  std::vector<std::string> texts;
  for (const json& node : doc["content"]) texts.push_back(AdfText(node));
  EXPECT_THAT(texts, Contains("Please review.\nThanks!"));
  EXPECT_EQ(WaitForEnd(published.delivery_ids(0)).status(), v1::DELIVERY_STATUS_SUCCEEDED);

  // Without jiraIssueKey the URL cannot be rendered: FAILED at the first attempt with a
  // render error naming the variable, nothing sent, no retry scheduled.
  st = Publish("REVIEW_REQUESTED", R"({"review":{"title":"No issue key"}})", &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(published.delivery_ids_size(), 1);
  const v1::Delivery d = WaitForEnd(published.delivery_ids(0));
  EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_FAILED) << d.DebugString();
  EXPECT_EQ(d.attempt_count(), 1) << d.DebugString();
  ASSERT_EQ(d.attempts_size(), 1) << d.DebugString();
  EXPECT_EQ(d.attempts(0).error_class(), v1::ERROR_CLASS_RENDER);
  EXPECT_THAT(d.attempts(0).error(), HasSubstr("jiraIssueKey"));
  EXPECT_EQ(d.attempts(0).http_status(), 0);
  EXPECT_EQ(d.last_error_class(), v1::ERROR_CLASS_RENDER);
  EXPECT_FALSE(d.has_next_attempt_time()) << d.DebugString();
  EXPECT_EQ(receiver_->RequestCount(), 1u);
}

// (d) Review Board: JSON, XML and form encodings, each signed X-Hub-Signature: sha1=<hex>.
TEST_F(CompatE2eTest, ReviewBoardJsonXmlAndFormSignedWithHubSignatureSha1) {
  const std::pair<const char*, v1::PayloadFormat> kEncodings[] = {
      {"/rb/json", v1::PAYLOAD_FORMAT_JSON},
      {"/rb/xml", v1::PAYLOAD_FORMAT_XML},
      {"/rb/form", v1::PAYLOAD_FORMAT_FORM}};
  for (const auto& [path, format] : kEncodings) {
    v1::Webhook hook;
    hook.set_url(receiver_->Url(path));
    hook.add_event_types("review_request_published");
    hook.set_payload_format(format);
    hook.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_HMAC_SHA1_HEX);
    hook.mutable_signing()->set_header("X-Hub-Signature");
    hook.mutable_signing()->set_prefix("sha1=");
    hook.mutable_signing()->set_secret(kReviewBoardSecret);
    v1::Webhook created;
    grpc::Status st = Create(hook, &created);
    ASSERT_TRUE(st.ok()) << path << ": " << st.error_message();
  }

  // Text that every encoding must escape: markup, ampersands, quotes, non-ASCII, '+', '='.
  const std::string summary = "Fix <login> & \"quotes\" in caf\xC3\xA9 a+b=c";
  const json payload_json = {{"event", "review_request_published"},
                             {"review_request",
                              {{"id", 42},
                               {"summary", summary},
                               {"submitter", {{"username", "ana"}}},
                               {"absolute_url", "https://rb.example/r/42/"},
                               {"target_people", {"grace", "linus"}}}},
                             {"is_new", true}};
  const std::string payload = payload_json.dump();
  v1::PublishEventResponse published;
  grpc::Status st = Publish("review_request_published", payload, &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(published.delivery_ids_size(), 3);

  for (const auto& [path, format] : kEncodings) {
    SCOPED_TRACE(path);
    std::vector<ReceivedRequest> at = RequestsAt(path);
    ASSERT_THAT(at, SizeIs(1));
    const ReceivedRequest& r = at[0];
    ASSERT_TRUE(r.headers.contains("x-hub-signature"));
    EXPECT_EQ(r.headers.at("x-hub-signature"), "sha1=" + HmacSha1Hex(kReviewBoardSecret, r.body));
    EXPECT_FALSE(r.headers.contains("x-hub-signature-256"));
    EXPECT_FALSE(r.headers.contains("webhook-signature"));
    switch (format) {
      case v1::PAYLOAD_FORMAT_JSON: {
        EXPECT_EQ(r.headers.at("content-type"), "application/json");
        EXPECT_EQ(r.body, payload);
        EXPECT_EQ(ParseJson(r.body), payload_json);
        break;
      }
      case v1::PAYLOAD_FORMAT_XML: {
        EXPECT_THAT(r.headers.at("content-type"), StartsWith("application/xml"));
        absl::StatusOr<XmlElement> xml = ParseXml(r.body);
        ASSERT_OK(xml.status()) << r.body;
        EXPECT_EQ(xml->name, "event");
        ASSERT_NE(xml->Child("type"), nullptr) << r.body;
        EXPECT_EQ(xml->Child("type")->text, "review_request_published");
        ASSERT_NE(xml->Child("id"), nullptr) << r.body;
        EXPECT_EQ(xml->Child("id")->text, published.event_id());
        ASSERT_NE(xml->Child("timestamp"), nullptr) << r.body;
        EXPECT_EQ(xml->Child("timestamp")->text, OccurredAtText());
        const XmlElement* data = xml->Child("data");
        ASSERT_NE(data, nullptr) << r.body;
        ASSERT_NE(data->Child("is_new"), nullptr) << r.body;
        EXPECT_EQ(data->Child("is_new")->text, "true");
        const XmlElement* rr = data->Child("review_request");
        ASSERT_NE(rr, nullptr) << r.body;
        ASSERT_NE(rr->Child("summary"), nullptr) << r.body;
        EXPECT_EQ(rr->Child("summary")->text, summary);
        ASSERT_NE(rr->Child("id"), nullptr) << r.body;
        EXPECT_EQ(rr->Child("id")->text, "42");
        ASSERT_NE(rr->Child("submitter"), nullptr) << r.body;
        ASSERT_NE(rr->Child("submitter")->Child("username"), nullptr) << r.body;
        EXPECT_EQ(rr->Child("submitter")->Child("username")->text, "ana");
        const XmlElement* people = rr->Child("target_people");
        ASSERT_NE(people, nullptr) << r.body;
        ASSERT_THAT(people->children, SizeIs(2)) << r.body;
        EXPECT_EQ(people->children[0].text, "grace");
        EXPECT_EQ(people->children[1].text, "linus");
        break;
      }
      case v1::PAYLOAD_FORMAT_FORM: {
        EXPECT_EQ(r.headers.at("content-type"), "application/x-www-form-urlencoded");
        absl::StatusOr<std::map<std::string, std::string>> form = ParseForm(r.body);
        ASSERT_OK(form.status()) << r.body;
        ASSERT_EQ(form->size(), 1u) << r.body;
        ASSERT_TRUE(form->contains("payload")) << r.body;
        json envelope = ParseJson(form->at("payload"));
        EXPECT_EQ(envelope["type"], "review_request_published");
        EXPECT_EQ(envelope["id"], published.event_id());
        EXPECT_EQ(envelope["data"], payload_json);
        break;
      }
      default:
        FAIL();
    }
  }
  for (const std::string& id : published.delivery_ids()) {
    EXPECT_EQ(WaitForEnd(id).status(), v1::DELIVERY_STATUS_SUCCEEDED);
  }
}

// (e) Smartlook: issue.created as {"type","timestamp","project","organization","data"},
// built by a template, signed in Smartlook-Signature-256 with a server-generated secret.
TEST_F(CompatE2eTest, SmartlookIssueCreatedTemplateSignedWithSignature256) {
  v1::Webhook hook;
  hook.set_url(receiver_->Url("/smartlook"));
  hook.add_event_types("issue.created");
  hook.set_payload_format(v1::PAYLOAD_FORMAT_TEMPLATE);
  hook.set_payload_template(
      R"({"type": {{event.type}}, "timestamp": {{event.timestamp}}, )"
      R"("project": {{data.project}}, "organization": {{data.organization}}, )"
      R"("data": {{data.issue}}})");
  hook.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
  hook.mutable_signing()->set_header("Smartlook-Signature-256");
  v1::Webhook created;
  grpc::Status st = Create(hook, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const std::string secret = created.signing().secret();  // shown only now
  ASSERT_FALSE(secret.empty());

  const json payload = {{"project", {{"id", "prj_51"}, {"name", "Web \"shop\""}}},
                        {"organization", {{"id", "org_9"}, {"name", "Acme & Co"}}},
                        {"issue",
                         {{"id", "iss_77"},
                          {"title", "Checkout <Pay> button does nothing"},
                          {"sessions", 3},
                          {"tags", {"rage-click", "checkout"}}}}};
  v1::PublishEventResponse published;
  st = Publish("issue.created", payload.dump(), &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(published.delivery_ids_size(), 1);

  std::vector<ReceivedRequest> at = RequestsAt("/smartlook");
  ASSERT_THAT(at, SizeIs(1));
  const ReceivedRequest& r = at[0];
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  ASSERT_TRUE(r.headers.contains("smartlook-signature-256"));
  // The secret's own bytes ("whsec_" included) key the HMAC, as configured.
  EXPECT_EQ(r.headers.at("smartlook-signature-256"), HmacSha256Hex(secret, r.body));
  EXPECT_FALSE(r.headers.contains("webhook-signature"));
  json body = ParseJson(r.body);
  EXPECT_EQ(Keys(body),
            (std::vector<std::string>{"data", "organization", "project", "timestamp", "type"}));
  EXPECT_EQ(body["type"], "issue.created");
  EXPECT_EQ(body["timestamp"], OccurredAtText());
  EXPECT_EQ(body["project"], payload["project"]);
  EXPECT_EQ(body["organization"], payload["organization"]);
  EXPECT_EQ(body["data"], payload["issue"]);
  EXPECT_EQ(WaitForEnd(published.delivery_ids(0)).status(), v1::DELIVERY_STATUS_SUCCEEDED);
}

// (f) Miniback: feedback.created as {"event","timestamp","data"} with its User-Agent,
// X-Miniback-Signature and X-Miniback-Timestamp (ISO 8601), retried after 1 s and 5 s.
TEST_F(CompatE2eTest, MinibackFeedbackHeadersAndOneFiveFifteenSecondRetries) {
  auto answered = std::make_shared<std::atomic<int>>(0);
  receiver_->SetHandler([answered](const ReceivedRequest& r) {
    if (r.path != "/miniback") return Reply{.status = 404};
    return Reply{.status = ++*answered <= 2 ? 500 : 200};
  });

  v1::Webhook hook;
  hook.set_url(receiver_->Url("/miniback"));
  hook.add_event_types("feedback.created");
  hook.set_payload_format(v1::PAYLOAD_FORMAT_TEMPLATE);
  hook.set_payload_template(
      R"({"event": {{event.type}}, "timestamp": {{event.timestamp}}, "data": {{data}}})");
  hook.set_user_agent("Miniback-Webhook/1.0");
  hook.set_timeout_ms(5000);
  hook.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
  hook.mutable_signing()->set_header("X-Miniback-Signature");
  hook.mutable_signing()->set_timestamp_header("X-Miniback-Timestamp");
  hook.mutable_signing()->set_timestamp_format(v1::Signing::TIMESTAMP_FORMAT_ISO8601);
  hook.mutable_signing()->set_secret(kMinibackSecret);
  hook.mutable_retry_policy()->add_delays_ms(1000);
  hook.mutable_retry_policy()->add_delays_ms(5000);
  hook.mutable_retry_policy()->add_delays_ms(15000);
  hook.mutable_retry_policy()->set_jitter_percent(0);
  v1::Webhook created;
  grpc::Status st = Create(hook, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();

  const json payload = {{"feedback",
                         {{"id", "fb_1"},
                          {"rating", 2},
                          {"message", "Search is \"slow\"\non mobile"},
                          {"page", "https://shop.example/search?q=a&b"}}}};
  v1::PublishEventResponse published;
  st = Publish("feedback.created", payload.dump(), &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(published.delivery_ids_size(), 1);

  const v1::Delivery d = WaitForEnd(published.delivery_ids(0), absl::Seconds(30));
  ASSERT_EQ(d.status(), v1::DELIVERY_STATUS_SUCCEEDED) << d.DebugString();
  ASSERT_EQ(d.attempts_size(), 3) << d.DebugString();
  EXPECT_EQ(d.attempts(0).http_status(), 500);
  EXPECT_EQ(d.attempts(0).error_class(), v1::ERROR_CLASS_HTTP_5XX);
  EXPECT_EQ(d.attempts(1).http_status(), 500);
  EXPECT_EQ(d.attempts(2).http_status(), 200);
  auto start = [&](int i) {
    return absl::FromUnixSeconds(d.attempts(i).start_time().seconds()) +
           absl::Nanoseconds(d.attempts(i).start_time().nanos());
  };
  const absl::Duration first_retry = start(1) - start(0);
  const absl::Duration second_retry = start(2) - start(1);
  EXPECT_GE(first_retry, absl::Milliseconds(500)) << first_retry;
  EXPECT_LE(first_retry, absl::Milliseconds(1500)) << first_retry;
  EXPECT_GE(second_retry, absl::Milliseconds(4500)) << second_retry;
  EXPECT_LE(second_retry, absl::Milliseconds(5500)) << second_retry;

  std::vector<ReceivedRequest> at = RequestsAt("/miniback", 3);
  ASSERT_THAT(at, SizeIs(3));
  absl::Time previous = absl::InfinitePast();
  for (const ReceivedRequest& r : at) {
    EXPECT_EQ(r.headers.at("user-agent"), "Miniback-Webhook/1.0");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    ASSERT_TRUE(r.headers.contains("x-miniback-signature"));
    EXPECT_EQ(r.headers.at("x-miniback-signature"), HmacSha256Hex(kMinibackSecret, r.body));
    ASSERT_TRUE(r.headers.contains("x-miniback-timestamp"));
    absl::Time sent;
    std::string error;
    ASSERT_TRUE(
        absl::ParseTime(absl::RFC3339_full, r.headers.at("x-miniback-timestamp"), &sent, &error))
        << r.headers.at("x-miniback-timestamp") << ": " << error;
    EXPECT_LT(absl::AbsDuration(r.received_at - sent), absl::Seconds(2));
    EXPECT_GT(sent, previous);  // the attempt's time, not the event's
    previous = sent;
    EXPECT_FALSE(r.headers.contains("webhook-signature"));
    EXPECT_EQ(r.body, at[0].body);  // the same body on every retry
  }
  json body = ParseJson(at[0].body);
  EXPECT_EQ(Keys(body), (std::vector<std::string>{"data", "event", "timestamp"}));
  EXPECT_EQ(body["event"], "feedback.created");
  EXPECT_EQ(body["timestamp"], OccurredAtText());
  EXPECT_EQ(body["data"], payload);
}

// (g) GitHub's X-Hub-Signature-256: sha256=<hex> and Stripe's t=<ts>,v1=<hex of "ts.body">.
TEST_F(CompatE2eTest, GithubHubSignature256AndStripeSignature) {
  v1::Webhook github;
  github.set_url(receiver_->Url("/github"));
  github.add_event_types("push");
  github.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
  github.mutable_signing()->set_header("X-Hub-Signature-256");
  github.mutable_signing()->set_prefix("sha256=");
  v1::Webhook github_created;
  grpc::Status st = Create(github, &github_created);
  ASSERT_TRUE(st.ok()) << st.error_message();

  v1::Webhook stripe;
  stripe.set_url(receiver_->Url("/stripe"));
  stripe.add_event_types("push");
  stripe.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_STRIPE);
  v1::Webhook stripe_created;
  st = Create(stripe, &stripe_created);
  ASSERT_TRUE(st.ok()) << st.error_message();

  v1::PublishEventResponse published;
  st = Publish("push", R"({"ref":"refs/heads/main","after":"9f1c"})", &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(published.delivery_ids_size(), 2);

  std::vector<ReceivedRequest> at = RequestsAt("/github");
  ASSERT_THAT(at, SizeIs(1));
  ASSERT_TRUE(at[0].headers.contains("x-hub-signature-256"));
  EXPECT_EQ(at[0].headers.at("x-hub-signature-256"),
            "sha256=" + HmacSha256Hex(github_created.signing().secret(), at[0].body));
  EXPECT_EQ(ParseJson(at[0].body)["data"]["ref"], "refs/heads/main");

  at = RequestsAt("/stripe");
  ASSERT_THAT(at, SizeIs(1));
  ASSERT_TRUE(at[0].headers.contains("stripe-signature"));
  absl::StatusOr<StripeSignature> sig = ParseStripeSignature(at[0].headers.at("stripe-signature"));
  ASSERT_OK(sig.status()) << at[0].headers.at("stripe-signature");
  EXPECT_LE(std::abs(sig->timestamp - absl::ToUnixSeconds(absl::Now())), 300);  // tolerance
  EXPECT_THAT(sig->v1, Contains(HmacSha256Hex(stripe_created.signing().secret(),
                                              absl::StrCat(sig->timestamp, ".", at[0].body))));
  for (const std::string& id : published.delivery_ids()) {
    EXPECT_EQ(WaitForEnd(id).status(), v1::DELIVERY_STATUS_SUCCEEDED);
  }
}

// The default hook's Standard Webhooks signature verifies with the npm `standardwebhooks`
// package, with the npm `svix` package (svix-* header names, same values) and with OpenSSL;
// both packages reject a tampered body.
TEST_F(CompatE2eTest, StandardWebhooksVerifyWithStandardwebhooksAndSvixPackages) {
  v1::Webhook hook;
  hook.set_url(receiver_->Url("/standard"));
  hook.add_event_types("review.*");
  v1::Webhook created;
  grpc::Status st = Create(hook, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const std::string secret = created.signing().secret();
  ASSERT_THAT(secret, StartsWith("whsec_"));

  v1::PublishEventResponse published;
  st =
      Publish("review.created", R"({"review":{"id":42,"title":"Caf\u00e9 \"menu\""}})", &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(published.delivery_ids_size(), 1);

  std::vector<ReceivedRequest> at = RequestsAt("/standard");
  ASSERT_THAT(at, SizeIs(1));
  const ReceivedRequest& r = at[0];
  ASSERT_TRUE(r.headers.contains("webhook-id") && r.headers.contains("webhook-timestamp") &&
              r.headers.contains("webhook-signature"));
  EXPECT_EQ(r.headers.at("webhook-id"), published.delivery_ids(0));
  const std::optional<std::string> expected = StandardWebhooksSignature(
      secret, r.headers.at("webhook-id"), r.headers.at("webhook-timestamp"), r.body);
  ASSERT_TRUE(expected.has_value());
  EXPECT_TRUE(HeaderHoldsSignature(r.headers.at("webhook-signature"), *expected))
      << r.headers.at("webhook-signature") << " lacks " << *expected;

  const json standard_headers = {{"webhook-id", r.headers.at("webhook-id")},
                                 {"webhook-timestamp", r.headers.at("webhook-timestamp")},
                                 {"webhook-signature", r.headers.at("webhook-signature")}};
  const json svix_headers = {{"svix-id", r.headers.at("webhook-id")},
                             {"svix-timestamp", r.headers.at("webhook-timestamp")},
                             {"svix-signature", r.headers.at("webhook-signature")}};
  EXPECT_EQ(RunNodeVerifier("verify_standard_webhooks.js",
                            {{"secret", secret}, {"body", r.body}, {"headers", standard_headers}}),
            0);
  EXPECT_EQ(RunNodeVerifier("verify_svix.js",
                            {{"secret", secret}, {"body", r.body}, {"headers", svix_headers}}),
            0);
  // The verifiers can fail: one changed byte of the body is rejected by both.
  std::string tampered = r.body;
  tampered[tampered.find("42")] = '7';
  EXPECT_EQ(
      RunNodeVerifier("verify_standard_webhooks.js",
                      {{"secret", secret}, {"body", tampered}, {"headers", standard_headers}}),
      1);
  EXPECT_EQ(RunNodeVerifier("verify_svix.js",
                            {{"secret", secret}, {"body", tampered}, {"headers", svix_headers}}),
            1);
  EXPECT_EQ(WaitForEnd(published.delivery_ids(0)).status(), v1::DELIVERY_STATUS_SUCCEEDED);
}

// The receiver-side checks themselves: the published Standard Webhooks vector, and the XML
// and form readers refuse what a conforming receiver refuses.
TEST(CompatVerifiersTest, AgreeWithPublishedVectorsAndRejectMalformedBodies) {
  EXPECT_EQ(StandardWebhooksSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                      "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                                      R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_TRUE(HeaderHoldsSignature("v1,a v1,b", "v1,b"));
  EXPECT_FALSE(HeaderHoldsSignature("v1,ab", "v1,a"));

  ASSERT_OK_AND_ASSIGN(XmlElement xml, ParseXml(R"(<?xml version="1.0"?><a k="&quot;">)"
                                                R"(<b>x &amp; &#233;</b><c/></a>)"));
  EXPECT_EQ(xml.attributes["k"], "\"");
  ASSERT_NE(xml.Child("b"), nullptr);
  EXPECT_EQ(xml.Child("b")->text, "x & \xC3\xA9");
  for (const char* bad : {"<a><b></a>", "<a>x & y</a>", "<a>1 < 2</a>", "<a k=v/>", "<a/><b/>",
                          "<a k='1' k='2'/>", "<a>&nbsp;</a>", "<a>"}) {
    EXPECT_FALSE(ParseXml(bad).ok()) << bad;
  }

  ASSERT_OK_AND_ASSIGN(auto form, ParseForm("payload=%7B%22a%22%3A%22b+c%26%22%7D"));
  EXPECT_EQ(form["payload"], R"({"a":"b c&"})");
  for (const char* bad : {"payload={\"a\":1}", "payload=%7", "payload=%zz", "a=1&a=2"}) {
    EXPECT_FALSE(ParseForm(bad).ok()) << bad;
  }
  ASSERT_OK_AND_ASSIGN(StripeSignature stripe,
                       ParseStripeSignature(absl::StrCat("t=12,v1=", std::string(64, 'a'))));
  EXPECT_EQ(stripe.timestamp, 12);
  EXPECT_FALSE(ParseStripeSignature("v1=abc").ok());
}

}  // namespace
}  // namespace hookrelay::testing
