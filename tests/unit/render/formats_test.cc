#include "libs/render/formats.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/render/test_events.h"

namespace hookrelay::render {
namespace {

constexpr char kXmlHead[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><event><id>evt_01JHX5M2Q8</id>"
    "<type>REVIEW_REQUESTED</type><timestamp>2026-01-15T10:30:00.250Z</timestamp>"
    "<tenant>acme</tenant>";

std::string Xml(const v1::Event& event) {
  absl::StatusOr<Value> data = Value::Parse(event.payload(), kMaxPayloadDepth, "payload");
  EXPECT_OK(data);
  return data.ok() ? XmlBody(event, *data) : "";
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

TEST(FormatsTest, XmlMapsThePayloadToElementsInOrder) {
  EXPECT_EQ(Xml(testing::ReviewRequested()),
            std::string(kXmlHead) +
                "<data><event>REVIEW_REQUESTED</event><review><id>42</id>"
                "<title>Add retry jitter</title><url>https://review.example.com/r/42</url>"
                "<description>Adds \xC2\xB1"
                "20 % jitter.&#10;See &lt;DESIGN&gt; &amp; "
                "&quot;retries&quot;.</description><author><name>Ada Lovelace</name>"
                "<email>ada@example.com</email></author><reviewers><item>grace</item>"
                "<item>linus</item></reviewers><status>pending</status><draft>false</draft>"
                "</review><jiraIssueKey>HR-7</jiraIssueKey></data></event>");
}

TEST(FormatsTest, XmlUsesItemElementsForKeysThatAreNotXmlNames) {
  v1::Event event = testing::MakeEvent(
      "REVIEW_REQUESTED",
      R"({"ok":1,"2x":2,"a b":"<&>","xmlns":null,"":[null,{"k":true}],"ns:k":"'v'",)"
      R"("_a-b.c":1.5e3})");
  EXPECT_EQ(Xml(event), std::string(kXmlHead) +
                            "<data><ok>1</ok><item key=\"2x\">2</item>"
                            "<item key=\"a b\">&lt;&amp;&gt;</item><item key=\"xmlns\"/>"
                            "<item key=\"\"><item/><item><k>true</k></item></item>"
                            "<item key=\"ns:k\">&apos;v&apos;</item><_a-b.c>1.5e3</_a-b.c>"
                            "</data></event>");
}

TEST(FormatsTest, XmlEscapesEventFieldsAndScalarPayloads) {
  v1::Event event = testing::MakeEvent("a<b", R"("x\u0000y")");
  event.set_tenant("t&t");
  EXPECT_EQ(Xml(event),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><event><id>evt_01JHX5M2Q8</id>"
            "<type>a&lt;b</type><timestamp>2026-01-15T10:30:00.250Z</timestamp>"
            "<tenant>t&amp;t</tenant><data>x\xEF\xBF\xBDy</data></event>");
  event.set_payload("null");
  EXPECT_THAT(Xml(event), ::testing::HasSubstr("<data/></event>"));
}

TEST(FormatsTest, FormCarriesTheEnvelopeFormEncoded) {
  v1::Event event = testing::MakeEvent("T", R"({"a":"x y&z=\u00e9","n":1})");
  const std::string body = FormBody(event);
  EXPECT_EQ(body,
            "payload=%7B%22id%22%3A%22evt_01JHX5M2Q8%22%2C%22type%22%3A%22T%22%2C%22timestamp%22"
            "%3A%222026-01-15T10%3A30%3A00.250Z%22%2C%22tenant%22%3A%22acme%22%2C%22data%22%3A%7B"
            "%22a%22%3A%22x+y%26z%3D%5Cu00e9%22%2C%22n%22%3A1%7D%7D");
  std::string envelope;
  AppendEnvelope(event, &envelope);
  EXPECT_EQ(FormDecode(body.substr(8)), envelope);
}

TEST(FormatsTest, EventContextHoldsEventFieldsAndSortedAttributes) {
  Value data = Value::Object();
  data.Add("k", Value::Integer(1));
  EXPECT_EQ(EventContext(testing::ReviewRequested(), std::move(data)).ToJson(),
            R"({"event":{"id":"evt_01JHX5M2Q8","type":"REVIEW_REQUESTED",)"
            R"("timestamp":"2026-01-15T10:30:00.250Z","tenant":"acme",)"
            R"("attributes":{"branch":"main","repository":"hookrelay"}},"data":{"k":1}})");
}

}  // namespace
}  // namespace hookrelay::render
