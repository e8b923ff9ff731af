// ResponseParser: the HTTP/1.x answers a webhook receiver may send, fed whole and byte by
// byte, and the connection reuse each one allows.

#include "libs/http/response_parser.h"

#include <string>

#include "gtest/gtest.h"

namespace hookrelay::http {
namespace {

using Result = ResponseParser::Result;

// Feeds `wire` in pieces of `step` bytes; returns the last result.
Result FeedInSteps(ResponseParser& p, const std::string& wire, size_t step) {
  Result r = Result::kMore;
  for (size_t i = 0; i < wire.size() && r == Result::kMore; i += step) {
    r = p.Feed(absl::string_view(wire).substr(i, step));
  }
  return r;
}

class ResponseParserTest : public ::testing::TestWithParam<size_t> {};

TEST_P(ResponseParserTest, ContentLengthBody) {
  ResponseParser p(4096);
  EXPECT_EQ(
      FeedInSteps(p, "HTTP/1.1 202 Accepted\r\nContent-Length: 8\r\n\r\naccepted", GetParam()),
      Result::kDone);
  EXPECT_EQ(p.status(), 202);
  EXPECT_EQ(p.body(), "accepted");
  EXPECT_TRUE(p.keep_alive());
}

TEST_P(ResponseParserTest, ChunkedBodyWithExtensionsAndTrailers) {
  ResponseParser p(4096);
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  EXPECT_EQ(FeedInSteps(p, wire, GetParam()), Result::kDone);
  EXPECT_EQ(p.status(), 200);
  EXPECT_EQ(p.body(), "hello world");
  EXPECT_TRUE(p.keep_alive());
}

TEST_P(ResponseParserTest, InterimResponsesAreSkipped) {
  ResponseParser p(4096);
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 204 No Content\r\nRetry-After: 30\r\n\r\n";
  EXPECT_EQ(FeedInSteps(p, wire, GetParam()), Result::kDone);
  EXPECT_EQ(p.status(), 204);
  EXPECT_EQ(p.retry_after(), "30");
  EXPECT_TRUE(p.keep_alive());
}

TEST_P(ResponseParserTest, BodyUntilCloseEndsWithTheConnection) {
  ResponseParser p(4096);
  EXPECT_EQ(FeedInSteps(p, "HTTP/1.0 500 Oops\r\n\r\nsomething broke", GetParam()), Result::kMore);
  EXPECT_EQ(p.Finish(), Result::kDone);
  EXPECT_EQ(p.status(), 500);
  EXPECT_EQ(p.body(), "something broke");
  EXPECT_FALSE(p.keep_alive());
}

INSTANTIATE_TEST_SUITE_P(Steps, ResponseParserTest, ::testing::Values(1, 2, 7, 4096));

TEST(ResponseParser, BodyIsKeptUpToTheLimitAndTheRestIsRead) {
  ResponseParser p(4);
  EXPECT_EQ(p.Feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"), Result::kDone);
  EXPECT_EQ(p.body(), "0123");
  EXPECT_TRUE(p.keep_alive());
}

TEST(ResponseParser, ConnectionCloseAndHttp10AreNotReused) {
  ResponseParser close(64);
  EXPECT_EQ(close.Feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
            Result::kDone);
  EXPECT_FALSE(close.keep_alive());
  ResponseParser old(64);
  EXPECT_EQ(old.Feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), Result::kDone);
  EXPECT_FALSE(old.keep_alive());
  ResponseParser old_kept(64);
  EXPECT_EQ(old_kept.Feed("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"),
            Result::kDone);
  EXPECT_TRUE(old_kept.keep_alive());
}

TEST(ResponseParser, BytesAfterTheResponseMakeTheConnectionUnusable) {
  ResponseParser p(64);
  EXPECT_EQ(p.Feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"),
            Result::kDone);
  EXPECT_EQ(p.body(), "ok");
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, MalformedResponsesAreErrors) {
  for (const char* wire :
       {"SMTP ready\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n"}) {
    ResponseParser p(64);
    EXPECT_EQ(p.Feed(wire), Result::kError) << wire;
    EXPECT_FALSE(p.error().empty()) << wire;
    EXPECT_FALSE(p.keep_alive()) << wire;
  }
}

TEST(ResponseParser, CloseBeforeTheEndIsAnError) {
  ResponseParser nothing(64);
  EXPECT_FALSE(nothing.started());
  EXPECT_EQ(nothing.Finish(), Result::kError);
  ResponseParser half(64);
  EXPECT_EQ(half.Feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234"), Result::kMore);
  EXPECT_TRUE(half.started());
  EXPECT_EQ(half.Finish(), Result::kError);
  EXPECT_EQ(half.error(), "connection closed in the middle of the response");
}

TEST(ResponseParser, OversizedHeadersAreRefused) {
  ResponseParser p(64);
  const std::string huge = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'a');
  EXPECT_EQ(p.Feed(huge), Result::kError);
}

}  // namespace
}  // namespace hookrelay::http
