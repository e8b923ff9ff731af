#pragma once

// A real HTTP/1.1 server on 127.0.0.1:<ephemeral port> standing in for a webhook subscriber:
// it records every request and answers as the test's handler says: any status, headers and
// body, after a delay, or not at all (reset or hang).
//
//   ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest& r) {
//     return Reply{.status = 503, .headers = {{"Retry-After", "1"}}};
//   }));
//   ... deliver to receiver->Url("/hook") ...
//   ASSERT_TRUE(receiver->WaitForRequests(1, absl::Seconds(10)));
//   EXPECT_EQ(receiver->Requests()[0].headers.at("webhook-id"), delivery_id);
//
// One thread per connection, so a delayed or hanging reply never holds up other connections
// (hundreds of concurrent keep-alive connections are fine). Request bodies may be framed by
// Content-Length or chunked; `Expect: 100-continue` is answered with `100 Continue`.
//
// Thread-safe: all methods may be called from any thread while requests are being served.
// The handler runs on the connection's thread, concurrently with other connections' handlers.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hookrelay::testing {

struct ReceivedRequest {
  std::string method;
  // The request target as sent: path and query, e.g. "/hook?x=1".
  std::string path;
  std::string body;
  // Names lowercased; repeated fields joined with ", ".
  std::map<std::string, std::string> headers;
  // When the whole request (head and body) had arrived.
  absl::Time received_at;
};

struct Reply {
  int status = 200;
  std::string body;
  // Sent as given. Content-Length is added unless present; "Connection: close" closes the
  // connection after the reply.
  std::vector<std::pair<std::string, std::string>> headers;
  // Waited before answering (or before the fault); does not hold up other connections.
  absl::Duration delay = absl::ZeroDuration();
  enum class Fault {
    kNone,
    // Close the connection with a TCP RST (SO_LINGER 0) without answering.
    kReset,
    // Never answer; keep the connection open until the client closes it or the receiver stops.
    kHang,
  };
  Fault fault = Fault::kNone;
};

// Decides the reply to a request. Runs after the request has been recorded.
using Handler = std::function<Reply(const ReceivedRequest&)>;

class HttpReceiver {
 public:
  // Listens on 127.0.0.1 on an ephemeral port. A null `handler` answers 200 with an empty
  // body. Returns INTERNAL if the socket cannot be set up.
  static absl::StatusOr<std::unique_ptr<HttpReceiver>> Start(Handler handler = nullptr);

  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;
  // Stops promptly: closes every connection, including delayed and hanging ones, and joins
  // all threads. A handler still running is waited for.
  ~HttpReceiver();

  int port() const;
  // "http://127.0.0.1:<port><path>".
  std::string Url(absl::string_view path = "/") const;

  // Replaces the handler for requests that arrive from now on (null: 200, empty body).
  void SetHandler(Handler handler);

  // The requests received so far, in arrival order.
  std::vector<ReceivedRequest> Requests() const;
  size_t RequestCount() const;
  // Whether at least `n` requests have been received within `timeout`. Returns early (false
  // unless enough arrived) once the receiver is being destroyed, so a handler may call it.
  bool WaitForRequests(size_t n, absl::Duration timeout) const;
  // Forgets the requests received so far.
  void Clear();

 private:
  class Impl;
  explicit HttpReceiver(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace hookrelay::testing
