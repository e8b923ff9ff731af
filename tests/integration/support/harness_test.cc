// Tests of the integration-test harness itself: status matchers, polling, the private
// redis-server, the HTTP receiver (spoken to with libcurl, as the worker does) and child
// processes.

#include <curl/curl.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "tests/support/http_receiver.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;
using ::testing::StringMatchResultListener;

// ---------------------------------------------------------------------------------------------
// Status matchers.

TEST(StatusMatchersTest, StatusIsMatchesCodeAndMessageOfStatus) {
  const absl::Status status = absl::NotFoundError("hook wh_1: not found");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("wh_1")));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, "hook wh_1: not found"));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kInternal)));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kNotFound, HasSubstr("wh_2"))));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
}

TEST(StatusMatchersTest, StatusIsAndIsOkWorkOnStatusOr) {
  const absl::StatusOr<int> error = absl::InvalidArgumentError("webhook.url: must use https");
  EXPECT_THAT(error, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("webhook.url")));
  EXPECT_THAT(error, Not(IsOk()));
  const absl::StatusOr<int> value = 42;
  EXPECT_THAT(value, StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(value, IsOk());
  EXPECT_THAT(value, IsOkAndHolds(42));
  EXPECT_THAT(value, IsOkAndHolds(Ge(40)));
  EXPECT_THAT(error, Not(IsOkAndHolds(42)));
  EXPECT_OK(value);
  EXPECT_OK(absl::OkStatus());
}

TEST(StatusMatchersTest, ExplanationPrintsActualStatus) {
  const absl::StatusOr<int> error = absl::UnavailableError("redis: connection refused");
  StringMatchResultListener listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(StatusIs(absl::StatusCode::kOk), error, &listener));
  EXPECT_THAT(listener.str(), HasSubstr("UNAVAILABLE: redis: connection refused"));
}

TEST(StatusMatchersTest, FailedAssertionsPrintActualStatus) {
  EXPECT_NONFATAL_FAILURE(EXPECT_OK(absl::InternalError("boom")), "INTERNAL: boom");
  EXPECT_FATAL_FAILURE(ASSERT_OK(absl::DataLossError("lost")), "DATA_LOSS: lost");
  EXPECT_FATAL_FAILURE(
      {
        ASSERT_OK_AND_ASSIGN(const int unused, absl::StatusOr<int>(absl::NotFoundError("gone")));
        (void)unused;
      },
      "NOT_FOUND: gone");
}

TEST(StatusMatchersTest, AssertOkAndAssignMovesValue) {
  ASSERT_OK_AND_ASSIGN(auto value, absl::StatusOr<std::unique_ptr<int>>(std::make_unique<int>(7)));
  EXPECT_EQ(*value, 7);
  std::string existing;
  ASSERT_OK_AND_ASSIGN(existing, absl::StatusOr<std::string>("assigned"));
  EXPECT_EQ(existing, "assigned");
}

// ---------------------------------------------------------------------------------------------
// WaitFor and FreeLoopbackPort.

TEST(WaitTest, WaitForReturnsTrueOnceConditionHolds) {
  int calls = 0;
  EXPECT_TRUE(WaitFor([&] { return ++calls >= 3; }, absl::Seconds(10), absl::Milliseconds(1)));
  EXPECT_EQ(calls, 3);
}

