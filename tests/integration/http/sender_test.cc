// HttpSender against real HTTP receivers on loopback: what goes on the wire, what comes back,
// how failures are classified, the SSRF guard on the connected address, and Stop().

#include "libs/http/sender.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/http/address_guard.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::http {
namespace {

using ::hookrelay::testing::FreeLoopbackPort;
using ::hookrelay::testing::HttpReceiver;
using ::hookrelay::testing::ReceivedRequest;
using ::hookrelay::testing::Reply;
using ::hookrelay::testing::WaitFor;
using ::testing::Contains;
using ::testing::Each;
using ::testing::Field;
using ::testing::Key;
using ::testing::Not;

constexpr absl::Duration kWait = absl::Seconds(20);

// Collects completions (which run on the sender thread).
class Completions {
 public:
  HttpSender::Completion Callback() {
    return [this](HttpResponse r) {
      std::lock_guard<std::mutex> lock(mu_);
      responses_.push_back(std::move(r));
    };
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return responses_.size();
  }
  bool WaitForCount(size_t n, absl::Duration timeout = kWait) const {
    return WaitFor([&] { return size() >= n; }, timeout);
  }
  std::vector<HttpResponse> responses() const {
    std::lock_guard<std::mutex> lock(mu_);
    return responses_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<HttpResponse> responses_;
};

class SenderTest : public ::testing::Test {
 protected:
  // A sender that may reach 127.0.0.0/8 over plain http, as in tests of the worker.
  static std::unique_ptr<HttpSender> LoopbackSender(SenderOptions options = {}) {
    options.allow_http = true;
    auto guard = AddressGuard::Create({"127.0.0.0/8"});
    EXPECT_TRUE(guard.ok()) << guard.status();
    auto sender = HttpSender::Start(options, *std::move(guard));
    EXPECT_TRUE(sender.ok()) << sender.status();
    return *std::move(sender);
  }

  static HttpRequest Post(std::string url, absl::Duration timeout = absl::Seconds(10)) {
    HttpRequest r;
    r.url = std::move(url);
    r.body = R"({"hello":"world"})";
    r.headers = {{"Content-Type", "application/json"}};
    r.timeout = timeout;
    return r;
  }

  // Sends one request and waits for its completion.
  static HttpResponse SendOne(HttpSender& sender, HttpRequest request) {
    Completions done;
    const std::string url = request.url;
    sender.Submit(std::move(request), done.Callback());
    EXPECT_TRUE(done.WaitForCount(1)) << "no completion for " << url;
    auto responses = done.responses();
    return responses.empty() ? HttpResponse{} : responses[0];
  }
};

TEST_F(SenderTest, PostsBodyAndHeaders) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 202, .body = "accepted"};
                       }));
  auto sender = LoopbackSender({.user_agent = "hookrelay/test"});
  HttpRequest req = Post(receiver->Url("/hooks/a?x=1"));
  req.headers.emplace_back("webhook-id", "dlv_1");
  req.headers.emplace_back("X-Custom", "value with spaces");

  const HttpResponse r = SendOne(*sender, req);

  EXPECT_EQ(r.failure, FailureKind::kNone) << r.error;
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "accepted");
  EXPECT_GT(r.duration, absl::ZeroDuration());
  ASSERT_EQ(receiver->RequestCount(), 1u);
  const ReceivedRequest got = receiver->Requests()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.path, "/hooks/a?x=1");
  EXPECT_EQ(got.body, R"({"hello":"world"})");
  EXPECT_EQ(got.headers.at("content-type"), "application/json");
  EXPECT_EQ(got.headers.at("content-length"), "17");
  EXPECT_EQ(got.headers.at("webhook-id"), "dlv_1");
  EXPECT_EQ(got.headers.at("x-custom"), "value with spaces");
  EXPECT_EQ(got.headers.at("user-agent"), "hookrelay/test");
  EXPECT_THAT(got.headers, Not(Contains(Key("expect"))));
  EXPECT_EQ(sender->InFlight(), 0);
}

