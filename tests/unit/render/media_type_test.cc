#include "libs/render/media_type.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::render {
namespace {

using ::hookrelay::testing::StatusIs;
using ::testing::StartsWith;

TEST(MediaTypeTest, EscapingFollowsTheMediaType) {
  EXPECT_EQ(EscapeForMediaType("application/json"), Escape::kJson);
  EXPECT_EQ(EscapeForMediaType(" Application/JSON ; charset=utf-8"), Escape::kJson);
  EXPECT_EQ(EscapeForMediaType("application/vnd.api+json"), Escape::kJson);
  EXPECT_EQ(EscapeForMediaType("application/xml"), Escape::kXml);
  EXPECT_EQ(EscapeForMediaType("text/xml; charset=utf-8"), Escape::kXml);
  EXPECT_EQ(EscapeForMediaType("application/atom+xml"), Escape::kXml);
  EXPECT_EQ(EscapeForMediaType("text/html"), Escape::kXml);
  EXPECT_EQ(EscapeForMediaType("application/x-www-form-urlencoded"), Escape::kForm);
  EXPECT_EQ(EscapeForMediaType("text/plain"), Escape::kNone);
  EXPECT_EQ(EscapeForMediaType("text/csv"), Escape::kNone);
}

TEST(MediaTypeTest, GuessesFromTheTemplatesFirstCharacter) {
  EXPECT_EQ(GuessTemplateMediaType("\n  {\"a\":1}"), "application/json");
  EXPECT_EQ(GuessTemplateMediaType("[1]"), "application/json");
  EXPECT_EQ(GuessTemplateMediaType(" <?xml version=\"1.0\"?><a/>"), "application/xml");
  EXPECT_EQ(GuessTemplateMediaType("payload={{data}}"), "text/plain; charset=utf-8");
  EXPECT_EQ(GuessTemplateMediaType(""), "text/plain; charset=utf-8");
}

TEST(MediaTypeTest, ValidatesMediaTypes) {
  EXPECT_OK(ValidateContentType("application/json", "f"));
  EXPECT_OK(ValidateContentType("application/x-www-form-urlencoded; charset=utf-8", "f"));
  EXPECT_OK(ValidateContentType("application/vnd.acme.v2+xml", "f"));
  for (const char* bad : {"", "json", "/json", "text/", "te xt/plain", "text/plain\r\nX: 1",
                          "text/plain\x7f", "a/b/c"}) {
    EXPECT_THAT(ValidateContentType(bad, "webhook.content_type"),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.content_type: ")))
        << bad;
  }
  EXPECT_THAT(ValidateContentType("text/" + std::string(260, 'x'), "f"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace hookrelay::render
