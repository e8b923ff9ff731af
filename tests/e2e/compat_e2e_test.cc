// Compatibility end to end (the seed products' own configurations are in recipes_e2e_test):
// webhook shapes and behaviours hookrelay promises, configured through the registry API alone
// (format, template, headers, user agent, signing, rotation, retry policy), delivered by the real
// worker to a real HTTP receiver that checks the body shape, the exact header names and the
// signature the way each receiver's documentation says, computed independently (OpenSSL HMAC, the
// npm `standardwebhooks` and `svix` packages).
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
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

// Miniback: retried after 1 s and 5 s (its 1 s / 5 s / 15 s schedule), the same body and
// X-Miniback-Timestamp (the event's time, ISO 8601) on every attempt. The recipe in
// deploy/docs/recipes.md checks the rest of Miniback's request.
TEST_F(CompatE2eTest, MinibackRetriesAfterOneAndFiveSecondsWithTheEventsTimestamp) {
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
  hook.mutable_signing()->set_timestamp_source(v1::Signing::TIMESTAMP_SOURCE_EVENT);
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
  for (const ReceivedRequest& r : at) {
    EXPECT_EQ(r.headers.at("user-agent"), "Miniback-Webhook/1.0");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    ASSERT_TRUE(r.headers.contains("x-miniback-signature"));
    EXPECT_EQ(r.headers.at("x-miniback-signature"), HmacSha256Hex(kMinibackSecret, r.body));
    // "the ISO 8601 timestamp of the event": the event's, not the attempt's, every time.
    ASSERT_TRUE(r.headers.contains("x-miniback-timestamp"));
    EXPECT_EQ(r.headers.at("x-miniback-timestamp"), OccurredAtText());
    EXPECT_FALSE(r.headers.contains("webhook-signature"));
    EXPECT_EQ(r.body, at[0].body);  // the same body on every retry
  }
  json body = ParseJson(at[0].body);
  EXPECT_EQ(Keys(body), (std::vector<std::string>{"data", "event", "timestamp"}));
  EXPECT_EQ(body["event"], "feedback.created");
  EXPECT_EQ(body["timestamp"], OccurredAtText());
  EXPECT_EQ(body["data"], payload);
}

// A hook of a hex scheme whose secret is rotated from `old_secret` to `new_secret`.
struct HexRotation {
  const char* path;
  v1::SigningScheme scheme;
  const char* header;
  const char* prefix;
  const char* old_secret;
  const char* new_secret;

  // The header value a receiver holding `secret` computes for `body`.
  std::string Signature(const std::string& secret, const std::string& body) const {
    return absl::StrCat(prefix, scheme == v1::SIGNING_SCHEME_HMAC_SHA1_HEX
                                    ? HmacSha1Hex(secret, body)
                                    : HmacSha256Hex(secret, body));
  }
};

// Rotation for the hex schemes: until the grace period ends the signature header carries the
// new secret and "<header>-Previous" the old one, each checked here with OpenSSL's HMAC the
// way MockReview and Review Board receivers compute it; afterwards only the new one signs.
class HexRotationE2eTest : public CompatE2eTest {
 protected:
  // Creates the hook with the old secret and rotates it with a 1 s grace period; returns
  // when the grace period ends.
  absl::Time CreateAndRotate(const HexRotation& c) {
    v1::Webhook hook;
    hook.set_url(receiver_->Url(c.path));
    hook.add_event_types("review.published");
    hook.set_payload_format(v1::PAYLOAD_FORMAT_JSON);
    hook.mutable_signing()->set_scheme(c.scheme);
    hook.mutable_signing()->set_header(c.header);
    hook.mutable_signing()->set_prefix(c.prefix);
    hook.mutable_signing()->set_secret(c.old_secret);
    v1::Webhook created;
    grpc::Status st = Create(hook, &created);
    EXPECT_TRUE(st.ok()) << st.error_message();
    v1::RotateWebhookSecretRequest rotate;
    rotate.set_tenant(kTenant);
    rotate.set_id(created.id());
    rotate.set_grace_period_seconds(1);
    rotate.set_new_secret(c.new_secret);
    v1::Webhook rotated;
    st = stack_->stub().RotateWebhookSecret(stack_->Context().get(), rotate, &rotated);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(rotated.signing().previous_secrets_size(), 1);
    if (rotated.signing().previous_secrets_size() != 1) return absl::InfinitePast();
    const auto& expires = rotated.signing().previous_secrets(0).expires_at();
    return absl::FromUnixSeconds(expires.seconds()) + absl::Nanoseconds(expires.nanos());
  }

  static constexpr HexRotation kCases[] = {
      {"/mockreview", v1::SIGNING_SCHEME_HMAC_SHA256_HEX, "X-MockReview-Signature", "",
       kMockReviewSecret, "mockreview-rotated-secret-43"},
      {"/reviewboard", v1::SIGNING_SCHEME_HMAC_SHA1_HEX, "X-Hub-Signature",
       "sha1=", kReviewBoardSecret, "reviewboard rotated secret 4567"}};
};

TEST_F(HexRotationE2eTest, PreviousSecretSignsInASecondHeaderUntilTheGracePeriodEnds) {
  absl::Time grace_ends = absl::InfinitePast();
  for (const HexRotation& c : kCases) grace_ends = std::max(grace_ends, CreateAndRotate(c));
  v1::PublishEventResponse published;
  grpc::Status st = Publish("review.published", R"({"review":{"id":42}})", &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  for (const HexRotation& c : kCases) {
    SCOPED_TRACE(c.path);
    std::vector<ReceivedRequest> at = RequestsAt(c.path);
    ASSERT_THAT(at, SizeIs(1));
    const std::string header = absl::AsciiStrToLower(c.header);
    ASSERT_TRUE(at[0].headers.contains(header) && at[0].headers.contains(header + "-previous"));
    EXPECT_EQ(at[0].headers.at(header), c.Signature(c.new_secret, at[0].body));
    EXPECT_EQ(at[0].headers.at(header + "-previous"), c.Signature(c.old_secret, at[0].body));
  }
  ASSERT_TRUE(WaitFor([&] { return absl::Now() > grace_ends; }, absl::Seconds(5)));
  st = Publish("review.published", R"({"review":{"id":43}})", &published);
  ASSERT_TRUE(st.ok()) << st.error_message();
  for (const HexRotation& c : kCases) {
    SCOPED_TRACE(c.path);
    std::vector<ReceivedRequest> at = RequestsAt(c.path, 2);
    ASSERT_THAT(at, SizeIs(2));
    const std::string header = absl::AsciiStrToLower(c.header);
    EXPECT_EQ(at[1].headers.at(header), c.Signature(c.new_secret, at[1].body));
    EXPECT_FALSE(at[1].headers.contains(header + "-previous"));
  }
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