TEST_F(SenderTest, ManyConcurrentRequestsAllComplete) {
  constexpr int kRequests = 256;
  // Every request is held until all of them have arrived, so they only complete if the
  // sender really has 256 in flight at once.
  HttpReceiver* self = nullptr;
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&self](const ReceivedRequest& r) {
                         const bool all = self->WaitForRequests(kRequests, absl::Seconds(30));
                         return Reply{.status = all ? 200 : 500, .body = r.path};
                       }));
  self = receiver.get();
  auto sender = LoopbackSender({.max_in_flight = kRequests});
  Completions done;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kRequests; ++i) {
    sender->Submit(Post(receiver->Url(absl::StrCat("/", i)), absl::Seconds(60)), done.Callback());
  }
  ASSERT_TRUE(done.WaitForCount(kRequests, absl::Seconds(60)));
  const absl::Duration took = absl::Now() - start;

  std::vector<std::string> paths;
  for (const HttpResponse& r : done.responses()) {
    EXPECT_EQ(r.failure, FailureKind::kNone) << r.error;
    EXPECT_EQ(r.status, 200);
    paths.push_back(r.body);
  }
  std::vector<std::string> want;
  for (int i = 0; i < kRequests; ++i) want.push_back(absl::StrCat("/", i));
  EXPECT_THAT(paths, ::testing::UnorderedElementsAreArray(want));
  EXPECT_EQ(sender->InFlight(), 0);
  RecordProperty("concurrent_256_ms", static_cast<int>(absl::ToInt64Milliseconds(took)));
}

TEST_F(SenderTest, RequestsBeyondMaxInFlightWaitTheirTurnWithoutStalling) {
  constexpr int kRequests = 200;
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  auto sender = LoopbackSender({.max_in_flight = 2});
  Completions done;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kRequests; ++i) sender->Submit(Post(receiver->Url()), done.Callback());
  ASSERT_TRUE(done.WaitForCount(kRequests));
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(done.responses(), Each(Field(&HttpResponse::status, 200)));
  EXPECT_EQ(receiver->RequestCount(), static_cast<size_t>(kRequests));
  // A freed slot goes to the next queued request at once: 100 rounds of 2 on loopback take
  // well under a second (they took 50 ms per round when a slot waited for the next poll).
  EXPECT_LT(took, absl::Seconds(2));
}

TEST_F(SenderTest, ResponseBodyIsKeptUpTo4KiB) {
  const std::string big(10000, 'x');
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&big](const ReceivedRequest& r) {
                         std::string body = big;
                         body[0] = 'A';
                         body[4095] = 'Z';
                         return Reply{.status = 500, .body = r.path == "/big" ? body : "short"};
                       }));
  auto sender = LoopbackSender();

  const HttpResponse r = SendOne(*sender, Post(receiver->Url("/big")));
  EXPECT_EQ(r.failure, FailureKind::kNone) << r.error;
  EXPECT_EQ(r.status, 500);
  ASSERT_EQ(r.body.size(), 4096u);
  EXPECT_EQ(r.body.front(), 'A');
  EXPECT_EQ(r.body.back(), 'Z');

  EXPECT_EQ(SendOne(*sender, Post(receiver->Url("/small"))).body, "short");
}

TEST_F(SenderTest, RetryAfterHeaderIsCaptured) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest& r) {
                         const std::string value =
                             r.path == "/date" ? "Wed, 21 Oct 2037 07:28:00 GMT" : "120";
                         return Reply{.status = 503, .headers = {{"Retry-After", value}}};
                       }));
  auto sender = LoopbackSender();

  const HttpResponse seconds = SendOne(*sender, Post(receiver->Url("/seconds")));
  EXPECT_EQ(seconds.status, 503);
  EXPECT_EQ(seconds.retry_after, "120");
  EXPECT_EQ(SendOne(*sender, Post(receiver->Url("/date"))).retry_after,
            "Wed, 21 Oct 2037 07:28:00 GMT");
}

TEST_F(SenderTest, NoRetryAfterLeavesItEmpty) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 429};
                       }));
  auto sender = LoopbackSender();
  const HttpResponse r = SendOne(*sender, Post(receiver->Url()));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retry_after, "");
}

