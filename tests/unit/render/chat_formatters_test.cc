#include "libs/render/chat_formatters.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/render/formats.h"
#include "libs/render/message.h"
#include "libs/render/text.h"
#include "nlohmann/json.hpp"
#include "tests/support/status_matchers.h"
#include "tests/unit/render/test_events.h"

namespace hookrelay::render {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::Le;
using ::testing::SizeIs;

Message MessageOf(const v1::Event& event) {
  absl::StatusOr<Value> data = Value::Parse(event.payload(), kMaxPayloadDepth, "payload");
  EXPECT_OK(data);
  return ExtractMessage(event, data.ok() ? *data : Value());
}

nlohmann::json ParseJson(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << body;
  return j;
}

size_t Units(const nlohmann::json& s) { return Utf16Length(s.get<std::string>()); }

// A message at and beyond every receiver's limits.
Message HugeMessage() {
  Message m;
  m.title = std::string(300, 'T');
  m.text = std::string(5000, 'd');
  m.author = std::string(300, 'a');
  m.footer = "REVIEW_REQUESTED";
  m.timestamp = "2026-01-15T10:30:00.250Z";
  for (int i = 0; i < 10; ++i) {
    m.fields.push_back({absl::StrCat(i, std::string(300, 'n')), std::string(4000, 'v')});
  }
  return m;
}

TEST(ExtractMessageTest, ReviewRequestedUsesWellKnownFieldsOfTheNestedObject) {
  Message m = MessageOf(testing::ReviewRequested());
  EXPECT_EQ(m.title, "Review Requested: Add retry jitter");
  EXPECT_EQ(m.url, "https://review.example.com/r/42");
  EXPECT_EQ(m.text,
            "Adds \xC2\xB1"
            "20 % jitter.\nSee <DESIGN> & \"retries\".");
  EXPECT_EQ(m.author, "Ada Lovelace");
  EXPECT_EQ(m.color, kWarningColor);  // status "pending"
  EXPECT_EQ(m.footer, "REVIEW_REQUESTED");
  EXPECT_EQ(m.unix_seconds, testing::kOccurredSeconds);
  EXPECT_THAT(
      m.fields,
      ElementsAre(Field(&Message::Field::name, "Id"), Field(&Message::Field::name, "Reviewers"),
                  Field(&Message::Field::name, "Status"), Field(&Message::Field::name, "Draft"),
                  Field(&Message::Field::name, "JiraIssueKey")));
  EXPECT_EQ(m.fields[1].value, "grace, linus");
}

// MockReview's COMMENT_ADDED, as its Discord example shows it: the type as the title, the
// comment's text and author, its link, and one line per related object.
TEST(ExtractMessageTest, NestedEventShowsTheKeyFieldOfEachObject) {
  Message m = MessageOf(testing::MakeEvent(
      "COMMENT_ADDED",
      R"({"comment":{"id":"c_9","text":"The call-to-action button needs more contrast",)"
      R"("author":{"email":"john@example.com"},"url":"https://mockreview.com/c/9"},)"
      R"("project":{"id":"p_1","name":"Mobile App Q4"},"review":{"title":"Homepage Redesign"},)"
      R"("file":{"name":"hero-section.png","size":1024},"tags":[{"name":"ui"},{"name":"a11y"}]})"));
  EXPECT_EQ(m.title, "Comment Added: Homepage Redesign");
  EXPECT_EQ(m.text, "The call-to-action button needs more contrast");
  EXPECT_EQ(m.author, "john@example.com");
  EXPECT_EQ(m.url, "https://mockreview.com/c/9");
  EXPECT_THAT(
      m.fields,
      ElementsAre(
          AllOf(Field(&Message::Field::name, "Id"), Field(&Message::Field::value, "c_9")),
          AllOf(Field(&Message::Field::name, "Project"),
                Field(&Message::Field::value, "Mobile App Q4")),
          AllOf(Field(&Message::Field::name, "File"),
                Field(&Message::Field::value, "hero-section.png")),
          AllOf(Field(&Message::Field::name, "Tags"), Field(&Message::Field::value, "ui, a11y"))));
}

TEST(ExtractMessageTest, LooksTwoLevelsDeepForWellKnownKeys) {
  Message m = MessageOf(testing::MakeEvent(
      "review_request_published",
      R"({"event":"review_request_published","review_request":{"id":1303,)"
      R"("summary":"Include mirror_path","absolute_url":"https://rb.example/r/1303/",)"
      R"("links":{"submitter":{"title":"chipx86"}}}})"));
  EXPECT_EQ(m.title, "Review Request Published: Include mirror_path");
  EXPECT_EQ(m.url, "https://rb.example/r/1303/");
  EXPECT_THAT(m.fields, ElementsAre(Field(&Message::Field::name, "Id")));  // links: no label
}

TEST(ExtractMessageTest, FallsBackToTheEventTypeAndScalarFields) {
  Message m = MessageOf(testing::MakeEvent("issue.created", R"({"count":3,"ok":true,"x":null,)"
                                                            R"("url":"javascript:void 0"})"));
  EXPECT_EQ(m.title, "Issue Created");
  EXPECT_EQ(m.url, "");  // only http(s) links
  EXPECT_EQ(m.color, kDefaultColor);
  EXPECT_THAT(m.fields,
              ElementsAre(Field(&Message::Field::value, "3"), Field(&Message::Field::value, "true"),
                          Field(&Message::Field::value, "javascript:void 0")));
  EXPECT_EQ(MessageOf(testing::MakeEvent("iOS.buildFailed", "{}")).title, "iOS buildFailed");
}

TEST(ExtractMessageTest, ColorComesFromAColorFieldOrAStatusWord) {
  EXPECT_EQ(MessageOf(testing::MakeEvent("e", R"({"color":"#00ff00","status":"failed"})")).color,
            0x00ff00u);
  EXPECT_EQ(MessageOf(testing::MakeEvent("e", R"({"colour":16711680})")).color, 0xff0000u);
  EXPECT_EQ(MessageOf(testing::MakeEvent("e", R"({"state":"Build FAILED"})")).color, kDangerColor);
  EXPECT_EQ(MessageOf(testing::MakeEvent("e", R"({"r":{"conclusion":"approved"}})")).color,
            kGoodColor);
  EXPECT_EQ(MessageOf(testing::MakeEvent("e", R"({"status":"updated"})")).color, kDefaultColor);
}

TEST(ExtractMessageTest, ListsAtMostTenFields) {
  std::string payload = "{";
  for (int i = 0; i < 30; ++i) absl::StrAppend(&payload, i ? "," : "", "\"k", i, "\":", i);
  Message m = MessageOf(testing::MakeEvent("e", payload + "}"));
  EXPECT_THAT(m.fields, SizeIs(kMaxMessageFields));
}

TEST(SlackBodyTest, ReviewRequestedIsAnAttachment) {
  EXPECT_EQ(SlackBody(MessageOf(testing::ReviewRequested())),
            R"({"attachments":[{"fallback":"Review Requested: Add retry jitter","color":"#ecb22e",)"
            R"("author_name":"Ada Lovelace","title":"Review Requested: Add retry jitter",)"
            R"("title_link":"https://review.example.com/r/42",)"
            "\"text\":\"Adds \xC2\xB1"
            R"(20 % jitter.\nSee &lt;DESIGN&gt; &amp; \"retries\".",)"
            R"("fields":[{"title":"Id","value":"42","short":true},)"
            R"({"title":"Reviewers","value":"grace, linus","short":true},)"
            R"({"title":"Status","value":"pending","short":true},)"
            R"({"title":"Draft","value":"false","short":true},)"
            R"({"title":"JiraIssueKey","value":"HR-7","short":true}],)"
            R"("footer":"REVIEW_REQUESTED","ts":1768473000}]})");
}

TEST(SlackBodyTest, CommentAddedIsTitledByItsTypeAndReview) {
  EXPECT_EQ(SlackBody(MessageOf(testing::CommentAdded())),
            R"({"attachments":[{"fallback":"Comment Added: Add retry jitter","color":"#439fe0",)"
            R"("author_name":"grace","title":"Comment Added: Add retry jitter",)"
            R"("text":"LGTM &lt;3 &amp; ship it",)"
            R"("fields":[{"title":"Id","value":"7","short":true}],)"
            R"("footer":"COMMENT_ADDED","ts":1768473000}]})");
}

TEST(SlackBodyTest, TruncatesToSlackLimits) {
  nlohmann::json a = ParseJson(SlackBody(HugeMessage()))["attachments"][0];
  EXPECT_EQ(Units(a["title"]), kSlackTitleMax);
  EXPECT_EQ(Units(a["text"]), kSlackTextMax);
  EXPECT_EQ(a["text"].get<std::string>().substr(kSlackTextMax - 1), "\xE2\x80\xA6");
  for (const auto& f : a["fields"]) {
    EXPECT_THAT(Units(f["value"]), Le(kSlackTextMax));
    EXPECT_FALSE(f["short"].get<bool>());
  }
}

TEST(SlackBodyTest, TruncationDropsAHalfCutEntity) {
  Message m;
  m.title = "t";
  m.text = std::string(2998, 'a') + "&&&";
  nlohmann::json a = ParseJson(SlackBody(m))["attachments"][0];
  EXPECT_EQ(a["text"], std::string(2998, 'a') + "\xE2\x80\xA6");
}

TEST(DiscordBodyTest, ReviewRequestedIsAnEmbed) {
  EXPECT_EQ(DiscordBody(MessageOf(testing::ReviewRequested())),
            R"({"embeds":[{"title":"Review Requested: Add retry jitter",)"
            R"("url":"https://review.example.com/r/42",)"
            "\"description\":\"Adds \xC2\xB1"
            R"(20 % jitter.\nSee <DESIGN> & \"retries\".",)"
            R"("color":15512110,"author":{"name":"Ada Lovelace"},)"
            R"("fields":[{"name":"Id","value":"42","inline":true},)"
            R"({"name":"Reviewers","value":"grace, linus","inline":true},)"
            R"({"name":"Status","value":"pending","inline":true},)"
            R"({"name":"Draft","value":"false","inline":true},)"
            R"({"name":"JiraIssueKey","value":"HR-7","inline":true}],)"
            R"("footer":{"text":"REVIEW_REQUESTED"},"timestamp":"2026-01-15T10:30:00.250Z"}]})");
}

TEST(DiscordBodyTest, CommentAddedIsAnEmbed) {
  EXPECT_EQ(DiscordBody(MessageOf(testing::CommentAdded())),
            R"({"embeds":[{"title":"Comment Added: Add retry jitter",)"
            R"("description":"LGTM <3 & ship it",)"
            R"("color":4431840,"author":{"name":"grace"},)"
            R"("fields":[{"name":"Id","value":"7","inline":true}],)"
            R"("footer":{"text":"COMMENT_ADDED"},"timestamp":"2026-01-15T10:30:00.250Z"}]})");
}

size_t EmbedTotal(const nlohmann::json& e) {
  size_t total = Units(e["title"]) + Units(e["footer"]["text"]) + Units(e["author"]["name"]);
  if (e.contains("description")) total += Units(e["description"]);
  if (e.contains("fields")) {
    for (const auto& f : e["fields"]) total += Units(f["name"]) + Units(f["value"]);
  }
  return total;
}

TEST(DiscordBodyTest, KeepsEveryLimitAndTheTotal) {
  nlohmann::json e = ParseJson(DiscordBody(HugeMessage()))["embeds"][0];
  EXPECT_EQ(Units(e["title"]), kDiscordTitleMax);
  EXPECT_EQ(Units(e["author"]["name"]), kDiscordAuthorMax);
  EXPECT_EQ(Units(e["description"]), kDiscordDescriptionMax);
  ASSERT_EQ(e["fields"].size(), 1u);  // the rest did not fit in 6,000 characters
  EXPECT_EQ(Units(e["fields"][0]["name"]), kDiscordFieldNameMax);
  EXPECT_EQ(Units(e["fields"][0]["value"]), kDiscordFieldValueMax);
  EXPECT_THAT(EmbedTotal(e), Le(kDiscordTotalMax));
}

TEST(DiscordBodyTest, ShortensTheDescriptionWhenTheTotalDemands) {
  Message m = HugeMessage();
  m.fields.clear();
  m.footer = std::string(3000, 'f');
  nlohmann::json e = ParseJson(DiscordBody(m))["embeds"][0];
  EXPECT_EQ(Units(e["footer"]["text"]), kDiscordFooterMax);
  EXPECT_EQ(EmbedTotal(e), kDiscordTotalMax);
  EXPECT_EQ(Units(e["description"]), kDiscordTotalMax - 256 - 256 - 2048);
}

TEST(DiscordBodyTest, TruncatesMultibyteTextOnCharacterBoundaries) {
  Message m;
  m.title = "";
  for (int i = 0; i < 200; ++i) m.title += "\xF0\x9F\x9A\x80";  // 400 units
  m.footer = "e";
  nlohmann::json e = ParseJson(DiscordBody(m))["embeds"][0];
  EXPECT_EQ(Units(e["title"]), 255u);  // 127 rockets and the ellipsis
}

TEST(JiraBodyTest, CommentAddedIsAnAdfDocument) {
  EXPECT_EQ(JiraBody(MessageOf(testing::CommentAdded())),
            R"({"body":{"type":"doc","version":1,"content":[)"
            R"({"type":"paragraph","content":[{"type":"text",)"
            R"("text":"Comment Added: Add retry jitter",)"
            R"("marks":[{"type":"strong"}]},{"type":"text","text":" by grace"}]},)"
            R"({"type":"paragraph","content":[{"type":"text","text":"LGTM <3 & ship it"}]},)"
            R"({"type":"bulletList","content":[{"type":"listItem","content":[)"
            R"({"type":"paragraph","content":[{"type":"text","text":"Id:",)"
            R"("marks":[{"type":"strong"}]},{"type":"text","text":" 7"}]}]}]},)"
            R"({"type":"paragraph","content":[{"type":"text",)"
            "\"text\":\"COMMENT_ADDED \xC2\xB7 2026-01-15T10:30:00.250Z\","
            R"("marks":[{"type":"em"}]}]}]}})");
}

TEST(JiraBodyTest, ReviewRequestedLinksTheTitleAndBreaksLines) {
  nlohmann::json doc = ParseJson(JiraBody(MessageOf(testing::ReviewRequested())))["body"];
  EXPECT_EQ(doc["type"], "doc");
  EXPECT_EQ(doc["version"], 1);
  const nlohmann::json& title = doc["content"][0]["content"][0];
  EXPECT_EQ(title["text"], "Review Requested: Add retry jitter");
  EXPECT_EQ(title["marks"][1],
            nlohmann::json::parse(
                R"({"type":"link","attrs":{"href":"https://review.example.com/r/42"}})"));
  const nlohmann::json& text = doc["content"][1]["content"];
  ASSERT_EQ(text.size(), 3u);
  EXPECT_EQ(text[1]["type"], "hardBreak");
  EXPECT_EQ(text[2]["text"], "See <DESIGN> & \"retries\".");
  EXPECT_EQ(doc["content"][2]["content"].size(), 5u);  // the fields
}

TEST(JiraBodyTest, KeepsTheWholeCommentWithinJirasLimit) {
  Message m = HugeMessage();
  m.text = std::string(40000, 'x');
  for (Message::Field& f : m.fields) f.value = std::string(4000, '"');  // JSON-escaped: \"
  const std::string body = JiraBody(m);
  const nlohmann::json doc = ParseJson(body)["body"];
  EXPECT_THAT(Utf16Length(doc.dump()), Le(kJiraBodyMax));
  EXPECT_THAT(Utf16Length(doc.dump()), ::testing::Ge(kJiraBodyMax - 100));  // cut, not emptied
}

TEST(JiraBodyTest, TruncatesLongText) {
  nlohmann::json doc = ParseJson(JiraBody(HugeMessage()))["body"];
  EXPECT_EQ(Units(doc["content"][0]["content"][0]["text"]), kJiraTitleMax);
  Message m;
  m.title = "t";
  m.text = std::string(40000, 'x');
  doc = ParseJson(JiraBody(m))["body"];
  EXPECT_EQ(Units(doc["content"][1]["content"][0]["text"]), kJiraTextMax);
}

}  // namespace
}  // namespace hookrelay::render
