#include "libs/render/formats.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/render/test_events.h"

namespace hookrelay::render {
namespace {

constexpr char kXmlDeclaration[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

std::string Xml(const v1::Event& event) {
  absl::StatusOr<Value> data = Value::Parse(event.payload(), kMaxPayloadDepth, "payload");
  EXPECT_OK(data);
  return data.ok() ? XmlBody(*data) : "";
}

// Decodes application/x-www-form-urlencoded text.
std::string FormDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

TEST(FormatsTest, FormatTimestampIsRfc3339WithMilliseconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(testing::kOccurredSeconds);
  ts.set_nanos(testing::kOccurredNanos);
  EXPECT_EQ(FormatTimestamp(ts), "2026-01-15T10:30:00.250Z");
}

TEST(FormatsTest, EnvelopeEmbedsThePayloadAsPublished) {
  v1::Event event = testing::MakeEvent("T", R"({ "b": 1, "a": [true] })");
  std::string body;
  AppendEnvelope(event, &body);
  EXPECT_EQ(body, R"({"id":"evt_01JHX5M2Q8","type":"T","timestamp":"2026-01-15T10:30:00.250Z",)"
                  R"("tenant":"acme","data":{ "b": 1, "a": [true] }})");
}

// Review Board's layout (djblets' XMLEncoderAdapter over Python's XMLGenerator): <rsp>,
// one element per member in order, arrays as <array><item>, one-space indentation per
// level, text inline, booleans as 1/0.
TEST(FormatsTest, XmlFollowsReviewBoardsLayout) {
  EXPECT_EQ(Xml(testing::ReviewRequested()),
            std::string(kXmlDeclaration) +
                "<rsp>\n"
                " <event>REVIEW_REQUESTED</event>\n"
                " <review>\n"
                "  <id>42</id>\n"
                "  <title>Add retry jitter</title>\n"
                "  <url>https://review.example.com/r/42</url>\n"
                "  <description>Adds \xC2\xB1"
                "20 % jitter.\nSee &lt;DESIGN&gt; &amp; \"retries\".</description>\n"
                "  <author>\n"
                "   <name>Ada Lovelace</name>\n"
                "   <email>ada@example.com</email>\n"
                "  </author>\n"
                "  <reviewers>\n"
                "   <array>\n"
                "    <item>grace</item>\n"
                "    <item>linus</item>\n"
                "   </array>\n"
                "  </reviewers>\n"
                "  <status>pending</status>\n"
                "  <draft>0</draft>\n"
                " </review>\n"
                " <jiraIssueKey>HR-7</jiraIssueKey>\n"
                "</rsp>");
}

TEST(FormatsTest, XmlWritesEmptyValuesAsReviewBoardDoes) {
  EXPECT_EQ(Xml(testing::MakeEvent("T", R"({"a":null,"b":{},"c":[],"d":"","e":true,"f":1.5e3})")),
            std::string(kXmlDeclaration) +
                "<rsp>\n <a>\n </a>\n <b>\n </b>\n <c>\n  <array>\n  </array>\n </c>\n"
                " <d></d>\n <e>1</e>\n <f>1.5e3</f>\n</rsp>");
}

TEST(FormatsTest, XmlUsesItemElementsForKeysThatAreNotXmlNames) {
  v1::Event event = testing::MakeEvent(
      "REVIEW_REQUESTED", R"({"ok":1,"2x":2,"a b":"<&>","xmlns":null,"ns:k":"'v\"\r","_a-b.c":0})");
  EXPECT_EQ(Xml(event),
            std::string(kXmlDeclaration) +
                "<rsp>\n <ok>1</ok>\n <item key=\"2x\">2</item>\n"
                " <item key=\"a b\">&lt;&amp;&gt;</item>\n <item key=\"xmlns\">\n </item>\n"
                " <item key=\"ns:k\">'v\"&#13;</item>\n <_a-b.c>0</_a-b.c>\n</rsp>");
}

TEST(FormatsTest, XmlOfAScalarPayloadIsTheTextOfRsp) {
  EXPECT_EQ(Xml(testing::MakeEvent("T", R"("x\u0000y")")),
            std::string(kXmlDeclaration) + "<rsp>x\xEF\xBF\xBDy</rsp>");
  EXPECT_EQ(Xml(testing::MakeEvent("T", "null")), std::string(kXmlDeclaration) + "<rsp>\n</rsp>");
}

// Review Board's form encoding carries its own payload, not an envelope.
TEST(FormatsTest, FormCarriesThePayloadAsPublishedFormEncoded) {
  v1::Event event = testing::MakeEvent("T", R"({"a":"x y&z=\u00e9","n":1})");
  const std::string body = FormBody(event);
  EXPECT_EQ(body, "payload=%7B%22a%22%3A%22x+y%26z%3D%5Cu00e9%22%2C%22n%22%3A1%7D");
  EXPECT_EQ(FormDecode(body.substr(8)), event.payload());
}

TEST(FormatsTest, EventContextHoldsEventFieldsAndSortedAttributes) {
  Value data = Value::Object();
  data.Add("k", Value::Integer(1));
  EXPECT_EQ(EventContext(testing::ReviewRequested(), std::move(data)).ToJson(),
            R"({"event":{"id":"evt_01JHX5M2Q8","type":"REVIEW_REQUESTED",)"
            R"("timestamp":"2026-01-15T10:30:00.250Z","timestamp_unix":1768473000,)"
            R"("timestamp_unix_ms":1768473000250,"tenant":"acme",)"
            R"("attributes":{"branch":"main","repository":"hookrelay"}},"data":{"k":1}})");
}

}  // namespace
}  // namespace hookrelay::render