TEST(WaitTest, WaitForReturnsFalseAfterTimeout) {
  const absl::Time start = absl::Now();
  EXPECT_FALSE(WaitFor([] { return false; }, absl::Milliseconds(50)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST(WaitTest, FreeLoopbackPortIsUsable) {
  const int port = FreeLoopbackPort();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

// ---------------------------------------------------------------------------------------------
// RedisServer.

class RedisServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override { ASSERT_OK(redis_->FlushAll()); }

  inline static std::unique_ptr<RedisServer> redis_;
};

TEST_F(RedisServerTest, AnswersPingOnItsPort) {
  EXPECT_GT(redis_->port(), 0);
  // A cluster's URL names every node, the first one first.
  EXPECT_THAT(redis_->url(), StartsWith(absl::StrCat("redis://127.0.0.1:", redis_->port())));
  EXPECT_GT(redis_->pid(), 0);
  EXPECT_THAT(redis_->Command({"PING"}), IsOkAndHolds("PONG"));
}

TEST_F(RedisServerTest, CommandRendersRepliesAsText) {
  EXPECT_THAT(redis_->Command({"SET", "key", "value with spaces"}), IsOkAndHolds("OK"));
  EXPECT_THAT(redis_->Command({"GET", "key"}), IsOkAndHolds("value with spaces"));
  EXPECT_THAT(redis_->Command({"INCRBY", "counter", "-5"}), IsOkAndHolds("-5"));
  EXPECT_THAT(redis_->Command({"GET", "missing"}), IsOkAndHolds("(nil)"));
  EXPECT_THAT(redis_->Command({"RPUSH", "list", "a", "b", "c"}), IsOkAndHolds("3"));
  EXPECT_THAT(redis_->Command({"LRANGE", "list", "0", "-1"}), IsOkAndHolds("a\nb\nc"));
}

TEST_F(RedisServerTest, CommandErrorIsInternalWithRedisMessage) {
  EXPECT_THAT(redis_->Command({"NO_SUCH_COMMAND"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("unknown command")));
  ASSERT_OK(redis_->Command({"SET", "key", "value"}));
  EXPECT_THAT(redis_->Command({"XLEN", "key"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("WRONGTYPE")));
}

TEST_F(RedisServerTest, FlushAllClearsKeys) {
  ASSERT_OK(redis_->Command({"SET", "a", "1"}));
  ASSERT_OK(redis_->Command({"XADD", "hookrelay:stream", "*", "task", "x"}));
  ASSERT_THAT(redis_->Command({"EXISTS", "a"}), IsOkAndHolds("1"));
  ASSERT_OK(redis_->FlushAll());
  // On a cluster the keys lie on different masters: each is gone.
  EXPECT_THAT(redis_->Command({"EXISTS", "a"}), IsOkAndHolds("0"));
  EXPECT_THAT(redis_->Command({"EXISTS", "hookrelay:stream"}), IsOkAndHolds("0"));
}

// The cluster the suite runs on with HOOKRELAY_TEST_REDIS=cluster, and the chaos the cluster
// e2e tests cause: a master killed and its replica promoted, slots moved between masters.
TEST(RedisClusterTest, FailsOverAndMovesSlotsWithTheirKeys) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start({.masters = 3, .replicas = 1}));
  ASSERT_OK_AND_ASSIGN(auto masters, redis->Masters());
  ASSERT_EQ(masters.size(), 3u);
  for (const auto& [address, slots] : masters) EXPECT_NEAR(slots, 16384 / 3, 1) << address;
  // Every slot's key is reachable through the first node (MOVED followed).
  for (int i = 0; i < 30; ++i) ASSERT_OK(redis->Command({"SET", absl::StrCat("k", i), "v"}));

  // The master of "k0" dies; its replica serves the slot (replication is asynchronous, so
  // the value may or may not have made it: WAIT is what makes it certain).
  ASSERT_OK_AND_ASSIGN(std::string slot, redis->Command({"CLUSTER", "KEYSLOT", "k0"}));
  ASSERT_OK_AND_ASSIGN(std::string victim, redis->KillMasterOf(std::stoi(slot)));
  EXPECT_OK(redis->Command({"SET", "k0", "after"}));
  ASSERT_OK_AND_ASSIGN(masters, redis->Masters());
  EXPECT_EQ(masters.size(), 3u);  // the promoted replica
  for (const auto& m : masters) EXPECT_NE(m.first, victim);

  // The old master comes back as a replica; then 100 slots, keys and all, move (keys written
  // before the kill may have died with it: replication is asynchronous).
  ASSERT_OK(redis->StartAgain());
  for (int i = 30; i < 60; ++i) ASSERT_OK(redis->Command({"SET", absl::StrCat("k", i), "v"}));
  ASSERT_OK(redis->MoveSlots(std::stoi(slot), 100));
  ASSERT_OK_AND_ASSIGN(masters, redis->Masters());
  int total = 0;
  for (const auto& m : masters) total += m.second;
  EXPECT_EQ(total, 16384);
  EXPECT_THAT(redis->Command({"GET", "k0"}), IsOkAndHolds("after"));
  for (int i = 30; i < 60; ++i) {
    EXPECT_THAT(redis->Command({"GET", absl::StrCat("k", i)}), IsOkAndHolds("v"));
  }
}

TEST(RedisServerLifecycleTest, RestartWithAppendOnlyKeepsDataOnSamePort) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start({.append_only = true}));
  const int port = redis->port();
  const pid_t first_pid = redis->pid();
  ASSERT_OK(redis->Command({"SET", "survivor", "yes"}));
  ASSERT_OK(redis->Command({"XADD", "hookrelay:stream", "*", "task", "x"}));
  ASSERT_OK(redis->Restart());
  EXPECT_EQ(redis->port(), port);
  EXPECT_NE(redis->pid(), first_pid);
  EXPECT_THAT(redis->Command({"GET", "survivor"}), IsOkAndHolds("yes"));
  EXPECT_THAT(redis->Command({"XLEN", "hookrelay:stream"}), IsOkAndHolds("1"));
}

TEST(RedisServerLifecycleTest, StopMakesCommandsUnavailableUntilStartAgain) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  ASSERT_OK(redis->Stop());
  EXPECT_THAT(redis->Command({"PING"}), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(redis->Stop());  // Stopping twice is fine.
  ASSERT_OK(redis->StartAgain());
  EXPECT_THAT(redis->StartAgain(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(redis->Command({"PING"}), IsOkAndHolds("PONG"));
}

TEST(RedisServerLifecycleTest, DestructorKillsServer) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  const pid_t pid = redis->pid();
  ASSERT_EQ(kill(pid, 0), 0);
  redis.reset();
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

// ---------------------------------------------------------------------------------------------
// HttpReceiver, spoken to with libcurl.

[[maybe_unused]] const CURLcode kCurlGlobalInit = curl_global_init(CURL_GLOBAL_ALL);

struct CurlEasyCleanup {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct CurlSlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct CurlMultiCleanup {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using CurlPtr = std::unique_ptr<CURL, CurlEasyCleanup>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistFree>;
using CurlMultiPtr = std::unique_ptr<CURLM, CurlMultiCleanup>;

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

template <typename T>
void SetOpt(CURL* curl, CURLoption option, T value) {
  ASSERT_EQ(curl_easy_setopt(curl, option, value), CURLE_OK) << "curl option " << option;
}

// One POST: its options, and its outcome once performed.
struct Post {
  std::string url;
  std::string body;
  std::vector<std::string> headers;
  absl::Duration timeout = absl::Seconds(30);

  CURLcode code = CURLE_OK;
  long status = 0;
  long connects = 0;
  std::string response_body;
  std::string response_headers;

  // Configures `curl` for this POST; the Post must outlive the transfer.
  void Configure(CURL* curl) {
    header_list.reset();
    for (const std::string& header : headers) {
      header_list.reset(curl_slist_append(header_list.release(), header.c_str()));
    }
    SetOpt(curl, CURLOPT_URL, url.c_str());
    SetOpt(curl, CURLOPT_POST, 1L);
    SetOpt(curl, CURLOPT_POSTFIELDS, body.data());
    SetOpt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    SetOpt(curl, CURLOPT_HTTPHEADER, header_list.get());
    SetOpt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
    SetOpt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 600'000L);  // Only a real 100 helps.
    SetOpt(curl, CURLOPT_NOSIGNAL, 1L);
    SetOpt(curl, CURLOPT_WRITEFUNCTION, &AppendToString);
    SetOpt(curl, CURLOPT_WRITEDATA, &response_body);
    SetOpt(curl, CURLOPT_HEADERFUNCTION, &AppendToString);
    SetOpt(curl, CURLOPT_HEADERDATA, &response_headers);
  }

  // Records the outcome of a finished transfer.
  void Finish(CURL* curl, CURLcode result) {
    code = result;
    EXPECT_EQ(curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status), CURLE_OK);
    EXPECT_EQ(curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects), CURLE_OK);
  }

  // Performs this POST on `curl` (reusing its connection if any).
  Post& PerformOn(CURL* curl) {
    Configure(curl);
    Finish(curl, curl_easy_perform(curl));
    return *this;
  }

  Post& Perform() {
    CurlPtr curl(curl_easy_init());
    return PerformOn(curl.get());
  }

  CurlSlistPtr header_list;
};

TEST(HttpReceiverTest, RecordsPostAndAnswersConfiguredReply) {
  ASSERT_OK_AND_ASSIGN(
      auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
        return Reply{.status = 201, .body = "created", .headers = {{"X-Reply", "yes"}}};
      }));
  const absl::Time before = absl::Now();
  Post post{.url = receiver->Url("/hooks/a?x=1"),
            .body = R"({"type":"review_request.published"})",
            .headers = {"Content-Type: application/json", "Webhook-Id: dlv_1"}};
  post.Perform();
  ASSERT_EQ(post.code, CURLE_OK) << curl_easy_strerror(post.code);
  EXPECT_EQ(post.status, 201);
  EXPECT_EQ(post.response_body, "created");
  EXPECT_THAT(post.response_headers, HasSubstr("X-Reply: yes\r\n"));

  ASSERT_EQ(receiver->RequestCount(), 1);
  const ReceivedRequest request = receiver->Requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/hooks/a?x=1");
  EXPECT_EQ(request.body, post.body);
  EXPECT_THAT(request.headers, ::testing::Contains(Pair("content-type", "application/json")));
  EXPECT_THAT(request.headers, ::testing::Contains(Pair("webhook-id", "dlv_1")));
  EXPECT_THAT(request.headers,
              ::testing::Contains(Pair("host", absl::StrCat("127.0.0.1:", receiver->port()))));
  EXPECT_GE(request.received_at, before);
  EXPECT_LE(request.received_at, absl::Now());
  receiver->Clear();
  EXPECT_EQ(receiver->RequestCount(), 0);
}

TEST(HttpReceiverTest, DefaultHandlerAnswers200AndKeepsConnectionAlive) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  CurlPtr curl(curl_easy_init());
  for (int i = 0; i < 3; ++i) {
    Post post{.url = receiver->Url(absl::StrCat("/", i)), .body = absl::StrCat("body ", i)};
    post.PerformOn(curl.get());
    ASSERT_EQ(post.code, CURLE_OK) << curl_easy_strerror(post.code);
    EXPECT_EQ(post.status, 200);
    EXPECT_EQ(post.response_body, "");
    EXPECT_EQ(post.connects, i == 0 ? 1 : 0) << "request " << i << " opened a new connection";
  }
  EXPECT_EQ(receiver->RequestCount(), 3);
  EXPECT_EQ(receiver->Requests()[2].body, "body 2");
}

