#include "libs/render/renderer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/render/test_events.h"

namespace hookrelay::render {
namespace {

using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::StatusIs;
using ::testing::Field;
using ::testing::HasSubstr;
using testing::MakeEvent;
using testing::MakeHook;
using ::testing::StartsWith;

constexpr char kJiraUrl[] =
    "https://example.atlassian.net/rest/api/3/issue/{{data.jiraIssueKey}}/comment";

TEST(RendererTest, EnvelopeIsTheDefaultFormat) {
  ASSERT_OK_AND_ASSIGN(RenderedRequest r, Render(MakeHook(v1::PAYLOAD_FORMAT_UNSPECIFIED),
                                                 MakeEvent("T", R"({"a":1})")));
  EXPECT_EQ(r.url, "https://hooks.example.com/in");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"id":"evt_01JHX5M2Q8","type":"T","timestamp":"2026-01-15T10:30:00.250Z",)"
                    R"("tenant":"acme","data":{"a":1}})");
}

TEST(RendererTest, JsonFormatSendsThePayloadAsPublished) {
  ASSERT_OK_AND_ASSIGN(RenderedRequest r,
                       Render(MakeHook(v1::PAYLOAD_FORMAT_JSON), MakeEvent("T", R"( {"a": 1} )")));
  EXPECT_EQ(r.body, R"( {"a": 1} )");
  EXPECT_EQ(r.content_type, "application/json");
}

TEST(RendererTest, XmlAndFormCarryThePayloadWithTheirContentTypes) {
  ASSERT_OK_AND_ASSIGN(RenderedRequest xml,
                       Render(MakeHook(v1::PAYLOAD_FORMAT_XML), testing::ReviewRequested()));
  EXPECT_EQ(xml.content_type, "application/xml");
  EXPECT_THAT(xml.body, StartsWith("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rsp>\n"
                                   " <event>REVIEW_REQUESTED</event>\n <review>\n  <id>42</id>"));
  ASSERT_OK_AND_ASSIGN(RenderedRequest form,
                       Render(MakeHook(v1::PAYLOAD_FORMAT_FORM), testing::ReviewRequested()));
  EXPECT_EQ(form.content_type, "application/x-www-form-urlencoded");
  EXPECT_THAT(form.body, StartsWith("payload=%7B%22event%22%3A%22REVIEW_REQUESTED%22%2C"));
}

TEST(RendererTest, ChatFormatsAreJson) {
  for (auto format :
       {v1::PAYLOAD_FORMAT_SLACK, v1::PAYLOAD_FORMAT_DISCORD, v1::PAYLOAD_FORMAT_JIRA}) {
    ASSERT_OK_AND_ASSIGN(RenderedRequest r, Render(MakeHook(format), testing::CommentAdded()));
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_THAT(r.body, HasSubstr("LGTM "));
  }
}

TEST(RendererTest, JsonTemplateIsSentAsJson) {
  ASSERT_OK_AND_ASSIGN(
      RenderedRequest r,
      Render(
          MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE,
                   "\n  {\"issue\":\"{{data.jiraIssueKey}}\",\"title\":\"{{data.review.title}}\","
                   "\"text\":\"{{data.review.description}}\",\"id\":{{data.review.id}}}"),
          testing::ReviewRequested()));
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            "\n  {\"issue\":\"HR-7\",\"title\":\"Add retry jitter\",\"text\":\"Adds \xC2\xB1"
            R"(20 % jitter.\nSee <DESIGN> & \"retries\".","id":42})");
}

// An XML template is sent as XML with its values escaped, not as malformed text/plain.
TEST(RendererTest, XmlTemplateIsSentAsXmlWithValuesEscaped) {
  ASSERT_OK_AND_ASSIGN(
      RenderedRequest r,
      Render(MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE,
                      "<review id=\"{{review.id}}\"><title>{{review.title}}</title>"
                      "<text>{{review.description}}</text></review>"),
             MakeEvent("T", R"({"review":{"id":"4\"2","title":"A & B","description":"x < y"}})")));
  EXPECT_EQ(r.content_type, "application/xml");
  EXPECT_EQ(r.body,
            "<review id=\"4&quot;2\"><title>A &amp; B</title><text>x &lt; y</text></review>");
}

