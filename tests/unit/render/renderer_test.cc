#include "libs/render/renderer.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/render/test_events.h"

namespace hookrelay::render {
namespace {

using ::hookrelay::testing::StatusIs;
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

TEST(RendererTest, XmlAndFormHaveTheirContentTypes) {
  ASSERT_OK_AND_ASSIGN(RenderedRequest xml,
                       Render(MakeHook(v1::PAYLOAD_FORMAT_XML), testing::ReviewRequested()));
  EXPECT_EQ(xml.content_type, "application/xml");
  EXPECT_THAT(xml.body, StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?><event>"));
  ASSERT_OK_AND_ASSIGN(RenderedRequest form,
                       Render(MakeHook(v1::PAYLOAD_FORMAT_FORM), testing::ReviewRequested()));
  EXPECT_EQ(form.content_type, "application/x-www-form-urlencoded");
  EXPECT_THAT(form.body, StartsWith("payload=%7B%22id%22%3A%22evt_01JHX5M2Q8%22"));
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
                                 MakeEvent("T", R"({"jiraIssueKey":"HR 7/../x?y#z"})")));
  EXPECT_EQ(r.url,
            "https://example.atlassian.net/rest/api/3/issue/HR%207%2F..%2Fx%3Fy%23z/comment");
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