TEST(HttpReceiverTest, SetHandlerChangesLaterReplies) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  receiver->SetHandler([](const ReceivedRequest&) { return Reply{.status = 410}; });
  Post post{.url = receiver->Url()};
  EXPECT_EQ(post.Perform().status, 410);
}

TEST(HttpReceiverTest, AnswersExpectContinueAndReadsLargeBody) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  Post post{.url = receiver->Url("/big"),
            .body = std::string(3 << 20, 'x'),
            .headers = {"Expect: 100-continue"},
            .timeout = absl::Seconds(10)};
  post.body[12345] = 'y';
  post.Perform();
  ASSERT_EQ(post.code, CURLE_OK) << curl_easy_strerror(post.code);
  EXPECT_EQ(post.status, 200);
  ASSERT_EQ(receiver->RequestCount(), 1);
  EXPECT_EQ(receiver->Requests()[0].headers.at("expect"), "100-continue");
  EXPECT_TRUE(receiver->Requests()[0].body == post.body) << "body differs";
}

TEST(HttpReceiverTest, ReadsChunkedBody) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  Post post{.url = receiver->Url(),
            .body = std::string(100'000, 'c'),
            .headers = {"Transfer-Encoding: chunked"}};
  post.Perform();
  ASSERT_EQ(post.code, CURLE_OK) << curl_easy_strerror(post.code);
  ASSERT_EQ(receiver->RequestCount(), 1);
  EXPECT_EQ(receiver->Requests()[0].headers.at("transfer-encoding"), "chunked");
  EXPECT_EQ(receiver->Requests()[0].body.size(), post.body.size());
}

