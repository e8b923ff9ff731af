// Bad input over the real gRPC API: every case is refused with INVALID_ARGUMENT whose message
// starts with the path of the field at fault, and nothing at all reaches Redis.

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::registry {
namespace {

using ::hookrelay::testing::IsOk;
using ::hookrelay::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

struct HookCase {
  std::string name;
  std::function<void(v1::Webhook&)> mutate;
  std::string field;        // the message starts with this path
  std::string detail = "";  // and contains this, if set
};

struct PublishCase {
  std::string name;
  std::function<void(v1::PublishEventRequest&)> mutate;
  std::string field;
  std::string detail = "";
};

void SetHeader(v1::Webhook& h, const std::string& name, const std::string& value) {
  (*h.mutable_headers())[name] = value;
}

std::vector<HookCase> BadHooks() {
  return {
      {"empty tenant", [](v1::Webhook& h) { h.set_tenant(""); }, "webhook.tenant"},
      {"tenant with space", [](v1::Webhook& h) { h.set_tenant("acme corp"); }, "webhook.tenant"},
      {"tenant with hash-tag brace", [](v1::Webhook& h) { h.set_tenant("acme}x"); },
       "webhook.tenant"},
      {"tenant with colon", [](v1::Webhook& h) { h.set_tenant("a:b"); }, "webhook.tenant"},
      {"tenant too long", [](v1::Webhook& h) { h.set_tenant(std::string(65, 't')); },
       "webhook.tenant"},
      {"empty url", [](v1::Webhook& h) { h.set_url(""); }, "webhook.url"},
      {"plain http url", [](v1::Webhook& h) { h.set_url("http://example.com/h"); }, "webhook.url",
       "https"},
      {"ftp url", [](v1::Webhook& h) { h.set_url("ftp://example.com/h"); }, "webhook.url"},
      {"relative url", [](v1::Webhook& h) { h.set_url("example.com/hook"); }, "webhook.url"},
      {"url with credentials", [](v1::Webhook& h) { h.set_url("https://u:p@example.com/h"); },
       "webhook.url", "credentials"},
      {"url with user only", [](v1::Webhook& h) { h.set_url("https://user@example.com/h"); },
       "webhook.url", "credentials"},
      {"url over 2048",
       [](v1::Webhook& h) { h.set_url("https://example.com/" + std::string(2030, 'a')); },
       "webhook.url", "2048"},
      {"template in host", [](v1::Webhook& h) { h.set_url("https://{{data.host}}/h"); },
       "webhook.url", "host"},
      {"unclosed template", [](v1::Webhook& h) { h.set_url("https://example.com/{{data.x"); },
       "webhook.url"},
      {"url with space", [](v1::Webhook& h) { h.set_url("https://example.com/a b"); },
       "webhook.url"},
      {"url with fragment", [](v1::Webhook& h) { h.set_url("https://example.com/h#frag"); },
       "webhook.url"},
      {"no event types", [](v1::Webhook& h) { h.clear_event_types(); }, "webhook.event_types"},
      {"too many event types",
       [](v1::Webhook& h) {
         for (int i = 0; i < 65; ++i) h.add_event_types(absl::StrCat("t", i));
       },
       "webhook.event_types"},
      {"event type with space", [](v1::Webhook& h) { h.add_event_types("review created"); },
       "webhook.event_types[1]"},
      {"event type with empty segment", [](v1::Webhook& h) { h.set_event_types(0, "review..x"); },
       "webhook.event_types[0]"},
      {"event type glob without dot", [](v1::Webhook& h) { h.set_event_types(0, "review*"); },
       "webhook.event_types[0]"},
      {"empty event type", [](v1::Webhook& h) { h.set_event_types(0, ""); },
       "webhook.event_types[0]"},
      {"reserved header webhook-id", [](v1::Webhook& h) { SetHeader(h, "webhook-id", "x"); },
       "webhook.headers", "reserved"},
      {"reserved header Content-Type",
       [](v1::Webhook& h) { SetHeader(h, "Content-Type", "text/plain"); }, "webhook.headers",
       "reserved"},
      {"reserved header Host", [](v1::Webhook& h) { SetHeader(h, "Host", "evil.example"); },
       "webhook.headers", "reserved"},
      {"header value with CRLF",
       [](v1::Webhook& h) { SetHeader(h, "X-Note", "a\r\nX-Injected: 1"); }, "webhook.headers",
       "CR"},
      {"header value with LF", [](v1::Webhook& h) { SetHeader(h, "X-Note", "a\nb"); },
       "webhook.headers"},
      {"header name not a token", [](v1::Webhook& h) { SetHeader(h, "X Bad", "v"); },
       "webhook.headers"},
      {"too many headers",
       [](v1::Webhook& h) {
         for (int i = 0; i < 33; ++i) SetHeader(h, absl::StrCat("X-H", i), "v");
       },
       "webhook.headers"},
      {"timeout 40000", [](v1::Webhook& h) { h.set_timeout_ms(40000); }, "webhook.timeout_ms"},
      {"negative timeout", [](v1::Webhook& h) { h.set_timeout_ms(-1); }, "webhook.timeout_ms"},
      {"negative retry delay", [](v1::Webhook& h) { h.mutable_retry_policy()->add_delays_ms(-5); },
       "webhook.retry_policy.delays_ms[0]"},
      {"retry delay over 7 days",
       [](v1::Webhook& h) {
         h.mutable_retry_policy()->add_delays_ms(1000);
         h.mutable_retry_policy()->add_delays_ms(8LL * 24 * 3600 * 1000);
       },
       "webhook.retry_policy.delays_ms[1]"},
      {"too many retry steps",
       [](v1::Webhook& h) {
         for (int i = 0; i < 21; ++i) h.mutable_retry_policy()->add_delays_ms(1000);
       },
       "webhook.retry_policy.delays_ms"},
      {"jitter over 50", [](v1::Webhook& h) { h.mutable_retry_policy()->set_jitter_percent(80); },
       "webhook.retry_policy.jitter_percent"},
      {"unknown payload format",
       [](v1::Webhook& h) { h.set_payload_format(static_cast<v1::PayloadFormat>(99)); },
       "webhook.payload_format"},
      {"unknown signing scheme",
       [](v1::Webhook& h) { h.mutable_signing()->set_scheme(static_cast<v1::SigningScheme>(42)); },
       "webhook.signing.scheme"},
      {"secret not base64",
       [](v1::Webhook& h) { h.mutable_signing()->set_secret("whsec_!!not-base64!!"); },
       "webhook.signing.secret"},
      {"id set by caller", [](v1::Webhook& h) { h.set_id("wh_01HZZZZZZZZZZZZZZZZZZZZZZZ"); },
       "webhook.id"},
      {"filter without key", [](v1::Webhook& h) { h.add_filters()->add_any_of("core"); },
       "webhook.filters[0].key"},
      {"filter absent and any_of",
       [](v1::Webhook& h) {
         v1::AttributeFilter* f = h.add_filters();
         f->set_key("repo");
         f->set_absent(true);
         f->add_any_of("core");
       },
       "webhook.filters[0]"},
      {"description too long", [](v1::Webhook& h) { h.set_description(std::string(1025, 'd')); },
       "webhook.description"},
      {"too many metadata entries",
       [](v1::Webhook& h) {
         for (int i = 0; i < 33; ++i) (*h.mutable_metadata())[absl::StrCat("k", i)] = "v";
       },
       "webhook.metadata"},
      {"template that does not parse",
       [](v1::Webhook& h) {
         h.set_payload_format(v1::PAYLOAD_FORMAT_TEMPLATE);
         h.set_payload_template(R"({"title": {{#data.items}}x})");
       },
       "webhook.payload_template", "unclosed"},
      {"template format without a template",
       [](v1::Webhook& h) { h.set_payload_format(v1::PAYLOAD_FORMAT_TEMPLATE); },
       "webhook.payload_template"},
      {"payload template too large",
       [](v1::Webhook& h) { h.set_payload_template(std::string(64 * 1024 + 1, 'x')); },
       "webhook.payload_template"},
  };
}

std::vector<PublishCase> BadPublishes() {
  const std::string big_payload = "\"" + std::string(256 * 1024, 'a') + "\"";
  return {
      {"empty tenant", [](v1::PublishEventRequest& r) { r.set_tenant(""); }, "tenant"},
      {"bad tenant chars", [](v1::PublishEventRequest& r) { r.set_tenant("acme/prod"); }, "tenant"},
      {"empty type", [](v1::PublishEventRequest& r) { r.set_type(""); }, "type"},
      {"type with space", [](v1::PublishEventRequest& r) { r.set_type("review created"); }, "type"},
      {"type with leading dot", [](v1::PublishEventRequest& r) { r.set_type(".review"); }, "type"},
      {"type with trailing dot", [](v1::PublishEventRequest& r) { r.set_type("review."); }, "type"},
      {"type is a pattern", [](v1::PublishEventRequest& r) { r.set_type("review.*"); }, "type"},
      {"type too long", [](v1::PublishEventRequest& r) { r.set_type(std::string(129, 't')); },
       "type"},
      {"empty payload", [](v1::PublishEventRequest& r) { r.set_payload(""); }, "payload"},
      {"payload not JSON", [](v1::PublishEventRequest& r) { r.set_payload("{not json"); },
       "payload", "JSON"},
      {"payload nested too deep",
       [](v1::PublishEventRequest& r) {
         r.set_payload(std::string(65, '[') + std::string(65, ']'));
       },
       "payload", "nested deeper than 64"},
      {"payload bare word", [](v1::PublishEventRequest& r) { r.set_payload("hello"); }, "payload"},
      {"payload trailing garbage", [](v1::PublishEventRequest& r) { r.set_payload("{} {}"); },
       "payload"},
      {"payload over the limit",
       [big_payload](v1::PublishEventRequest& r) { r.set_payload(big_payload); }, "payload",
       "262144"},
      {"too many attributes",
       [](v1::PublishEventRequest& r) {
         for (int i = 0; i < 33; ++i) (*r.mutable_attributes())[absl::StrCat("a", i)] = "v";
       },
       "attributes"},
      {"attribute with empty key",
       [](v1::PublishEventRequest& r) { (*r.mutable_attributes())[""] = "v"; }, "attributes"},
      {"attribute value too long",
       [](v1::PublishEventRequest& r) {
         (*r.mutable_attributes())["repo"] = std::string(1025, 'v');
       },
       "attributes"},
      {"idempotency key too long",
       [](v1::PublishEventRequest& r) { r.set_idempotency_key(std::string(257, 'k')); },
       "idempotency_key"},
      {"idempotency key with newline",
       [](v1::PublishEventRequest& r) { r.set_idempotency_key("a\nb"); }, "idempotency_key"},
      {"occurred_at with negative nanos",
       [](v1::PublishEventRequest& r) { r.mutable_occurred_at()->set_nanos(-1); }, "occurred_at"},
      {"occurred_at before 1970",
       [](v1::PublishEventRequest& r) { r.mutable_occurred_at()->set_seconds(-5); }, "occurred_at"},
  };
}

using ValidationTest = RegistryTest;

TEST_F(ValidationTest, CreateWebhookRejectsEachBadInputNamingTheField) {
  const std::vector<HookCase> cases = BadHooks();
  ASSERT_THAT(cases, SizeIs(::testing::Ge(20)));
  for (const HookCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::Webhook hook = Hook("acme", {"review.created"});
    c.mutate(hook);
    EXPECT_THAT(CreateWebhook(hook), StatusIs(absl::StatusCode::kInvalidArgument,
                                              AllOf(StartsWith(c.field), HasSubstr(c.detail))));
  }
  // Nothing was written: no hook record, no hook set, no version.
  EXPECT_THAT(AllKeys(), IsEmpty());
}

TEST_F(ValidationTest, PublishEventRejectsEachBadInputNamingTheField) {
  // A subscriber exists, so a publish that got through would fan out.
  ASSERT_OK(CreateWebhook(Hook("acme")).status());
  const std::vector<std::string> keys_before = AllKeys();
  const std::vector<PublishCase> cases = BadPublishes();
  ASSERT_THAT(cases, SizeIs(::testing::Ge(20)));
  for (const PublishCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::PublishEventRequest req = Event("acme", "review.created");
    c.mutate(req);
    EXPECT_THAT(PublishEvent(req), StatusIs(absl::StatusCode::kInvalidArgument,
                                            AllOf(StartsWith(c.field), HasSubstr(c.detail))));
  }
  // No event, delivery, idempotency key or stream entry was written.
  EXPECT_EQ(AllKeys(), keys_before);
}

TEST_F(ValidationTest, BadInputToAnEmptyRedisLeavesItEmpty) {
  for (const HookCase& c : BadHooks()) {
    v1::Webhook hook = Hook("acme");
    c.mutate(hook);
    EXPECT_THAT(CreateWebhook(hook), StatusIs(absl::StatusCode::kInvalidArgument)) << c.name;
  }
  for (const PublishCase& c : BadPublishes()) {
    v1::PublishEventRequest req = Event("acme", "review.created");
    c.mutate(req);
    EXPECT_THAT(PublishEvent(req), StatusIs(absl::StatusCode::kInvalidArgument)) << c.name;
  }
  // At most the layout record and the shards' streams may exist; no hook or event key at all.
  for (const std::string& key : AllKeys()) {
    EXPECT_TRUE(key == keys_.Meta() || absl::EndsWith(key, "}:stream")) << key;
  }
}

TEST_F(ValidationTest, InputsAtTheLimitsAreAccepted) {
  v1::Webhook hook = Hook(std::string(64, 't'), {"review.created"});
  const std::string base = "https://example.com/";
  hook.set_url(base + std::string(2048 - base.size(), 'a'));
  hook.set_timeout_ms(30000);
  for (int i = 0; i < 31; ++i) SetHeader(hook, absl::StrCat("X-H", i), "v");
  hook.mutable_retry_policy()->set_jitter_percent(50);
  ASSERT_OK_AND_ASSIGN(v1::Webhook created, CreateWebhook(hook));
  EXPECT_EQ(created.url().size(), 2048u);

  v1::PublishEventRequest req = Event(std::string(64, 't'), "review.created");
  req.set_payload("\"" + std::string(256 * 1024 - 2, 'a') + "\"");
  for (int i = 0; i < 32; ++i) (*req.mutable_attributes())[absl::StrCat("a", i)] = "v";
  req.set_idempotency_key(std::string(256, 'k'));
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse resp, PublishEvent(req));
  EXPECT_THAT(resp.delivery_ids(), SizeIs(1));
  ASSERT_OK_AND_ASSIGN(v1::Event event, GetEvent(std::string(64, 't'), resp.event_id()));
  EXPECT_EQ(event.payload().size(), 256u * 1024);
}

TEST_F(ValidationTest, PublishEventsWithOneBadEventNamesItAndWritesNothing) {
  ASSERT_OK(CreateWebhook(Hook("acme")).status());
  const std::vector<std::string> keys_before = AllKeys();
  v1::PublishEventsRequest batch;
  for (int i = 0; i < 5; ++i) *batch.add_events() = Event("acme", "review.created");
  batch.mutable_events(3)->set_payload("{\"unterminated\": ");
  EXPECT_THAT(PublishEvents(batch),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("events[3].payload")));

  batch.mutable_events(3)->set_payload("{}");
  batch.mutable_events(1)->set_type("bad type");
  EXPECT_THAT(PublishEvents(batch),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("events[1].type")));

  batch.mutable_events(1)->set_type("ok");
  batch.mutable_events(4)->set_tenant("");
  EXPECT_THAT(PublishEvents(batch),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("events[4].tenant")));

  EXPECT_EQ(AllKeys(), keys_before);
}

TEST_F(ValidationTest, PublishEventsRefusesOversizedBatch) {
  ASSERT_OK(CreateWebhook(Hook("acme")).status());
  const std::vector<std::string> keys_before = AllKeys();
  v1::PublishEventsRequest batch;
  for (int i = 0; i < 501; ++i) *batch.add_events() = Event("acme", "review.created");
  EXPECT_THAT(PublishEvents(batch), StatusIs(absl::StatusCode::kInvalidArgument,
                                             AllOf(StartsWith("events"), HasSubstr("500"))));
  EXPECT_EQ(AllKeys(), keys_before);
}

TEST_F(ValidationTest, LookupsRejectMalformedIds) {
  EXPECT_THAT(GetWebhook("acme", "nope"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("id")));
  EXPECT_THAT(GetEvent("acme", "wh_01HZZZZZZZZZZZZZZZZZZZZZZZ"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("id")));
  EXPECT_THAT(GetDelivery("acme", "dlv_../../x"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("id")));
  EXPECT_THAT(DeleteWebhook("acme", "wh_*"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("id")));
}

}  // namespace
}  // namespace hookrelay::registry
