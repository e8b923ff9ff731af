#include "libs/render/chat_limits.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/render/text.h"
#include "nlohmann/json.hpp"

namespace hookrelay::render {
namespace {

using ::testing::Le;
using ::testing::SizeIs;
using json = nlohmann::json;

constexpr char kEllipsis[] = "\xE2\x80\xA6";

size_t Units(const json& s) { return Utf16Length(s.get<std::string>()); }

// Runs the pass over `body`; returns the result parsed (and whether it changed).
json Enforce(v1::PayloadFormat format, const json& body, bool* changed = nullptr) {
  std::string text = body.dump();
  const bool did = EnforceChatLimits(format, &text);
  if (changed != nullptr) *changed = did;
  return json::parse(text);
}

TEST(ChatLimitsTest, LeavesBodiesWithinTheLimitsByteForByte) {
  std::string body = R"({ "text" : "hi",  "blocks": [] })";
  EXPECT_FALSE(EnforceChatLimits(v1::PAYLOAD_FORMAT_SLACK, &body));
  EXPECT_EQ(body, R"({ "text" : "hi",  "blocks": [] })");
  body = "not json";
  EXPECT_FALSE(EnforceChatLimits(v1::PAYLOAD_FORMAT_DISCORD, &body));
  body = R"({"text":")" + std::string(50000, 'x') + R"("})";
  EXPECT_FALSE(EnforceChatLimits(v1::PAYLOAD_FORMAT_TEMPLATE, &body));  // not a chat format
}

TEST(ChatLimitsTest, SlackBlocksKeepBlockKitLimits) {
  json section = {{"type", "section"},
                  {"text", {{"type", "mrkdwn"}, {"text", std::string(5000, 's')}}},
                  {"fields", json::array()}};
  for (int i = 0; i < 12; ++i) {
    section["fields"].push_back({{"type", "mrkdwn"}, {"text", std::string(2500, 'f')}});
  }
  json body = {{"text", std::string(45000, 't')}, {"blocks", json::array()}};
  body["blocks"].push_back(
      {{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", std::string(200, 'h')}}}});
  body["blocks"].push_back(section);
  for (int i = 0; i < 60; ++i) body["blocks"].push_back({{"type", "divider"}});
  bool changed = false;
  const json out = Enforce(v1::PAYLOAD_FORMAT_SLACK, body, &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(Units(out["text"]), kSlackMessageTextMax);
  EXPECT_THAT(out["blocks"], SizeIs(kSlackBlocksMax));
  EXPECT_EQ(Units(out["blocks"][0]["text"]["text"]), kSlackHeaderTextMax);
  EXPECT_EQ(out["blocks"][0]["text"]["text"], std::string(149, 'h') + kEllipsis);
  EXPECT_EQ(Units(out["blocks"][1]["text"]["text"]), kSlackSectionTextMax);
  ASSERT_THAT(out["blocks"][1]["fields"], SizeIs(kSlackSectionFieldsMax));
  EXPECT_EQ(Units(out["blocks"][1]["fields"][9]["text"]), kSlackSectionFieldTextMax);
}

TEST(ChatLimitsTest, SlackAttachmentsKeepTheirCaps) {
  json body = {{"attachments",
                {{{"title", std::string(300, 'T')},
                  {"text", std::string(4000, 'x')},
                  {"fields", {{{"title", "a"}, {"value", std::string(3500, 'v')}}}},
                  {"footer", std::string(400, 'f')}}}}};
  const json a = Enforce(v1::PAYLOAD_FORMAT_SLACK, body)["attachments"][0];
  EXPECT_EQ(Units(a["title"]), kSlackTitleMax);
  EXPECT_EQ(Units(a["text"]), kSlackTextMax);
  EXPECT_EQ(Units(a["fields"][0]["value"]), kSlackTextMax);
  EXPECT_EQ(a["fields"][0]["title"], "a");
  EXPECT_EQ(Units(a["footer"]), kSlackFooterMax);
}

size_t DiscordTotal(const json& embeds) {
  size_t total = 0;
  for (const json& e : embeds) {
    for (const char* key : {"title", "description"}) {
      if (e.contains(key)) total += Units(e[key]);
    }
    if (e.contains("footer")) total += Units(e["footer"]["text"]);
    if (e.contains("author")) total += Units(e["author"]["name"]);
    for (const json& f : e.value("fields", json::array())) {
      total += Units(f["name"]) + Units(f["value"]);
    }
  }
  return total;
}

TEST(ChatLimitsTest, DiscordEmbedsKeepEachLimitAndTheTotal) {
  json embed = {{"title", std::string(300, 'T')},
                {"description", std::string(5000, 'd')},
                {"footer", {{"text", std::string(100, 'f')}}},
                {"author", {{"name", std::string(300, 'a')}}},
                {"fields", json::array()}};
  for (int i = 0; i < 30; ++i) {
    embed["fields"].push_back({{"name", absl::StrCat("n", i)}, {"value", std::string(2000, 'v')}});
  }
  json body = {{"content", std::string(2500, 'c')},
               {"username", std::string(100, 'u')},
               {"embeds", json::array()}};
  for (int i = 0; i < 12; ++i) body["embeds"].push_back(embed);
  const json out = Enforce(v1::PAYLOAD_FORMAT_DISCORD, body);
  EXPECT_EQ(Units(out["content"]), kDiscordContentMax);
  EXPECT_EQ(Units(out["username"]), kDiscordUsernameMax);
  ASSERT_THAT(out["embeds"], SizeIs(kDiscordEmbedsMax));
  EXPECT_THAT(DiscordTotal(out["embeds"]), Le(kDiscordTotalMax));
  for (const json& e : out["embeds"]) {
    EXPECT_THAT(Units(e["title"]), Le(kDiscordTitleMax));
    EXPECT_THAT(Units(e["description"]), Le(kDiscordDescriptionMax));
    EXPECT_THAT(Units(e["author"]["name"]), Le(kDiscordAuthorMax));
    EXPECT_THAT(e["fields"].size(), Le(kDiscordFieldsMax));
    for (const json& f : e["fields"]) EXPECT_THAT(Units(f["value"]), Le(kDiscordFieldValueMax));
  }
}

TEST(ChatLimitsTest, DiscordTotalShortensTheDescriptionFirst) {
  json body = {{"embeds",
                {{{"title", "t"},
                  {"description", std::string(4000, 'd')},
                  {"fields",
                   {{{"name", "n"}, {"value", std::string(1000, 'v')}},
                    {{"name", "m"}, {"value", std::string(1000, 'w')}}}},
                  {"footer", {{"text", std::string(2, 'f')}}}}}}};
  const json e = Enforce(v1::PAYLOAD_FORMAT_DISCORD, body)["embeds"][0];
  EXPECT_EQ(DiscordTotal(json::array({e})), kDiscordTotalMax);
  EXPECT_EQ(Units(e["description"]), 4000u - 5u);  // 6,005 units: 5 too many
  EXPECT_THAT(e["fields"], SizeIs(2));
  EXPECT_EQ(e["description"].get<std::string>().substr(3994), kEllipsis);
}

TEST(ChatLimitsTest, JiraBodyKeepsTheCommentLimit) {
  json doc = {{"type", "doc"}, {"version", 1}, {"content", json::array()}};
  for (int i = 0; i < 3; ++i) {
    doc["content"].push_back(
        {{"type", "paragraph"},
         {"content", {{{"type", "text"}, {"text", std::string(20000, 'a' + i)}}}}});
  }
  const json out = Enforce(v1::PAYLOAD_FORMAT_JIRA, {{"body", doc}});
  EXPECT_THAT(Utf16Length(out["body"].dump()), Le(kJiraBodyMax));
  for (const json& p : out["body"]["content"]) {
    EXPECT_FALSE(p["content"][0]["text"].get<std::string>().empty());
  }
  const json v2 = Enforce(v1::PAYLOAD_FORMAT_JIRA, {{"body", std::string(40000, 'x')}});
  EXPECT_EQ(Units(v2["body"]), kJiraBodyMax);
}

}  // namespace
}  // namespace hookrelay::render
