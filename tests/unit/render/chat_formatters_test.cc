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
  EXPECT_EQ(m.title, "Add retry jitter");
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
      ElementsAre(Field(&Message::Field::name, "JiraIssueKey"), Field(&Message::Field::name, "Id"),
                  Field(&Message::Field::name, "Reviewers"), Field(&Message::Field::name, "Status"),
                  Field(&Message::Field::name, "Draft")));
  EXPECT_EQ(m.fields[2].value, "grace, linus");
}

TEST(ExtractMessageTest, FallsBackToTheEventTypeAndScalarFields) {
  Message m = MessageOf(testing::MakeEvent("issue.created", R"({"count":3,"ok":true,"x":null,)"
                                                            R"("url":"javascript:void 0"})"));
  EXPECT_EQ(m.title, "issue.created");
  EXPECT_EQ(m.url, "");  // only http(s) links
  EXPECT_EQ(m.color, kDefaultColor);
  EXPECT_THAT(m.fields,
              ElementsAre(Field(&Message::Field::value, "3"), Field(&Message::Field::value, "true"),
                          Field(&Message::Field::value, "javascript:void 0")));
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
            R"({"attachments":[{"fallback":"Add retry jitter","color":"#ecb22e",)"
            R"("author_name":"Ada Lovelace","title":"Add retry jitter",)"
            R"("title_link":"https://review.example.com/r/42",)"
            "\"text\":\"Adds \xC2\xB1"
            R"(20 % jitter.\nSee &lt;DESIGN&gt; &amp; \"retries\".",)"
            R"("fields":[{"title":"JiraIssueKey","value":"HR-7","short":true},)"
            R"({"title":"Id","value":"42","short":true},)"
            R"({"title":"Reviewers","value":"grace, linus","short":true},)"
            R"({"title":"Status","value":"pending","short":true},)"
            R"({"title":"Draft","value":"false","short":true}],)"
            R"("footer":"REVIEW_REQUESTED","ts":1768473000}]})");
}

TEST(SlackBodyTest, CommentAddedFallsBackToTheEventTypeAsTitle) {
  EXPECT_EQ(SlackBody(MessageOf(testing::CommentAdded())),
            R"({"attachments":[{"fallback":"COMMENT_ADDED","color":"#439fe0",)"
            R"("author_name":"grace","title":"COMMENT_ADDED","text":"LGTM &lt;3 &amp; ship it",)"
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
            R"({"embeds":[{"title":"Add retry jitter","url":"https://review.example.com/r/42",)"
            "\"description\":\"Adds \xC2\xB1"
            R"(20 % jitter.\nSee <DESIGN> & \"retries\".",)"
            R"("color":15512110,"author":{"name":"Ada Lovelace"},)"
            R"("fields":[{"name":"JiraIssueKey","value":"HR-7","inline":true},)"
            R"({"name":"Id","value":"42","inline":true},)"
            R"({"name":"Reviewers","value":"grace, linus","inline":true},)"
            R"({"name":"Status","value":"pending","inline":true},)"
            R"({"name":"Draft","value":"false","inline":true}],)"
            R"("footer":{"text":"REVIEW_REQUESTED"},"timestamp":"2026-01-15T10:30:00.250Z"}]})");
}

TEST(DiscordBodyTest, CommentAddedIsAnEmbed) {
  EXPECT_EQ(DiscordBody(MessageOf(testing::CommentAdded())),
            R"({"embeds":[{"title":"COMMENT_ADDED","description":"LGTM <3 & ship it",)"
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
            R"({"type":"paragraph","content":[{"type":"text","text":"COMMENT_ADDED",)"
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
  EXPECT_EQ(title["text"], "Add retry jitter");
  EXPECT_EQ(title["marks"][1],
            nlohmann::json::parse(
                R"({"type":"link","attrs":{"href":"https://review.example.com/r/42"}})"));
  const nlohmann::json& text = doc["content"][1]["content"];
  ASSERT_EQ(text.size(), 3u);
  EXPECT_EQ(text[1]["type"], "hardBreak");
  EXPECT_EQ(text[2]["text"], "See <DESIGN> & \"retries\".");
  EXPECT_EQ(doc["content"][2]["content"].size(), 5u);  // the fields
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