TEST_F(SenderTest, SlowReceiverTimesOut) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kHang};
                       }));
  auto sender = LoopbackSender();
  const HttpResponse r = SendOne(*sender, Post(receiver->Url(), absl::Milliseconds(300)));
  EXPECT_EQ(r.failure, FailureKind::kTimeout) << r.error;
  EXPECT_EQ(r.status, 0);
  EXPECT_GE(r.duration, absl::Milliseconds(250));
  EXPECT_LT(r.duration, absl::Seconds(5));
  EXPECT_EQ(receiver->RequestCount(), 1u);
}

TEST_F(SenderTest, ResetConnectionIsAConnectFailure) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kReset};
                       }));
  auto sender = LoopbackSender();
  const HttpResponse r = SendOne(*sender, Post(receiver->Url()));
  EXPECT_EQ(r.failure, FailureKind::kConnect) << r.error;
  EXPECT_FALSE(r.error.empty());
}

TEST_F(SenderTest, RefusedConnectionIsAConnectFailure) {
  const int port = FreeLoopbackPort();
  ASSERT_NE(port, 0);
  auto sender = LoopbackSender();
  const HttpResponse r = SendOne(*sender, Post(absl::StrCat("http://127.0.0.1:", port, "/")));
  EXPECT_EQ(r.failure, FailureKind::kConnect) << r.error;
  EXPECT_EQ(r.status, 0);
}

TEST_F(SenderTest, GuardWithoutAllowListBlocksLoopback) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  ASSERT_OK_AND_ASSIGN(auto guard, AddressGuard::Create({}));
  ASSERT_OK_AND_ASSIGN(auto sender, HttpSender::Start({.allow_http = true}, guard));

  const HttpResponse r = SendOne(*sender, Post(receiver->Url()));
  EXPECT_EQ(r.failure, FailureKind::kBlocked) << r.error;
  EXPECT_THAT(r.error, ::testing::HasSubstr("SSRF"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(receiver->RequestCount(), 0u);
}

TEST_F(SenderTest, HostnameResolvingToLoopbackIsBlocked) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  ASSERT_OK_AND_ASSIGN(auto guard, AddressGuard::Create({}));
  ASSERT_OK_AND_ASSIGN(auto sender, HttpSender::Start({.allow_http = true}, guard));

  const HttpResponse r =
      SendOne(*sender, Post(absl::StrCat("http://localhost:", receiver->port(), "/")));
  EXPECT_EQ(r.failure, FailureKind::kBlocked) << r.error;
  EXPECT_EQ(receiver->RequestCount(), 0u);
}

TEST_F(SenderTest, AllowListOpensLoopbackForTheSameHostname) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  auto sender = LoopbackSender();
  const HttpResponse r =
      SendOne(*sender, Post(absl::StrCat("http://localhost:", receiver->port(), "/")));
  EXPECT_EQ(r.failure, FailureKind::kNone) << r.error;
  EXPECT_EQ(r.status, 200);
}

TEST_F(SenderTest, PlainHttpIsRefusedUnlessAllowed) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  ASSERT_OK_AND_ASSIGN(auto guard, AddressGuard::Create({"127.0.0.0/8"}));
  ASSERT_OK_AND_ASSIGN(auto sender, HttpSender::Start({.allow_http = false}, guard));

  const HttpResponse r = SendOne(*sender, Post(receiver->Url()));
  EXPECT_EQ(r.failure, FailureKind::kInvalidTarget) << r.error;
  EXPECT_EQ(receiver->RequestCount(), 0u);
}

TEST_F(SenderTest, MalformedUrlIsAnInvalidTarget) {
  auto sender = LoopbackSender();
  EXPECT_EQ(SendOne(*sender, Post("not a url")).failure, FailureKind::kInvalidTarget);
  EXPECT_EQ(SendOne(*sender, Post("ftp://127.0.0.1/x")).failure, FailureKind::kInvalidTarget);
}

