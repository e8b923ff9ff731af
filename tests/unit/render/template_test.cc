#include "libs/render/template.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/render/formats.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/render/test_events.h"

namespace hookrelay::render {
namespace {

using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::StatusIs;
using ::testing::HasSubstr;

class TemplateTest : public ::testing::Test {
 protected:
  // Renders `text` over the REVIEW_REQUESTED event, or over `payload` when given.
  static absl::StatusOr<std::string> RenderText(absl::string_view text, Escape escape,
                                                absl::string_view payload = "") {
    v1::Event event = testing::ReviewRequested();
    if (!payload.empty()) event.set_payload(std::string(payload));
    absl::StatusOr<Value> data = Value::Parse(event.payload(), kMaxPayloadDepth, "payload");
    if (!data.ok()) return data.status();
    TemplateOptions options;
    options.escape = escape;
    absl::StatusOr<Template> t = Template::Parse(text, options);
    if (!t.ok()) return t.status();
    return t->Render(EventContext(event, *std::move(data)));
  }
  static absl::StatusOr<std::string> Json(absl::string_view text, absl::string_view payload = "") {
    return RenderText(text, Escape::kJson, payload);
  }
  static absl::StatusOr<std::string> Plain(absl::string_view text, absl::string_view payload = "") {
    return RenderText(text, Escape::kNone, payload);
  }
};

TEST_F(TemplateTest, VariablesResolveDottedPathsIntoEventAndData) {
  EXPECT_THAT(Plain("{{event.type}} {{event.id}} {{event.timestamp}} {{event.tenant}} "
                    "{{event.attributes.branch}} {{data.review.title}} "
                    "{{data.review.reviewers.1}} {{ data.jiraIssueKey }}"),
              IsOkAndHolds("REVIEW_REQUESTED evt_01JHX5M2Q8 2026-01-15T10:30:00.250Z acme main "
                           "Add retry jitter linus HR-7"));
}

TEST_F(TemplateTest, JsonTemplateEscapesStringsInsideStringLiterals) {
  EXPECT_THAT(Json(R"({"t":"{{data.review.description}}"})"),
              IsOkAndHolds("{\"t\":\"Adds \xC2\xB1"
                           R"(20 % jitter.\nSee <DESIGN> & \"retries\"."})"));
}

TEST_F(TemplateTest, JsonTemplateEscapesControlAndKeepsUnicode) {
  EXPECT_THAT(Json(R"({"t":"{{data.s}}"})", R"({"s":"\u0001\t\u00e9\u2028\ud83d\ude80\\"})"),
              IsOkAndHolds("{\"t\":\"\\u0001\\t\xC3\xA9\xE2\x80\xA8\xF0\x9F\x9A\x80\\\\\"}"));
}

TEST_F(TemplateTest, JsonTemplateInsertsValuesAsJsonOutsideStringLiterals) {
  EXPECT_THAT(Json(R"({"id":{{data.review.id}},"draft":{{data.review.draft}},)"
                   R"("author":{{data.review.author}},"key":{{data.jiraIssueKey}},)"
                   R"("reviewers":{{data.review.reviewers}}})"),
              IsOkAndHolds(R"({"id":42,"draft":false,)"
                           R"("author":{"name":"Ada Lovelace","email":"ada@example.com"},)"
                           R"("key":"HR-7","reviewers":["grace","linus"]})"));
}

TEST_F(TemplateTest, JsonTemplateEscapesNonStringsInsideStringLiterals) {
  EXPECT_THAT(Json(R"({"s":"#{{data.review.id}} by {{data.review.author}}"})"),
              IsOkAndHolds(R"({"s":"#42 by {\"name\":\"Ada Lovelace\",)"
                           R"(\"email\":\"ada@example.com\"}"})"));
}

TEST_F(TemplateTest, EscapedQuotesInTemplateTextKeepTheStringState) {
  EXPECT_THAT(Json(R"({"s":"say \"{{data.jiraIssueKey}}\" now","n":{{data.review.id}}})"),
              IsOkAndHolds(R"({"s":"say \"HR-7\" now","n":42})"));
}

TEST_F(TemplateTest, NullRendersAsNullInJsonAndAsNothingElsewhere) {
  constexpr char kPayload[] = R"({"x":null})";
  EXPECT_THAT(Json(R"({"a":{{data.x}},"b":"{{data.x}}"})", kPayload),
              IsOkAndHolds(R"({"a":null,"b":""})"));
  EXPECT_THAT(Plain("[{{data.x}}]", kPayload), IsOkAndHolds("[]"));
}

TEST_F(TemplateTest, RawTagsInsertValuesUnescaped) {
  EXPECT_THAT(Json(R"("{{{data.review.description}}}|{{& data.review.description}}")"),
              IsOkAndHolds("\"Adds \xC2\xB1"
                           "20 % jitter.\nSee <DESIGN> & \"retries\".|"
                           "Adds \xC2\xB1"
                           "20 % jitter.\nSee <DESIGN> & \"retries\".\""));
  EXPECT_THAT(Json("{{{data.review.author}}}"),
              IsOkAndHolds(R"({"name":"Ada Lovelace","email":"ada@example.com"})"));
}

TEST_F(TemplateTest, UrlTemplatePercentEncodesValues) {
  EXPECT_THAT(RenderText("https://x.example/{{data.q}}/c?name={{data.name}}&n={{data.n}}",
                         Escape::kUrl, R"({"q":"HR 7/8","name":"a&b=c?\u00e9","n":3})"),
              IsOkAndHolds("https://x.example/HR%207%2F8/c?name=a%26b%3Dc%3F%C3%A9&n=3"));
}

// A URL value that renders empty would change the path (".../issue//comment").
TEST_F(TemplateTest, UrlTemplateRefusesEmptyValues) {
  for (const char* payload : {R"({"k":""})", R"({"k":null})"}) {
    EXPECT_THAT(RenderText("https://x.example/issue/{{data.k}}/c", Escape::kUrl, payload),
                StatusIs(absl::StatusCode::kFailedPrecondition, "template: data.k is empty"))
        << payload;
    EXPECT_THAT(RenderText("https://x.example/issue/{{{data.k}}}/c", Escape::kUrl, payload),
                StatusIs(absl::StatusCode::kFailedPrecondition, "template: data.k is empty"))
        << payload;
  }
  EXPECT_THAT(
      RenderText("https://x.example/{{#data.k}}{{.}}{{/data.k}}", Escape::kUrl, R"({"k":""})"),
      IsOkAndHolds("https://x.example/"));  // a section may leave a part out
}

TEST_F(TemplateTest, XmlTemplateEscapesMarkupInValues) {
  EXPECT_THAT(RenderText(R"(<c a="{{data.s}}">{{data.s}}{{{data.s}}}</c>)", Escape::kXml,
                         R"({"s":"<a href=\"x\">&'</a>"})"),
              IsOkAndHolds("<c a=\"&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;\">"
                           "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
                           "<a href=\"x\">&'</a></c>"));
  EXPECT_THAT(RenderText("<o>{{data.o}}</o>", Escape::kXml, R"({"o":{"k":"<"}})"),
              IsOkAndHolds("<o>{&quot;k&quot;:&quot;&lt;&quot;}</o>"));
}

TEST_F(TemplateTest, FormTemplateFormEncodesValues) {
  EXPECT_THAT(
      RenderText("payload={{data}}&event={{event.type}}", Escape::kForm, R"({"a":"b c&d=e"})"),
      IsOkAndHolds("payload=%7B%22a%22%3A%22b+c%26d%3De%22%7D&event=REVIEW_REQUESTED"));
}

TEST_F(TemplateTest, TruncateCutsTextToUtf16UnitsWithAnEllipsis) {
  constexpr char kPayload[] = R"({"s":"abcdef","r":"\ud83d\ude80\ud83d\ude80","n":123456})";
  EXPECT_THAT(Json(R"({"a":"{{truncate data.s 4}}","b":{{truncate data.s 6}},)"
                   R"("c":{{truncate data.n 3}},"d":"{{ truncate  data.r 3 }}"})",
                   kPayload),
              IsOkAndHolds("{\"a\":\"abc\xE2\x80\xA6\",\"b\":\"abcdef\",\"c\":\"12\xE2\x80\xA6\","
                           "\"d\":\"\xF0\x9F\x9A\x80\xE2\x80\xA6\"}"));
  EXPECT_THAT(Plain("{{{truncate data.review.description 5}}}|{{#data.review}}"
                    "{{truncate title 3}}{{/data.review}}"),
              IsOkAndHolds("Adds\xE2\x80\xA6|Ad\xE2\x80\xA6"));
  EXPECT_THAT(Json(R"({"a":"{{truncate data.nope 3}}"})"),
              StatusIs(absl::StatusCode::kFailedPrecondition, "template: data.nope is missing"));
}

// MockReview writes {{jiraIssueKey}}: the data's fields may be named directly, after
// section items and the context's own "event" and "data".
TEST_F(TemplateTest, DataFieldsMayBeNamedDirectly) {
  EXPECT_THAT(Plain("{{jiraIssueKey}} {{review.title}} {{data.jiraIssueKey}} {{event.type}} "
                    "{{data.event}}"),
              IsOkAndHolds("HR-7 Add retry jitter HR-7 REVIEW_REQUESTED REVIEW_REQUESTED"));
  // The payload's own "event" is data.event; the bare name is hookrelay's event.
  EXPECT_THAT(Plain("{{event.id}}/{{data.event}}", R"({"event":"review_request_published"})"),
              IsOkAndHolds("evt_01JHX5M2Q8/review_request_published"));
  EXPECT_THAT(Plain("{{#review.reviewers}}{{.}}:{{jiraIssueKey}} {{/review.reviewers}}"),
              IsOkAndHolds("grace:HR-7 linus:HR-7 "));
  EXPECT_THAT(Plain("{{#items}}{{id}};{{/items}}", R"({"id":"top","items":[{"id":1},{}]})"),
              IsOkAndHolds("1;top;"));
  TemplateOptions options{.escape = Escape::kNone, .implicit_scope = ""};
  ASSERT_OK_AND_ASSIGN(Template t, Template::Parse("{{jiraIssueKey}}", options));
  EXPECT_THAT(t.Render(EventContext(testing::ReviewRequested(), Value::Object())),
              StatusIs(absl::StatusCode::kFailedPrecondition, "template: jiraIssueKey is missing"));
}

TEST_F(TemplateTest, EventTimeIsAlsoUnixSecondsAndMilliseconds) {
  EXPECT_THAT(Json(R"({"ts":{{event.timestamp_unix}},"ms":{{event.timestamp_unix_ms}}})"),
              IsOkAndHolds(R"({"ts":1768473000,"ms":1768473000250})"));
}

TEST_F(TemplateTest, PlainTemplateInsertsTextAsIs) {
  EXPECT_THAT(Plain("{{data.review.title}}: {{data.review.reviewers}}"),
              IsOkAndHolds(R"(Add retry jitter: ["grace","linus"])"));
}

TEST_F(TemplateTest, SectionLoopsOverArrays) {
  EXPECT_THAT(Plain("{{#data.review.reviewers}}[{{.}}]{{/data.review.reviewers}}"),
              IsOkAndHolds("[grace][linus]"));
}

TEST_F(TemplateTest, NamesResolveInTheInnermostItemThenOutwards) {
  EXPECT_THAT(Plain("{{#data.review}}{{title}} by {{author.name}}{{/data.review}}"),
              IsOkAndHolds("Add retry jitter by Ada Lovelace"));
  EXPECT_THAT(Plain("{{#data.review}}{{#reviewers}}{{.}}@{{id}} {{/reviewers}}{{/data.review}}"),
              IsOkAndHolds("grace@42 linus@42 "));
  EXPECT_THAT(Plain("{{#data.items}}{{name}}/{{data.title}};{{/data.items}}",
                    R"({"items":[{"name":"a"},{"name":"b"}],"title":"T"})"),
              IsOkAndHolds("a/T;b/T;"));
}

TEST_F(TemplateTest, SectionsTestTruthinessOfScalarsAndObjects) {
  EXPECT_THAT(Plain("{{#data.review.draft}}draft{{/data.review.draft}}"
                    "{{^data.review.draft}}ready{{/data.review.draft}}"),
              IsOkAndHolds("ready"));
  EXPECT_THAT(Plain("{{#data.review.author}}{{name}}{{/data.review.author}}"),
              IsOkAndHolds("Ada Lovelace"));
  EXPECT_THAT(Plain("{{#data.review.status}}<{{.}}>{{/data.review.status}}"),
              IsOkAndHolds("<pending>"));
}

TEST_F(TemplateTest, MissingSectionsAreFalsy) {
  EXPECT_THAT(Plain("{{#data.nope}}x{{/data.nope}}{{^data.nope}}none{{/data.nope}}"
                    "{{^data.empty}} empty{{/data.empty}}",
                    R"({"empty":[]})"),
              IsOkAndHolds("none empty"));
}

TEST_F(TemplateTest, LoopPositionVariablesSeparateElements) {
  EXPECT_THAT(Json(R"([{{#data.review.reviewers}}{"i":{{@index}},"first":{{@first}},)"
                   R"("name":"{{.}}"}{{^@last}},{{/@last}}{{/data.review.reviewers}}])"),
              IsOkAndHolds(R"([{"i":0,"first":true,"name":"grace"},)"
                           R"({"i":1,"first":false,"name":"linus"}])"));
}

TEST_F(TemplateTest, CommentsRenderNothing) {
  EXPECT_THAT(Plain("a{{! a comment {with braces} }}b{{!}}c"), IsOkAndHolds("abc"));
}

TEST_F(TemplateTest, ParsedTemplateRendersManyContexts) {
  ASSERT_OK_AND_ASSIGN(Template t, Template::Parse("{{event.type}}", {.escape = Escape::kNone}));
  v1::Event review = testing::ReviewRequested();
  v1::Event comment = testing::CommentAdded();
  EXPECT_THAT(t.Render(EventContext(review, Value())), IsOkAndHolds("REVIEW_REQUESTED"));
  EXPECT_THAT(t.Render(EventContext(comment, Value())), IsOkAndHolds("COMMENT_ADDED"));
}

TEST_F(TemplateTest, MissingVariableFailsNamingIt) {
  EXPECT_THAT(
      Json(R"({"k":"{{data.jiraIssueKey2}}"})"),
      StatusIs(absl::StatusCode::kFailedPrecondition, "template: data.jiraIssueKey2 is missing"));
  EXPECT_THAT(Plain("{{#data.review}}{{nope}}{{/data.review}}"),
              StatusIs(absl::StatusCode::kFailedPrecondition, "template: nope is missing"));
  EXPECT_THAT(Plain("{{data.review.reviewers.5}}"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("reviewers.5 is missing")));
}

TEST_F(TemplateTest, ErrorsStartWithTheConfiguredField) {
  EXPECT_THAT(Template::Parse("{{#a}}", {.field = "webhook.payload_template"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "webhook.payload_template: unclosed section {{#a}} at offset 0"));
}

struct ParseErrorCase {
  const char* text;
  const char* message;
};

class TemplateParseErrorTest : public ::testing::TestWithParam<ParseErrorCase> {};

TEST_P(TemplateParseErrorTest, ReportsTheProblemAndItsOffset) {
  EXPECT_THAT(Template::Parse(GetParam().text),
              StatusIs(absl::StatusCode::kInvalidArgument, GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, TemplateParseErrorTest,
    ::testing::Values(
        ParseErrorCase{R"({"a": [{{#items}}{{.}}]})",
                       "template: unclosed section {{#items}} at offset 7"},
        ParseErrorCase{"{{^a}}{{#b}}{{/b}}", "template: unclosed section {{^a}} at offset 0"},
        ParseErrorCase{"{{#a}}{{/b}}",
                       "template: {{/b}} does not match section {{#a}} (opened at offset 0) "
                       "at offset 6"},
        ParseErrorCase{"x {{/a}}", "template: {{/a}} closes no open section at offset 2"},
        ParseErrorCase{"abc {{data.x", "template: unclosed tag (no \"}}\") at offset 4"},
        ParseErrorCase{"{{{data.x}}", "template: unclosed tag (no \"}}}\") at offset 0"},
        ParseErrorCase{"{{}}", "template: empty tag at offset 0"},
        ParseErrorCase{"ab{{ }}", "template: empty tag at offset 2"},
        ParseErrorCase{"{{a..b}}", "template: invalid name \"a..b\" at offset 0"},
        ParseErrorCase{"{{.a}}", "template: invalid name \".a\" at offset 0"},
        ParseErrorCase{"{{a b}}",
                       "template: unknown helper \"a\" in \"a b\" (the only helper "
                       "is truncate) at offset 0"},
        ParseErrorCase{"{{truncate x}}",
                       "template: truncate takes a name and a length of 1 to 1000000, e.g. "
                       "{{truncate data.text 200}} at offset 0"},
        ParseErrorCase{"{{truncate x 0}}",
                       "template: truncate takes a name and a length of 1 to 1000000, e.g. "
                       "{{truncate data.text 200}} at offset 0"},
        ParseErrorCase{"{{truncate x 1000001}}",
                       "template: truncate takes a name and a length of 1 to 1000000, e.g. "
                       "{{truncate data.text 200}} at offset 0"},
        ParseErrorCase{"{{truncate x 5 6}}",
                       "template: truncate takes a name and a length of 1 to 1000000, e.g. "
                       "{{truncate data.text 200}} at offset 0"},
        ParseErrorCase{"{{truncate a..b 5}}", "template: invalid name \"a..b\" at offset 0"},
        ParseErrorCase{"{{#truncate x 5}}{{/truncate x 5}}",
                       "template: truncate stands only in variable tags, not in sections at "
                       "offset 0"},
        ParseErrorCase{"{{> partial}}",
                       "template: partials ({{> name}}) are not supported at offset 0"},
        ParseErrorCase{"{{=<% %>=}}",
                       "template: delimiter changes ({{=...=}}) are not supported at offset 0"}));

std::string Nested(int depth) {
  std::string open, close;
  for (int i = 0; i < depth; ++i) {
    absl::StrAppend(&open, "{{#s", i, "}}");
    close = absl::StrCat("{{/s", i, "}}", close);
  }
  return open + close;
}

TEST_F(TemplateTest, SectionsNestSixteenDeepButNoDeeper) {
  EXPECT_OK(Template::Parse(Nested(16)));
  EXPECT_THAT(Template::Parse(Nested(17)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "template: sections nested deeper than 16 levels at offset 118"));
}

TEST_F(TemplateTest, TemplatesLargerThan64KiBAreRefused) {
  EXPECT_OK(Template::Parse(std::string(64 * 1024, 'x')));
  EXPECT_THAT(Template::Parse(std::string(64 * 1024 + 1, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument, "template: larger than 65536 bytes"));
}

// {"s":"xxx…" (1,000 bytes), "items":[0,1,…,n-1]}
std::string LoopPayload(int n) {
  std::string payload = absl::StrCat(R"({"s":")", std::string(1000, 'x'), R"(","items":[)");
  for (int i = 0; i < n; ++i) absl::StrAppend(&payload, i == 0 ? "" : ",", i);
  return payload + "]}";
}

TEST_F(TemplateTest, OutputBeyondOneMebibyteIsRefused) {
  EXPECT_OK(Plain("{{#data.items}}{{data.s}}{{/data.items}}", LoopPayload(1000)));
  EXPECT_THAT(Plain("{{#data.items}}{{data.s}}{{/data.items}}", LoopPayload(1100)),
              StatusIs(absl::StatusCode::kOutOfRange,
                       "template: rendered output larger than 1048576 bytes"));
}

TEST_F(TemplateTest, WorkIsBoundedEvenWithoutOutput) {
  // 1000^3 iterations producing nothing: stopped by the step budget.
  EXPECT_THAT(
      Plain("{{#data.items}}{{#data.items}}{{#data.items}}{{! }}"
            "{{/data.items}}{{/data.items}}{{/data.items}}",
            LoopPayload(1000)),
      StatusIs(absl::StatusCode::kOutOfRange, "template: rendering exceeded 20000000 steps"));
}

}  // namespace
}  // namespace hookrelay::render