TEST(HttpReceiverTest, DelayDoesNotBlockOtherConnectionsAndDestructorIsPrompt) {
  ASSERT_OK_AND_ASSIGN(
      auto receiver, HttpReceiver::Start([](const ReceivedRequest& request) {
        return Reply{.delay = request.path == "/slow" ? absl::Minutes(10) : absl::ZeroDuration()};
      }));
  Post slow{.url = receiver->Url("/slow"), .timeout = absl::Minutes(5)};
  std::future<void> slow_done = std::async(std::launch::async, [&] { slow.Perform(); });
  ASSERT_TRUE(receiver->WaitForRequests(1, absl::Seconds(10)));

  Post fast{.url = receiver->Url("/fast")};
  fast.Perform();
  ASSERT_EQ(fast.code, CURLE_OK) << curl_easy_strerror(fast.code);
  EXPECT_EQ(fast.status, 200);
  EXPECT_EQ(slow_done.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  const absl::Time stop_start = absl::Now();
  receiver.reset();
  EXPECT_LT(absl::Now() - stop_start, absl::Seconds(5));
  slow_done.wait();
  EXPECT_NE(slow.code, CURLE_OK) << "the slow request got an answer";
}

TEST(HttpReceiverTest, ServesManyConcurrentConnections) {
  constexpr size_t kInFlight = 256;
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  // Each reply waits until all requests have arrived, so they must all be in flight at once.
  receiver->SetHandler([&receiver](const ReceivedRequest&) {
    return Reply{.status = receiver->WaitForRequests(kInFlight, absl::Seconds(60)) ? 200 : 503};
  });
  CurlMultiPtr multi(curl_multi_init());
  std::vector<Post> posts(kInFlight);
  std::vector<CurlPtr> handles;
  for (size_t i = 0; i < kInFlight; ++i) {
    posts[i].url = receiver->Url(absl::StrCat("/", i));
    handles.emplace_back(curl_easy_init());
    posts[i].Configure(handles.back().get());
    SetOpt(handles.back().get(), CURLOPT_PRIVATE, &posts[i]);
    ASSERT_EQ(curl_multi_add_handle(multi.get(), handles.back().get()), CURLM_OK);
  }
  int running = 0;
  ASSERT_EQ(curl_multi_perform(multi.get(), &running), CURLM_OK);
  while (running > 0) {
    ASSERT_EQ(curl_multi_poll(multi.get(), nullptr, 0, 1000, nullptr), CURLM_OK);
    ASSERT_EQ(curl_multi_perform(multi.get(), &running), CURLM_OK);
  }
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
    Post* post = nullptr;
    ASSERT_EQ(curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &post), CURLE_OK);
    post->Finish(message->easy_handle, message->data.result);
  }
  for (const Post& post : posts) {
    EXPECT_EQ(post.code, CURLE_OK) << post.url << ": " << curl_easy_strerror(post.code);
    EXPECT_EQ(post.status, 200) << post.url;
  }
  for (CurlPtr& handle : handles) curl_multi_remove_handle(multi.get(), handle.get());
  EXPECT_EQ(receiver->RequestCount(), kInFlight);
}

