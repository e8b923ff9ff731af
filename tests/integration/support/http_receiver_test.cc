// Tests of the integration-test harness's HTTP receiver, spoken to with libcurl as the worker
// does: replies, keep-alive, Expect: 100-continue, chunked bodies, delays, faults.

#include "tests/support/http_receiver.h"

#include <curl/curl.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::testing {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Pair;

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

}  // namespace
}  // namespace hookrelay::testing