TEST(RendererTest, TemplateStatesItsContentTypeWhichPicksTheEscaping) {
  v1::Webhook hook = MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE, "payload={{data}}&type={{event.type}}");
  hook.set_content_type("application/x-www-form-urlencoded; charset=utf-8");
  ASSERT_OK_AND_ASSIGN(RenderedRequest r, Render(hook, MakeEvent("a b", R"({"k":"v&w"})")));
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(r.body, "payload=%7B%22k%22%3A%22v%26w%22%7D&type=a+b");
  hook = MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE, "<p>{{k}}</p>");
  hook.set_content_type("text/html");
  ASSERT_OK_AND_ASSIGN(r, Render(hook, MakeEvent("T", R"({"k":"<script>"})")));
  EXPECT_EQ(r.content_type, "text/html");
  EXPECT_EQ(r.body, "<p>&lt;script&gt;</p>");
  hook = MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE, "<p>{{k}}</p>");
  hook.set_content_type("text/plain");  // stated, so not guessed from the "<"
  ASSERT_OK_AND_ASSIGN(r, Render(hook, MakeEvent("T", R"({"k":"<script>"})")));
  EXPECT_EQ(r.body, "<p><script></p>");
  hook = MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE, "{{k}}");
  hook.set_content_type("application/vnd.acme+json");
  EXPECT_THAT(Render(hook, MakeEvent("T", R"({"k":"x"})")),
              IsOkAndHolds(Field(&RenderedRequest::body, "\"x\"")));
}

TEST(RendererTest, ContentTypeIsOnlyForTemplatesAndMustBeAMediaType) {
  v1::Webhook hook = MakeHook(v1::PAYLOAD_FORMAT_JSON);
  hook.set_content_type("application/json");
  EXPECT_THAT(Renderer::Create(hook),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "webhook.content_type: only the TEMPLATE payload format takes a content "
                       "type"));
  for (const char* bad :
       {"json", "application/", "/json", "text/plain\r\nX-Evil: 1", "a b/c", "text/pl ain"}) {
    hook = MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE, "x");
    hook.set_content_type(bad);
    EXPECT_THAT(Renderer::Create(hook),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.content_type: ")))
        << bad;
  }
}

TEST(RendererTest, OtherTemplatesAreSentAsPlainTextUnescaped) {
  ASSERT_OK_AND_ASSIGN(RenderedRequest r,
                       Render(MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE,
                                       "Review \"{{data.review.title}}\" <{{event.type}}>"),
                              testing::ReviewRequested()));
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "Review \"Add retry jitter\" <REVIEW_REQUESTED>");
}

TEST(RendererTest, TemplateOverridesTheChatFormatter) {
  ASSERT_OK_AND_ASSIGN(
      RenderedRequest r,
      Render(
          MakeHook(
              v1::PAYLOAD_FORMAT_SLACK,
              R"({"text":"<{{data.review.url}}|{{data.review.title}}> by {{data.review.author.name}}"})"),
          testing::ReviewRequested()));
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            R"({"text":"<https://review.example.com/r/42|Add retry jitter> by Ada Lovelace"})");
}