TEST(HttpReceiverTest, ResetFaultGivesClientConnectionError) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kReset};
                       }));
  Post post{.url = receiver->Url("/reset"), .body = "payload"};
  post.Perform();
  EXPECT_THAT(post.code, AnyOf(Eq(CURLE_RECV_ERROR), Eq(CURLE_SEND_ERROR), Eq(CURLE_GOT_NOTHING)))
      << curl_easy_strerror(post.code);
  EXPECT_EQ(receiver->RequestCount(), 1) << "a request is recorded before its fault";
}

TEST(HttpReceiverTest, HangFaultMakesClientTimeOutAndDestructorIsPrompt) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.fault = Reply::Fault::kHang};
                       }));
  Post short_wait{.url = receiver->Url("/hang"), .timeout = absl::Milliseconds(300)};
  short_wait.Perform();
  EXPECT_EQ(short_wait.code, CURLE_OPERATION_TIMEDOUT) << curl_easy_strerror(short_wait.code);

  Post long_wait{.url = receiver->Url("/hang"), .timeout = absl::Minutes(5)};
  std::future<void> long_done = std::async(std::launch::async, [&] { long_wait.Perform(); });
  ASSERT_TRUE(receiver->WaitForRequests(2, absl::Seconds(10)));
  const absl::Time stop_start = absl::Now();
  receiver.reset();
  EXPECT_LT(absl::Now() - stop_start, absl::Seconds(5));
  long_done.wait();
  EXPECT_EQ(long_wait.code, CURLE_GOT_NOTHING) << curl_easy_strerror(long_wait.code);
}

