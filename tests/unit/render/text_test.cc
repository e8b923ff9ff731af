#include "libs/render/text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::render {
namespace {

std::string Json(absl::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

std::string Percent(absl::string_view s) {
  std::string out;
  AppendPercentEncoded(&out, s);
  return out;
}

std::string Form(absl::string_view s) {
  std::string out;
  AppendFormEncoded(&out, s);
  return out;
}

std::string Xml(absl::string_view s) {
  std::string out;
  AppendXmlEscaped(&out, s);
  return out;
}

TEST(TextTest, JsonStringEscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Json("a\"b\\c\n\r\t\b\f"), R"("a\"b\\c\n\r\t\b\f")");
  EXPECT_EQ(Json(std::string("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(Json("h\xC3\xA9llo \xF0\x9F\x9A\x80"), "\"h\xC3\xA9llo \xF0\x9F\x9A\x80\"");
}

TEST(TextTest, PercentEncodingKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(Percent("HR-7_a.b~c"), "HR-7_a.b~c");
  EXPECT_EQ(Percent("a b/c?d=e&f#g%"), "a%20b%2Fc%3Fd%3De%26f%23g%25");
  EXPECT_EQ(Percent("\xC3\xA9"), "%C3%A9");
}

TEST(TextTest, FormEncodingUsesPlusForSpace) {
  EXPECT_EQ(Form("a b*c-d._~{\"x\":1}"), "a+b*c-d._%7E%7B%22x%22%3A1%7D");
}

TEST(TextTest, XmlEscapesMarkupAndControlCharacters) {
  EXPECT_EQ(Xml(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;");
  EXPECT_EQ(Xml("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
  EXPECT_EQ(Xml(std::string("x\x00y\x1bz", 5)), "x\xEF\xBF\xBDy\xEF\xBF\xBDz");
}

TEST(TextTest, XmlTextEscapesLikePythonsXmlGeneratorButKeepsCarriageReturns) {
  std::string out;
  AppendXmlText(&out, std::string("<a href=\"x\">Tom & 'J'\t\n\r\x01</a>", 29));
  EXPECT_EQ(out, "&lt;a href=\"x\"&gt;Tom &amp; 'J'\t\n&#13;\xEF\xBF\xBD&lt;/a&gt;");
}

TEST(TextTest, Utf16LengthCountsAstralCharactersTwice) {
  EXPECT_EQ(Utf16Length("abc"), 3u);
  EXPECT_EQ(Utf16Length("\xC3\xA9\xE2\x82\xAC"), 2u);  // é €
  EXPECT_EQ(Utf16Length("\xF0\x9F\x9A\x80"), 2u);      // 🚀
}

TEST(TextTest, TruncateKeepsShortTextAndCutsLongTextWithEllipsis) {
  EXPECT_EQ(Truncate("hello", 5), "hello");
  EXPECT_EQ(Truncate("hello!", 5), "hell\xE2\x80\xA6");
  EXPECT_EQ(Utf16Length(Truncate(std::string(5000, 'x'), 4096)), 4096u);
  EXPECT_EQ(Truncate("abc", 0), "");
}

TEST(TextTest, TruncateNeverSplitsAUtf8Character) {
  // "ééé" is 3 units; at 2 units, one é and the ellipsis fit.
  EXPECT_EQ(Truncate("\xC3\xA9\xC3\xA9\xC3\xA9", 2), "\xC3\xA9\xE2\x80\xA6");
  // A rocket (2 units) does not fit beside the ellipsis in 2 units.
  EXPECT_EQ(Truncate("\xF0\x9F\x9A\x80\xF0\x9F\x9A\x80", 2), "\xE2\x80\xA6");
  EXPECT_EQ(Truncate("a\xF0\x9F\x9A\x80"
                     "b",
                     3),
            "a\xE2\x80\xA6");
}

}  // namespace
}  // namespace hookrelay::render
