#include "libs/render/url_path.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::render {
namespace {

using ::hookrelay::testing::StatusIs;
using ::testing::HasSubstr;

TEST(UrlPathTest, PathRunsFromTheFirstSlashAfterTheAuthorityToTheQuery) {
  EXPECT_EQ(UrlPath("https://x.example/a/b?c=/d#e"), "/a/b");
  EXPECT_EQ(UrlPath("https://x.example:8443/a/b#/x"), "/a/b");
  EXPECT_EQ(UrlPath("https://x.example?q=/a"), "");
  EXPECT_EQ(UrlPath("https://x.example"), "");
}

TEST(UrlPathTest, AcceptsPlainPaths) {
  for (const char* url :
       {"https://x.example/", "https://x.example/a/b/", "https://x.example/a.b/..c",
        "https://x.example/a/%2e%2e%2e", "https://x.example/a?b=..&c=//", "https://x.example"}) {
    EXPECT_OK(CheckUrlPath(url, "url")) << url;
  }
}

TEST(UrlPathTest, RefusesDotAndEmptySegmentsInEveryEncoding) {
  for (const char* url :
       {"https://x.example/a/./b", "https://x.example/a/../b", "https://x.example/a/..",
        "https://x.example/%2e%2e/b", "https://x.example/%2E%2e/b", "https://x.example/.%2E/b",
        "https://x.example/%2e/b", "https://x.example/a%2f..%2Fb", "https://x.example/a%5C..",
        "https://x.example/a\\..\\b", "https://x.example/a//b", "https://x.example//b"}) {
    EXPECT_THAT(CheckUrlPath(url, "webhook.url"),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("webhook.url: ")))
        << url;
  }
  EXPECT_THAT(CheckUrlPath("https://x.example/a b", "url"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "url: rendered URL contains spaces or control characters"));
}

}  // namespace
}  // namespace hookrelay::render