TEST(HttpReceiverTest, ConnectionCloseReplyClosesConnection) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.headers = {{"Connection", "close"}}};
                       }));
  CurlPtr curl(curl_easy_init());
  Post first{.url = receiver->Url()};
  Post second{.url = receiver->Url()};
  EXPECT_EQ(first.PerformOn(curl.get()).status, 200);
  EXPECT_EQ(second.PerformOn(curl.get()).status, 200);
  EXPECT_EQ(second.connects, 1) << "the closed connection was reused";
}

// ---------------------------------------------------------------------------------------------
// Process.

TEST(ProcessTest, CapturesOutputAndExitCode) {
  ASSERT_OK_AND_ASSIGN(
      auto process, Process::Start({.binary = "sh",
                                    .args = {"-c", "echo to-stdout; echo to-stderr >&2; exit 3"}}));
  EXPECT_THAT(process->Wait(absl::Seconds(10)), IsOkAndHolds(3));
  EXPECT_FALSE(process->Running());
  EXPECT_THAT(process->Output(), AllOf(HasSubstr("to-stdout\n"), HasSubstr("to-stderr\n")));
}

TEST(ProcessTest, PassesArgumentsAndEnvironment) {
  ASSERT_OK_AND_ASSIGN(
      auto process,
      Process::Start({.binary = "/bin/sh",
                      .args = {"-c", "echo \"$0 $HR_TEST_VALUE $HOME\"; exec sleep 600", "arg0"},
                      .env = {{"HR_TEST_VALUE", "from-env"}, {"HOME", "/overridden"}}}));
  EXPECT_TRUE(process->WaitForOutput("arg0 from-env /overridden", absl::Seconds(10)))
      << process->Output();
  EXPECT_TRUE(process->Running());
}

TEST(ProcessTest, SignalKillGives128Plus9) {
  ASSERT_OK_AND_ASSIGN(auto process, Process::Start({.binary = "sleep", .args = {"600"}}));
  EXPECT_TRUE(process->Running());
  EXPECT_THAT(process->Wait(absl::Milliseconds(20)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("still running")));
  process->Signal(SIGKILL);
  EXPECT_THAT(process->Wait(absl::Seconds(10)), IsOkAndHolds(128 + SIGKILL));
  EXPECT_FALSE(process->Running());
}

TEST(ProcessTest, StartFailsForMissingBinary) {
  EXPECT_THAT(Process::Start({.binary = "/nonexistent/delivery-worker"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/delivery-worker")));
  EXPECT_THAT(Process::Start({.binary = "hookrelay-no-such-binary"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not found on PATH")));
}

TEST(ProcessTest, DestructorKillsAndReapsChild) {
  ASSERT_OK_AND_ASSIGN(auto process, Process::Start({.binary = "sleep", .args = {"600"}}));
  const pid_t pid = process->pid();
  ASSERT_EQ(kill(pid, 0), 0);
  process.reset();
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(ProcessTest, BinaryPathIsUnderBuildDir) {
  const char* build_dir = std::getenv("HOOKRELAY_BUILD_DIR");
  const std::string path = BinaryPath("services/worker/delivery-worker");
  EXPECT_TRUE(absl::EndsWith(path, "/services/worker/delivery-worker")) << path;
  if (build_dir != nullptr) {
    EXPECT_TRUE(absl::StartsWith(path, build_dir)) << path;
  }
}

}  // namespace
}  // namespace hookrelay::testing