// Template output keeps the receiver's limits: this Discord description (11,340 characters)
// was answered 400 before.
TEST(RendererTest, ChatTemplatesAreCutToTheServicesLimits) {
  const std::string long_text(11340, 'x');
  const v1::Event event = MakeEvent("T", absl::StrCat(R"({"text":")", long_text, R"("})"));
  ASSERT_OK_AND_ASSIGN(
      RenderedRequest r,
      Render(MakeHook(v1::PAYLOAD_FORMAT_DISCORD,
                      R"({"embeds":[{"title":"{{event.type}}","description":"{{text}}"}]})"),
             event));
  EXPECT_EQ(r.body, absl::StrCat(R"({"embeds":[{"title":"T","description":")",
                                 std::string(4095, 'x'), "\xE2\x80\xA6\"}]}"));
  ASSERT_OK_AND_ASSIGN(
      r, Render(MakeHook(v1::PAYLOAD_FORMAT_SLACK, R"({"blocks":[{"type":"section","text":)"
                                                   R"({"type":"mrkdwn","text":"{{text}}"}}]})"),
                event));
  EXPECT_EQ(r.body, absl::StrCat(R"({"blocks":[{"type":"section","text":{"type":"mrkdwn",)"
                                 R"("text":")",
                                 std::string(2999, 'x'), "\xE2\x80\xA6\"}}]}"));
  // Within the limits, the template's output is sent byte for byte.
  ASSERT_OK_AND_ASSIGN(
      r, Render(MakeHook(v1::PAYLOAD_FORMAT_SLACK, "{ \"text\" : {{event.type}} }"), event));
  EXPECT_EQ(r.body, R"({ "text" : "T" })");
}

TEST(RendererTest, JsonTemplateThatRendersInvalidJsonFails) {
  EXPECT_THAT(Render(MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE,
                              R"([{{#data.review.reviewers}}"{{.}}",{{/data.review.reviewers}}])"),
                     testing::ReviewRequested()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "webhook.payload_template: rendered body is not valid JSON"));
}

