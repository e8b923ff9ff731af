#include "tests/support/http_wire.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hookrelay::testing::http_wire {
namespace {

absl::string_view ReasonPhrase(int status) {
  static constexpr std::pair<int, absl::string_view> kReasons[] = {
      {100, "Continue"},
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {304, "Not Modified"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {408, "Request Timeout"},
      {410, "Gone"},
      {413, "Content Too Large"},
      {429, "Too Many Requests"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
  };
  for (const auto& [code, reason] : kReasons) {
    if (code == status) return reason;
  }
  return "Status";
}

absl::Status ParseRequestLine(absl::string_view line, RequestHead& head) {
  std::vector<std::string> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      !absl::StartsWith(parts[2], "HTTP/1.")) {
    return absl::InvalidArgumentError(absl::StrCat("request line: malformed: ", line));
  }
  head.method = std::move(parts[0]);
  head.target = std::move(parts[1]);
  head.version = std::move(parts[2]);
  return absl::OkStatus();
}

absl::Status ParseHeaderField(absl::string_view line, RequestHead& head) {
  const size_t colon = line.find(':');
  if (colon == 0 || colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("header field: malformed: ", line));
  }
  const std::string name = absl::AsciiStrToLower(line.substr(0, colon));
  const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  auto [it, inserted] = head.headers.try_emplace(name, value);
  if (!inserted) absl::StrAppend(&it->second, ", ", value);
  return absl::OkStatus();
}

bool HeaderHasToken(const RequestHead& head, absl::string_view name, absl::string_view token) {
  auto it = head.headers.find(std::string(name));
  if (it == head.headers.end()) return false;
  for (absl::string_view item : absl::StrSplit(it->second, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(item), token)) return true;
  }
  return false;
}

bool HasHeader(const Reply& reply, absl::string_view name) {
  for (const auto& [key, value] : reply.headers) {
    if (absl::EqualsIgnoreCase(key, name)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<RequestHead> ParseRequestHead(absl::string_view head) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  RequestHead result;
  absl::Status status = ParseRequestLine(lines[0], result);
  for (size_t i = 1; status.ok() && i < lines.size(); ++i) {
    status = ParseHeaderField(lines[i], result);
  }
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<BodyFraming> GetBodyFraming(const RequestHead& head) {
  BodyFraming framing;
  if (HeaderHasToken(head, "transfer-encoding", "chunked")) {
    framing.chunked = true;
    return framing;
  }
  auto it = head.headers.find("content-length");
  if (it != head.headers.end() && !absl::SimpleAtoi(it->second, &framing.content_length)) {
    return absl::InvalidArgumentError(absl::StrCat("content-length: not a number: ", it->second));
  }
  return framing;
}

absl::StatusOr<size_t> ParseChunkSize(absl::string_view line) {
  const absl::string_view hex = absl::StripAsciiWhitespace(line.substr(0, line.find(';')));
  uint64_t size = 0;
  if (hex.empty() || hex.size() > 15 || !absl::SimpleHexAtoi(hex, &size)) {
    return absl::InvalidArgumentError(absl::StrCat("chunk size: not hex: ", line));
  }
  return static_cast<size_t>(size);
}

bool ExpectsContinue(const RequestHead& head) {
  return head.version != "HTTP/1.0" && HeaderHasToken(head, "expect", "100-continue");
}

bool KeepAlive(const RequestHead& head) {
  if (head.version == "HTTP/1.0") return HeaderHasToken(head, "connection", "keep-alive");
  return !HeaderHasToken(head, "connection", "close");
}

bool ClosesConnection(const Reply& reply) {
  for (const auto& [key, value] : reply.headers) {
    if (absl::EqualsIgnoreCase(key, "connection") && absl::EqualsIgnoreCase(value, "close")) {
      return true;
    }
  }
  return false;
}

std::string SerializeReply(const Reply& reply, bool close_connection, bool head_request) {
  const bool bodiless =
      (reply.status >= 100 && reply.status < 200) || reply.status == 204 || reply.status == 304;
  std::string out =
      absl::StrCat("HTTP/1.1 ", reply.status, " ", ReasonPhrase(reply.status), "\r\n");
  for (const auto& [key, value] : reply.headers) absl::StrAppend(&out, key, ": ", value, "\r\n");
  if (!bodiless && !HasHeader(reply, "content-length")) {
    absl::StrAppend(&out, "Content-Length: ", reply.body.size(), "\r\n");
  }
  if (close_connection && !ClosesConnection(reply)) absl::StrAppend(&out, "Connection: close\r\n");
  out += "\r\n";
  if (!bodiless && !head_request) out += reply.body;
  return out;
}

}  // namespace hookrelay::testing::http_wire
