// HttpSender's kept-alive connections against a scripted raw-socket server: reuse, servers
// that close idle connections without saying so, and the response framings HTTP/1.x allows.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/http/sender.h"
#include "tests/integration/http/send_and_wait.h"
#include "tests/support/wait.h"

namespace hookrelay::http {
namespace {

using ::hookrelay::testing::WaitFor;

// Serves one connection at a time on 127.0.0.1: reads each request (head and Content-Length
// body) and writes what `script` returns for it; closes the connection after the answer
// when `close` is set, without saying so in the headers.
class ScriptedServer {
 public:
  struct Answer {
    std::string wire;
    bool close = false;
  };
  using Script = std::function<Answer(int request)>;

  // `early`: answer as soon as a request's head has arrived, then read and drop its body
  // (as a server refusing an oversized body with 413 does).
  explicit ScriptedServer(Script script, bool early = false)
      : script_(std::move(script)), early_(early) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stopping_ = true;
    shutdown(current_.load(), SHUT_RDWR);  // a kept-alive connection being served
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string Url() const { return absl::StrCat("http://127.0.0.1:", port_, "/hook"); }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

 private:
  void Serve() {
    while (true) {
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0 || stopping_) {
        if (c >= 0) close(c);
        return;
      }
      ++connections_;
      current_ = c;
      ServeConnection(c);
      current_ = -1;
      close(c);
    }
  }
  void ServeConnection(int c) {
    std::string in;
    char buf[4096];
    bool answered = false;  // early mode: this request was answered after its head
    while (true) {
      const size_t head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t cl = in.find("Content-Length: ");
        size_t body = 0;
        if (cl != std::string::npos) {
          (void)absl::SimpleAtoi(in.substr(cl + 16, in.find("\r\n", cl) - cl - 16), &body);
        }
        Answer a;
        if (early_ && !answered) {
          a = script_(requests_++);
          (void)!write(c, a.wire.data(), a.wire.size());
          answered = true;
        }
        if (in.size() >= head_end + 4 + body) {
          in.erase(0, head_end + 4 + body);
          if (!answered) {
            a = script_(requests_++);
            (void)!write(c, a.wire.data(), a.wire.size());
          }
          answered = false;
          if (a.close) return;
          continue;
        }
      }
      const ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
  }

  Script script_;
  const bool early_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> current_{-1};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

class ConnectionReuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto guard = AddressGuard::Create({"127.0.0.0/8"});
    ASSERT_TRUE(guard.ok());
    auto s = HttpSender::Start({.allow_http = true}, *std::move(guard));
    ASSERT_TRUE(s.ok()) << s.status();
    sender_ = *std::move(s);
  }

  HttpResponse SendOne(const std::string& url, std::string body = "{}") {
    return SendAndWait(*sender_, HttpRequest{.url = url,
                                             .headers = {{"Content-Type", "application/json"}},
                                             .body = std::move(body)});
  }

  std::unique_ptr<HttpSender> sender_;
};

constexpr char kNoContent[] = "HTTP/1.1 204 No Content\r\n\r\n";

TEST_F(ConnectionReuseTest, SequentialRequestsShareOneConnection) {
  ScriptedServer server([](int) { return ScriptedServer::Answer{kNoContent}; });
  for (int i = 0; i < 20; ++i) {
    const HttpResponse r = SendOne(server.Url());
    ASSERT_EQ(r.failure, FailureKind::kNone) << r.error;
    EXPECT_EQ(r.status, 204);
  }
  EXPECT_EQ(server.requests(), 20);
  EXPECT_EQ(server.connections(), 1);
}

// The server closes every connection right after answering, without "Connection: close",
// as servers with short keep-alive timeouts do. Each next request either sees the close
// while the connection is idle or finds it broken when it is sent; both end in a fresh
// connection and a delivered request, never in a failure.
TEST_F(ConnectionReuseTest, ServerClosingIdleConnectionsIsNotAFailure) {
  ScriptedServer server([](int) { return ScriptedServer::Answer{kNoContent, /*close=*/true}; });
  for (int i = 0; i < 10; ++i) {
    const HttpResponse r = SendOne(server.Url());
    ASSERT_EQ(r.failure, FailureKind::kNone) << "request " << i << ": " << r.error;
    EXPECT_EQ(r.status, 204);
  }
  EXPECT_EQ(server.requests(), 10);
  EXPECT_EQ(server.connections(), 10);
}

TEST_F(ConnectionReuseTest, ChunkedAndCloseDelimitedAnswers) {
  ScriptedServer server([](int i) {
    if (i % 2 == 0) {
      return ScriptedServer::Answer{
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"};
    }
    return ScriptedServer::Answer{"HTTP/1.0 503 Busy\r\nRetry-After: 7\r\n\r\ntry later", true};
  });
  for (int round = 0; round < 3; ++round) {
    const HttpResponse chunked = SendOne(server.Url());
    ASSERT_EQ(chunked.failure, FailureKind::kNone) << chunked.error;
    EXPECT_EQ(chunked.status, 200);
    EXPECT_EQ(chunked.body, "abcde");
    const HttpResponse until_close = SendOne(server.Url());
    ASSERT_EQ(until_close.failure, FailureKind::kNone) << until_close.error;
    EXPECT_EQ(until_close.status, 503);
    EXPECT_EQ(until_close.body, "try later");
    EXPECT_EQ(until_close.retry_after, "7");
  }
  EXPECT_EQ(server.connections(), 3);  // the chunked answer kept its connection for the next
}

// An answer that arrives while the request body is still being sent completes the request,
// and the connection (with the rest of the body still on it) is not reused.
TEST_F(ConnectionReuseTest, EarlyAnswerBeforeTheBodyIsSentIsNotReused) {
  ScriptedServer server(
      [](int) {
        return ScriptedServer::Answer{"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n"};
      },
      /*early=*/true);
  const HttpResponse big = SendOne(server.Url(), std::string(8 << 20, 'x'));
  ASSERT_EQ(big.failure, FailureKind::kNone) << big.error;
  EXPECT_EQ(big.status, 413);
  const HttpResponse next = SendOne(server.Url());
  ASSERT_EQ(next.failure, FailureKind::kNone) << next.error;
  EXPECT_EQ(next.status, 413);
  EXPECT_TRUE(WaitFor([&] { return server.connections() == 2; }, absl::Seconds(10)));
}

TEST_F(ConnectionReuseTest, GarbageAnswerIsAFailureNotReused) {
  ScriptedServer server(
      [](int i) { return ScriptedServer::Answer{i == 0 ? "HTTP/1.1 OK\r\n\r\n" : kNoContent}; });
  const HttpResponse bad = SendOne(server.Url());
  EXPECT_EQ(bad.failure, FailureKind::kConnect);
  EXPECT_EQ(bad.error, "malformed status line");
  const HttpResponse good = SendOne(server.Url());
  EXPECT_EQ(good.failure, FailureKind::kNone) << good.error;
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(ConnectionReuseTest, HeaderWithLineBreakIsRefusedBeforeSending) {
  ScriptedServer server([](int) { return ScriptedServer::Answer{kNoContent}; });
  const HttpResponse r = SendAndWait(
      *sender_, HttpRequest{.url = server.Url(), .headers = {{"X-Evil", "a\r\nX-Injected: 1"}}});
  EXPECT_EQ(r.failure, FailureKind::kInvalidTarget);
  EXPECT_EQ(server.requests(), 0);
}

}  // namespace
}  // namespace hookrelay::http
