#pragma once

// HTTP/1.1 message syntax for HttpReceiver: parses request heads, decides body framing and
// connection persistence, serialises replies. Pure functions, thread-safe.

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/support/http_receiver.h"

namespace hookrelay::testing::http_wire {

struct RequestHead {
  std::string method;
  std::string target;
  std::string version;  // "HTTP/1.1"
  // Names lowercased, values trimmed; repeated fields joined with ", ".
  std::map<std::string, std::string> headers;
};

// Parses `head`: the request line and header fields, without the final blank line. Returns
// INVALID_ARGUMENT for a malformed request line or header field.
absl::StatusOr<RequestHead> ParseRequestHead(absl::string_view head);

struct BodyFraming {
  bool chunked = false;
  size_t content_length = 0;  // When not chunked.
};
// Returns INVALID_ARGUMENT for an unparsable Content-Length.
absl::StatusOr<BodyFraming> GetBodyFraming(const RequestHead& head);

// Parses a chunk-size line ("1a" or "1a;name=value"). Returns INVALID_ARGUMENT if not hex.
absl::StatusOr<size_t> ParseChunkSize(absl::string_view line);

// Whether the client waits for "100 Continue" before sending the body.
bool ExpectsContinue(const RequestHead& head);
// Whether the connection stays open after the response (HTTP/1.1 unless "Connection: close",
// HTTP/1.0 only with "Connection: keep-alive").
bool KeepAlive(const RequestHead& head);
// Whether the reply carries "Connection: close".
bool ClosesConnection(const Reply& reply);

// The full response: status line, headers (adding Content-Length unless present, and
// "Connection: close" if `close_connection`), blank line and body (none for HEAD, 1xx, 204,
// 304).
std::string SerializeReply(const Reply& reply, bool close_connection, bool head_request);

inline constexpr absl::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
inline constexpr absl::string_view kBadRequest =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

}  // namespace hookrelay::testing::http_wire
