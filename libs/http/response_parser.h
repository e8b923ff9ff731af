#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace hookrelay::http {

// Incremental parser of one HTTP/1.x response, fed the bytes as they arrive on a kept-alive
// connection. Handles interim 1xx responses (skipped), bodies delimited by Content-Length,
// chunked transfer coding or the end of the connection, and tells whether the connection
// may carry the next request. Keeps the status, the Retry-After header and the first
// `max_body` bytes of the body; the rest of the body is read and dropped. Not thread-safe.
class ResponseParser {
 public:
  enum class Result { kMore, kDone, kError };

  explicit ResponseParser(size_t max_body) : max_body_(max_body) {}

  // Consumes `data`. kDone once the final response is complete (bytes after it are
  // ignored and the connection must not be reused), kError on a malformed response.
  Result Feed(absl::string_view data);
  // The peer closed the connection: kDone if that ends a body delimited by the close,
  // kError otherwise.
  Result Finish();

  int status() const { return status_; }
  const std::string& body() const { return body_; }
  const std::string& retry_after() const { return retry_after_; }
  // Whether the connection may be reused after a kDone.
  bool keep_alive() const { return keep_alive_ && !trailing_bytes_; }
  // Why Feed or Finish returned kError.
  const std::string& error() const { return error_; }
  // True once any byte of a response arrived.
  bool started() const { return started_; }

 private:
  enum class State {
    kHead,
    kFixedBody,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailers,
    kToEof,
    kDone
  };

  Result ParseHead();
  Result StartBody();
  Result Fail(std::string why);
  void KeepBody(absl::string_view data);
  // Consumes up to remaining_ body bytes from `data`; true once remaining_ is 0.
  bool TakeCounted(absl::string_view& data);
  // Consumes a CRLF-terminated line from `data` into line_; true once it is complete.
  bool TakeLine(absl::string_view& data);

  const size_t max_body_;
  State state_ = State::kHead;
  std::string head_;  // the status line and headers, until the empty line
  std::string line_;  // a chunk-size or trailer line being assembled
  int status_ = 0;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool started_ = false;
  bool trailing_bytes_ = false;
  int64_t content_length_ = -1;
  uint64_t remaining_ = 0;
  std::string body_;
  std::string retry_after_;
  std::string error_;
};

}  // namespace hookrelay::http