TEST_F(SenderTest, RedirectIsNotFollowed) {
  HttpReceiver* self = nullptr;
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&self](const ReceivedRequest& r) {
                         if (r.path != "/start") return Reply{.status = 200};
                         return Reply{.status = 302, .headers = {{"Location", self->Url("/next")}}};
                       }));
  self = receiver.get();
  auto sender = LoopbackSender();

  const HttpResponse r = SendOne(*sender, Post(receiver->Url("/start")));
  EXPECT_EQ(r.failure, FailureKind::kNone) << r.error;
  EXPECT_EQ(r.status, 302);
  ASSERT_EQ(receiver->RequestCount(), 1u);
  EXPECT_EQ(receiver->Requests()[0].path, "/start");
}

// What the submitting thread allocated for a request (the transfer, its formatted bytes, the
// completion and what it captured) is freed on that thread by a later Submit(), not on the
// sender thread: glibc frees another thread's block under that thread's arena lock.
TEST_F(SenderTest, CompletedRequestsAreFreedOnTheSubmittingThread) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  auto sender = LoopbackSender();
  std::mutex mu;
  std::optional<std::thread::id> freed_on;
  Completions first;
  {
    std::shared_ptr<int> captured(new int(0), [&](int* p) {
      delete p;
      std::lock_guard<std::mutex> lock(mu);
      freed_on = std::this_thread::get_id();
    });
    HttpSender::Completion cb = first.Callback();
    sender->Submit(Post(receiver->Url()), [cb, captured](HttpResponse r) { cb(std::move(r)); });
  }
  ASSERT_TRUE(first.WaitForCount(1));
  EXPECT_EQ(first.responses()[0].status, 200);
  // The sender hands completed transfers back between loop turns; a few more submissions
  // give it the turns.
  for (int i = 0; i < 5; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (freed_on.has_value()) break;
    }
    EXPECT_EQ(SendOne(*sender, Post(receiver->Url())).status, 200);
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_TRUE(freed_on.has_value()) << "the first request's completion was never freed";
  EXPECT_EQ(*freed_on, std::this_thread::get_id());
}

TEST_F(SenderTest, StopWithoutDeadlineAbortsHangingRequests) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kHang};
                       }));
  auto sender = LoopbackSender();
  Completions done;
  for (int i = 0; i < 3; ++i) {
    sender->Submit(Post(receiver->Url(), absl::Seconds(30)), done.Callback());
  }
  ASSERT_TRUE(receiver->WaitForRequests(3, kWait));
  EXPECT_EQ(done.size(), 0u);
  EXPECT_EQ(sender->InFlight(), 3);

  const absl::Time start = absl::Now();
  sender->Stop(absl::ZeroDuration());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  ASSERT_EQ(done.size(), 3u);  // Stop() returns after every completion ran
  EXPECT_THAT(done.responses(), Each(Field(&HttpResponse::failure, FailureKind::kAborted)));
  EXPECT_EQ(sender->InFlight(), 0);

  // Once stopped, a submission completes at once, aborted.
  Completions late;
  sender->Submit(Post(receiver->Url()), late.Callback());
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late.responses()[0].failure, FailureKind::kAborted);
}

TEST_F(SenderTest, StopWithDeadlineLetsRequestsInFlightFinish) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 204, .delay = absl::Milliseconds(300)};
                       }));
  auto sender = LoopbackSender();
  Completions done;
  for (int i = 0; i < 4; ++i) sender->Submit(Post(receiver->Url()), done.Callback());
  ASSERT_TRUE(receiver->WaitForRequests(4, kWait));

  sender->Stop(absl::Seconds(20));

  ASSERT_EQ(done.size(), 4u);
  EXPECT_THAT(done.responses(), Each(Field(&HttpResponse::status, 204)));
  EXPECT_THAT(done.responses(), Each(Field(&HttpResponse::failure, FailureKind::kNone)));
}

TEST_F(SenderTest, StopRightAfterSubmitNeverLosesACompletion) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  for (int round = 0; round < 50; ++round) {
    auto sender = LoopbackSender();
    Completions done;
    for (int i = 0; i < 5; ++i) sender->Submit(Post(receiver->Url()), done.Callback());
    sender->Stop(absl::ZeroDuration());
    ASSERT_EQ(done.size(), 5u) << "round " << round;
    EXPECT_EQ(sender->InFlight(), 0);
  }
}

}  // namespace
}  // namespace hookrelay::http
