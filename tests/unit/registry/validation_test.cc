// Unit tests of the registry's input validation: URLs, tenants, and field paths.

#include "services/registry/validation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/registry.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::registry {
namespace {

using ::hookrelay::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ValidateUrlTest, AcceptsHttpsUrlsWithTemplatesOutsideTheHost) {
  const Limits limits;
  for (const char* url : {
           "https://example.com",
           "https://example.com/",
           "HTTPS://Example.COM/Hook",
           "https://example.com:8443/hooks/1",
           "https://[2001:db8::1]/h",
           "https://example.com/issue/{{data.jiraIssueKey}}/comment",
           "https://example.com/h?repo={{data.repo}}&x=1",
           "https://example.com?issue={{data.key}}",
       }) {
    EXPECT_OK(ValidateUrl(url, limits, "webhook.url")) << url;
  }
}

TEST(ValidateUrlTest, RejectsBadUrlsNamingTheField) {
  const Limits limits;
  for (const char* url : {
           "",
           "example.com/h",
           "http://example.com/h",
           "ftp://example.com/h",
           "https://{{data.host}}/h",
           "https://{{data.host}}",
           "https://{{data.host}}?x=1",
           "https://api.{{data.region}}.example.com/h",
           "https://example.com/{{unclosed",
           "https://user:pw@example.com/h",
           "https://:pw@example.com/h",
           "https://example.com/h#frag",
           "https://example.com/a b",
           "https://example.com/a\r\nHost: evil",
       }) {
    EXPECT_THAT(ValidateUrl(url, limits, "webhook.url"),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.url: ")))
        << url;
  }
}

TEST(ValidateUrlTest, HttpOnlyWhenAllowed) {
  Limits limits;
  EXPECT_THAT(ValidateUrl("http://127.0.0.1:8080/h", limits, "url"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("https")));
  limits.allow_http = true;
  EXPECT_OK(ValidateUrl("http://127.0.0.1:8080/h", limits, "url"));
  EXPECT_OK(ValidateUrl("https://example.com/h", limits, "url"));
  EXPECT_THAT(ValidateUrl("ftp://example.com/h", limits, "url"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ValidateUrlTest, LengthLimitIsInclusive) {
  Limits limits;
  limits.max_url_length = 40;
  const std::string base = "https://example.com/";
  EXPECT_OK(ValidateUrl(base + std::string(40 - base.size(), 'a'), limits, "url"));
  EXPECT_THAT(ValidateUrl(base + std::string(41 - base.size(), 'a'), limits, "url"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("40")));
}

TEST(ValidateTenantTest, AllowsOnlySafeCharacters) {
  EXPECT_OK(ValidateTenant("acme", "tenant"));
  EXPECT_OK(ValidateTenant("Acme-Corp_2.prod", "tenant"));
  EXPECT_OK(ValidateTenant(std::string(64, 'a'), "tenant"));
  for (const std::string& bad :
       {std::string(""), std::string(65, 'a'), std::string("a b"), std::string("{acme}"),
        std::string("a:b"), std::string("a*"), std::string("ü")}) {
    EXPECT_THAT(ValidateTenant(bad, "webhook.tenant"),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.tenant: ")))
        << bad;
  }
}

v1::Webhook ValidHook() {
  v1::Webhook hook;
  hook.set_tenant("acme");
  hook.set_url("https://example.com/h");
  hook.add_event_types("review.*");
  hook.mutable_signing()->set_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  return hook;
}

TEST(ValidateWebhookTest, AcceptsAMinimalHook) {
  EXPECT_OK(ValidateWebhook(ValidHook(), {}, "webhook"));
}

TEST(ValidateWebhookTest, NamesNestedFieldsUnderTheGivenPath) {
  v1::Webhook hook = ValidHook();
  hook.mutable_retry_policy()->add_delays_ms(-1);
  EXPECT_THAT(ValidateWebhook(hook, {}, "webhook"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("webhook.retry_policy.delays_ms[0]: ")));
  hook = ValidHook();
  hook.mutable_signing()->set_secret("whsec_c2hvcnQ=");
  EXPECT_THAT(ValidateWebhook(hook, {}, "webhook"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.signing.secret: ")));
  hook = ValidHook();
  (*hook.mutable_headers())["Webhook-Signature"] = "forged";
  EXPECT_THAT(ValidateWebhook(hook, {}, "webhook"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.headers[")));
}

TEST(ValidateWebhookTest, HeaderValuesMayNotCarryLineBreaks) {
  for (const std::string& value : {std::string("a\rb"), std::string("a\nb"),
                                   std::string("a\r\nX-Evil: 1"), std::string("a\0b", 3)}) {
    v1::Webhook hook = ValidHook();
    (*hook.mutable_headers())["X-Note"] = value;
    EXPECT_THAT(ValidateWebhook(hook, {}, "webhook"),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.headers")));
  }
  v1::Webhook hook = ValidHook();
  (*hook.mutable_headers())["Authorization"] = "Basic dXNlcjpwYXNz\twith tab";
  EXPECT_OK(ValidateWebhook(hook, {}, "webhook"));
}

TEST(ValidatePublishTest, PrefixesFieldsWithTheBatchIndex) {
  v1::PublishEventRequest req;
  req.set_tenant("acme");
  req.set_type("review.created");
  req.set_payload("[1, 2");
  EXPECT_THAT(ValidatePublish(req, {}, "events[7]"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("events[7].payload: ")));
  EXPECT_THAT(ValidatePublish(req, {}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("payload: ")));
  req.set_payload("[1, 2]");
  EXPECT_OK(ValidatePublish(req, {}, ""));
}

TEST(ValidateWebhookTest, RateLimitAndOrderingAreCheckedNamingTheField) {
  v1::Webhook hook = ValidHook();
  hook.mutable_rate_limit()->set_per_second(50);
  hook.mutable_rate_limit()->set_burst(5);
  hook.set_ordering(v1::ORDERING_PER_KEY_HOLD_ON_FAILURE);
  EXPECT_OK(ValidateWebhook(hook, {}, "webhook"));
  hook.mutable_rate_limit()->set_per_second(0);
  EXPECT_THAT(
      ValidateWebhook(hook, {}, "webhook"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.rate_limit.per_second: ")));
  hook.mutable_rate_limit()->set_per_second(10001);
  EXPECT_THAT(
      ValidateWebhook(hook, {}, "webhook"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.rate_limit.per_second: ")));
  hook.mutable_rate_limit()->set_per_second(10);
  hook.mutable_rate_limit()->set_burst(-1);
  EXPECT_THAT(
      ValidateWebhook(hook, {}, "webhook"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.rate_limit.burst: ")));
  hook = ValidHook();
  hook.set_ordering(static_cast<v1::Ordering>(7));
  EXPECT_THAT(ValidateWebhook(hook, {}, "webhook"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.ordering: ")));
}

TEST(ValidatePublishTest, OrderingKeysAreBoundedAndPrintable) {
  v1::PublishEventRequest req;
  req.set_tenant("acme");
  req.set_type("t");
  req.set_payload("{}");
  req.set_ordering_key(std::string(256, 'k'));
  EXPECT_OK(ValidatePublish(req, {}, "events[2]"));
  req.set_ordering_key(std::string(257, 'k'));
  EXPECT_THAT(ValidatePublish(req, {}, "events[2]"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("events[2].ordering_key: ")));
  req.set_ordering_key("a\nb");
  EXPECT_THAT(ValidatePublish(req, {}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("ordering_key: ")));
}

TEST(ValidatePublishTest, PayloadLimitComesFromLimits) {
  Limits limits;
  limits.max_payload_bytes = 1024;
  v1::PublishEventRequest req;
  req.set_tenant("acme");
  req.set_type("t");
  req.set_payload("\"" + std::string(1022, 'x') + "\"");
  EXPECT_OK(ValidatePublish(req, limits, ""));
  req.set_payload("\"" + std::string(1023, 'x') + "\"");
  EXPECT_THAT(ValidatePublish(req, limits, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("payload: ")));
}

TEST(MaskSecretsTest, MasksCurrentAndPreviousSecrets) {
  v1::Webhook hook = ValidHook();
  hook.mutable_signing()->add_previous_secrets()->set_secret(
      "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  const v1::Webhook masked = MaskSecrets(hook);
  EXPECT_THAT(masked.signing().secret(), StartsWith("whsec_"));
  EXPECT_THAT(masked.SerializeAsString(), ::testing::Not(HasSubstr("MfKQ9r8GKYqrTwjUPD8")));
  EXPECT_THAT(masked.SerializeAsString(), ::testing::Not(HasSubstr("AAAAAAAAAAAA")));
  EXPECT_EQ(masked.url(), hook.url());
}

TEST(RegistryOptionsTest, InlineEventBytesIsBoundedAndNamedWhenOutOfRange) {
  RegistryOptions options;
  EXPECT_EQ(options.inline_event_bytes, queue::Publisher::kDefaultInlineEventBytes);
  EXPECT_OK(options.Validate());
  options.inline_event_bytes = 0;  // never inline
  EXPECT_OK(options.Validate());
  options.inline_event_bytes = queue::Publisher::kMaxInlineEventBytes;
  EXPECT_OK(options.Validate());
  options.inline_event_bytes = queue::Publisher::kMaxInlineEventBytes + 1;
  EXPECT_THAT(options.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("inline_event_bytes: must be in [0, 65536]")));
}

}  // namespace
}  // namespace hookrelay::registry