TEST(RendererTest, TemplatedUrlIsRenderedWithUrlEscaping) {
  ASSERT_OK_AND_ASSIGN(RenderedRequest r, Render(MakeHook(v1::PAYLOAD_FORMAT_JIRA, "", kJiraUrl),
                                                 testing::ReviewRequested()));
  EXPECT_EQ(r.url, "https://example.atlassian.net/rest/api/3/issue/HR-7/comment");
  ASSERT_OK_AND_ASSIGN(r, Render(MakeHook(v1::PAYLOAD_FORMAT_ENVELOPE, "", kJiraUrl),
                                 MakeEvent("T", R"({"jiraIssueKey":"HR 7/x?y#z"})")));
  EXPECT_EQ(r.url, "https://example.atlassian.net/rest/api/3/issue/HR%207%2Fx%3Fy%23z/comment");
}

// MockReview's own spelling names the data field directly.
TEST(RendererTest, UrlTemplateNamesDataFieldsDirectly) {
  const v1::Webhook hook = MakeHook(
      v1::PAYLOAD_FORMAT_JIRA, "",
      "https://example.atlassian.net/rest/api/3/issue/{{jiraIssueKey}}/comment?e={{event.type}}");
  ASSERT_OK_AND_ASSIGN(RenderedRequest r, Render(hook, testing::ReviewRequested()));
  EXPECT_EQ(r.url,
            "https://example.atlassian.net/rest/api/3/issue/HR-7/comment?e=REVIEW_REQUESTED");
}

struct UrlValueCase {
  const char* url;       // the hook's URL template
  const char* key;       // JSON value of data.jiraIssueKey
  const char* rendered;  // the URL sent, or null when the delivery must fail
};

class UrlValueTest : public ::testing::TestWithParam<UrlValueCase> {};

// A value can never change the path: the JIRA issue key ".." must not turn
// .../issue/../comment into .../comment (where the Authorization header would then go).
TEST_P(UrlValueTest, ValueCannotChangeThePath) {
  const UrlValueCase& c = GetParam();
  const absl::StatusOr<RenderedRequest> r =
      Render(MakeHook(v1::PAYLOAD_FORMAT_JIRA, "", c.url),
             MakeEvent("T", absl::StrCat(R"({"jiraIssueKey":)", c.key, "}")));
  if (c.rendered == nullptr) {
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition, StartsWith("webhook.url: ")));
  } else {
    ASSERT_OK(r.status());
    EXPECT_EQ(r->url, c.rendered);
  }
}

constexpr char kRaw[] = "https://x.example/rest/api/3/issue/{{{jiraIssueKey}}}/comment";

INSTANTIATE_TEST_SUITE_P(
    DotSegments, UrlValueTest,
    ::testing::Values(
        UrlValueCase{kJiraUrl, R"(".")", nullptr}, UrlValueCase{kJiraUrl, R"("..")", nullptr},
        UrlValueCase{kJiraUrl, R"("")", nullptr}, UrlValueCase{kJiraUrl, "null", nullptr},
        UrlValueCase{kJiraUrl, R"("../x")", nullptr},  // "..%2Fx": some servers decode %2F
        UrlValueCase{kJiraUrl, R"("..\\x")", nullptr},
        // Escaped, "%2e%2e" is the literal text "%2e%2e", not a dot segment.
        UrlValueCase{kJiraUrl, R"("%2e%2e")",
                     "https://example.atlassian.net/rest/api/3/issue/%252e%252e/comment"},
        UrlValueCase{kJiraUrl, R"("...")",
                     "https://example.atlassian.net/rest/api/3/issue/.../comment"},
        UrlValueCase{kRaw, R"("%2e%2e")", nullptr}, UrlValueCase{kRaw, R"("%2E%2e")", nullptr},
        UrlValueCase{kRaw, R"(".%2E")", nullptr}, UrlValueCase{kRaw, R"("%2e.")", nullptr},
        UrlValueCase{kRaw, R"("%2E")", nullptr}, UrlValueCase{kRaw, R"("a/../b")", nullptr},
        UrlValueCase{kRaw, R"("a/%2e%2E/b")", nullptr},
        UrlValueCase{kRaw, R"("a%2F..%2fb")", nullptr}, UrlValueCase{kRaw, R"("a%5C..")", nullptr},
        UrlValueCase{kRaw, R"("a//b")", nullptr}, UrlValueCase{kRaw, R"("")", nullptr},
        UrlValueCase{kRaw, R"("a/b")", "https://x.example/rest/api/3/issue/a/b/comment"},
        UrlValueCase{"https://x.example/i/{{jiraIssueKey}}?k={{jiraIssueKey}}", R"("..")", nullptr},
        UrlValueCase{"https://x.example/i/x?k={{{jiraIssueKey}}}", R"("..")",
                     "https://x.example/i/x?k=.."}));

TEST(RendererTest, UrlTemplateWithDotOrEmptySegmentsOfItsOwnIsRefused) {
  for (const char* url : {"https://x.example/a/../{{k}}", "https://x.example/./{{k}}",
                          "https://x.example/a//{{k}}", "https://x.example/%2e%2E/{{k}}"}) {
    EXPECT_THAT(Renderer::Create(MakeHook(v1::PAYLOAD_FORMAT_ENVELOPE, "", url)),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.url: the path")))
        << url;
  }
  EXPECT_OK(
      Renderer::Create(MakeHook(v1::PAYLOAD_FORMAT_ENVELOPE, "", "https://x.example/{{k}}/")));
}

TEST(RendererTest, MissingUrlVariableFailsNamingIt) {
  EXPECT_THAT(
      Render(MakeHook(v1::PAYLOAD_FORMAT_JIRA, "", kJiraUrl), testing::CommentAdded()),
      StatusIs(absl::StatusCode::kFailedPrecondition, "webhook.url: data.jiraIssueKey is missing"));
}

TEST(RendererTest, RawUrlVariableMayNotAddSpacesOrControls) {
  const v1::Webhook hook =
      MakeHook(v1::PAYLOAD_FORMAT_ENVELOPE, "", "https://x.example/{{{data.path}}}");
  ASSERT_OK_AND_ASSIGN(RenderedRequest r, Render(hook, MakeEvent("T", R"({"path":"a/b"})")));
  EXPECT_EQ(r.url, "https://x.example/a/b");
  EXPECT_THAT(Render(hook, MakeEvent("T", R"({"path":"a b"})")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "webhook.url: rendered URL contains spaces or control characters"));
}

TEST(RendererTest, ParsingFormatsRefuseInvalidOrTooDeepPayloads) {
  EXPECT_THAT(
      Render(MakeHook(v1::PAYLOAD_FORMAT_XML), MakeEvent("T", "{nope")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event.payload: is not valid JSON")));
  EXPECT_THAT(
      Render(MakeHook(v1::PAYLOAD_FORMAT_SLACK),
             MakeEvent("T", std::string(65, '[') + std::string(65, ']'))),
      StatusIs(absl::StatusCode::kInvalidArgument, "event.payload: nested deeper than 64 levels"));
  // The envelope never parses the payload.
  EXPECT_OK(Render(MakeHook(v1::PAYLOAD_FORMAT_ENVELOPE), MakeEvent("T", "{nope")));
}

TEST(RendererTest, CompiledRendererServesManyEvents) {
  ASSERT_OK_AND_ASSIGN(Renderer renderer,
                       Renderer::Create(MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE,
                                                 R"({"t":"{{event.type}}"})", kJiraUrl)));
  v1::Event a = MakeEvent("A", R"({"jiraIssueKey":"HR-1"})");
  v1::Event b = MakeEvent("B", R"({"jiraIssueKey":"HR-2"})");
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(RenderedRequest ra, renderer.Render(a));
    ASSERT_OK_AND_ASSIGN(RenderedRequest rb, renderer.Render(b));
    EXPECT_EQ(ra.body, R"({"t":"A"})");
    EXPECT_THAT(rb.url, HasSubstr("/issue/HR-2/"));
  }
}

TEST(RendererTest, CreateRefusesBadTemplatesNamingTheField) {
  EXPECT_THAT(Renderer::Create(MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "webhook.payload_template: required by payload format TEMPLATE"));
  EXPECT_THAT(Renderer::Create(MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE, R"({"a": [{{#items}}]})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "webhook.payload_template: unclosed section {{#items}} at offset 7"));
  EXPECT_THAT(Renderer::Create(
                  MakeHook(v1::PAYLOAD_FORMAT_JIRA, "", "https://x.example/{{data.key}/comment")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "webhook.url: unclosed tag (no \"}}\") at offset 18"));
  v1::Webhook unknown = MakeHook(v1::PAYLOAD_FORMAT_ENVELOPE);
  unknown.set_payload_format(static_cast<v1::PayloadFormat>(99));
  EXPECT_THAT(Renderer::Create(unknown), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  "webhook.payload_format: unknown format"));
}

TEST(ValidateRenderTest, AcceptsHooksThatRender) {
  EXPECT_OK(ValidateRender(MakeHook(v1::PAYLOAD_FORMAT_ENVELOPE), "webhook"));
  EXPECT_OK(ValidateRender(MakeHook(v1::PAYLOAD_FORMAT_SLACK), "webhook"));
  EXPECT_OK(ValidateRender(MakeHook(v1::PAYLOAD_FORMAT_DISCORD, R"({"content":"{{event.type}}"})"),
                           "webhook"));
  EXPECT_OK(ValidateRender(MakeHook(v1::PAYLOAD_FORMAT_JIRA, "", kJiraUrl), "webhook"));
}

TEST(ValidateRenderTest, NamesTheFieldUnderTheGivenPrefix) {
  EXPECT_THAT(ValidateRender(MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE, "{{#a}}"), "hook"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "hook.payload_template: unclosed section {{#a}} at offset 0"));
  EXPECT_THAT(ValidateRender(MakeHook(v1::PAYLOAD_FORMAT_ENVELOPE, "", "https://x/{{}}"), ""),
              StatusIs(absl::StatusCode::kInvalidArgument, "url: empty tag at offset 10"));
}

TEST(ValidateRenderTest, RefusesTemplatesFormatsDoNotUse) {
  EXPECT_THAT(ValidateRender(MakeHook(v1::PAYLOAD_FORMAT_XML, "{{x}}"), "webhook"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("webhook.payload_template: only the TEMPLATE")));
}

TEST(ValidateRenderTest, RefusesOversizedTemplates) {
  EXPECT_THAT(ValidateRender(MakeHook(v1::PAYLOAD_FORMAT_TEMPLATE, std::string(64 * 1024 + 1, 'x')),
                             "webhook"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "webhook.payload_template: larger than 65536 bytes"));
}

}  // namespace
}  // namespace hookrelay::render
