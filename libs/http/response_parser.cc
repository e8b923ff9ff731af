#include "libs/http/response_parser.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace hookrelay::http {
namespace {

constexpr size_t kMaxHead = 64 * 1024;  // status line and headers
constexpr size_t kMaxLine = 4096;       // one chunk-size or trailer line

// Whether the comma-separated header value holds `token` (case-insensitive).
bool HasToken(absl::string_view value, absl::string_view token) {
  for (absl::string_view t : absl::StrSplit(value, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(t), token)) return true;
  }
  return false;
}

}  // namespace

ResponseParser::Result ResponseParser::Fail(std::string why) {
  error_ = std::move(why);
  keep_alive_ = false;
  return Result::kError;
}

void ResponseParser::KeepBody(absl::string_view data) {
  if (body_.size() >= max_body_) return;
  data = data.substr(0, max_body_ - body_.size());
  body_.append(data.data(), data.size());
}

bool ResponseParser::TakeCounted(absl::string_view& data) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
  KeepBody(data.substr(0, n));
  data.remove_prefix(n);
  remaining_ -= n;
  return remaining_ == 0;
}

bool ResponseParser::TakeLine(absl::string_view& data) {
  const size_t nl = data.find('\n');
  const absl::string_view part = data.substr(0, nl);
  line_.append(part.data(), part.size());
  data.remove_prefix(nl == absl::string_view::npos ? data.size() : nl + 1);
  if (nl == absl::string_view::npos) return false;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

ResponseParser::Result ResponseParser::Feed(absl::string_view data) {
  if (!data.empty()) started_ = true;
  std::string rest;  // bytes after a head, parsed in the next round
  while (!data.empty()) {
    switch (state_) {
      case State::kHead: {
        const size_t from = head_.size() < 3 ? 0 : head_.size() - 3;
        head_.append(data.data(), data.size());
        data = {};
        const size_t end = head_.find("\r\n\r\n", from);
        if (end == std::string::npos) {
          if (head_.size() > kMaxHead) return Fail("response headers larger than 64 KiB");
          return Result::kMore;
        }
        rest = head_.substr(end + 4);
        head_.resize(end);
        if (Result r = ParseHead(); r != Result::kMore) return r;
        data = rest;
        break;
      }
      case State::kFixedBody: {
        if (TakeCounted(data)) state_ = State::kDone;
        break;
      }
      case State::kChunkSize: {
        if (!TakeLine(data)) {
          if (line_.size() > kMaxLine) return Fail("chunk size line too long");
          return Result::kMore;
        }
        absl::string_view hex = line_;
        hex = hex.substr(0, hex.find(';'));  // chunk extensions are ignored
        uint64_t size = 0;
        if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(hex), &size)) {
          return Fail("malformed chunk size");
        }
        line_.clear();
        remaining_ = size;
        state_ = size == 0 ? State::kTrailers : State::kChunkData;
        break;
      }
      case State::kChunkData: {
        if (TakeCounted(data)) state_ = State::kChunkEnd;
        break;
      }
      case State::kChunkEnd:  // the CRLF after a chunk's data
        if (!TakeLine(data)) return Result::kMore;
        if (!line_.empty()) return Fail("chunk data longer than its size");
        state_ = State::kChunkSize;
        break;
      case State::kTrailers:
        if (!TakeLine(data)) {
          if (line_.size() > kMaxLine) return Fail("trailer line too long");
          return Result::kMore;
        }
        if (line_.empty()) state_ = State::kDone;
        line_.clear();
        break;
      case State::kToEof:
        KeepBody(data);
        data = {};
        break;
      case State::kDone:
        trailing_bytes_ = true;  // more than one response: do not trust the connection
        data = {};
        break;
    }
  }
  return state_ == State::kDone ? Result::kDone : Result::kMore;
}

ResponseParser::Result ResponseParser::Finish() {
  keep_alive_ = false;
  if (state_ == State::kDone) return Result::kDone;
  if (state_ == State::kToEof) {
    state_ = State::kDone;
    return Result::kDone;
  }
  return Fail(started_ ? "connection closed in the middle of the response"
                       : "connection closed before any response");
}

ResponseParser::Result ResponseParser::ParseHead() {
  std::vector<absl::string_view> lines = absl::StrSplit(head_, "\r\n");
  absl::string_view status_line = lines[0];
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || !absl::StartsWith(status_line, "HTTP/1.") ||
      status_line[8] != ' ' || !absl::SimpleAtoi(status_line.substr(9, 3), &status_)) {
    return Fail("malformed status line");
  }
  if (status_ < 100 || status_ > 999) return Fail("malformed status code");
  const bool http10 = status_line[7] == '0';
  keep_alive_ = !http10;
  chunked_ = false;
  content_length_ = -1;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) return Fail("malformed header line");
    const absl::string_view name = lines[i].substr(0, colon);
    const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "content-length")) {
      int64_t n = 0;
      if (!absl::SimpleAtoi(value, &n) || n < 0 || (content_length_ >= 0 && n != content_length_)) {
        return Fail("malformed Content-Length");
      }
      content_length_ = n;
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      chunked_ = HasToken(value, "chunked");
      if (!chunked_) keep_alive_ = false;  // delimited by the close
    } else if (absl::EqualsIgnoreCase(name, "connection")) {
      if (HasToken(value, "close")) keep_alive_ = false;
      if (http10 && HasToken(value, "keep-alive")) keep_alive_ = true;
    } else if (absl::EqualsIgnoreCase(name, "retry-after")) {
      retry_after_ = std::string(value);
    }
  }
  head_.clear();
  if (status_ == 101) return Fail("unexpected 101 Switching Protocols");
  if (status_ < 200) {  // interim (100 Continue, 103 Early Hints): the final one follows
    status_ = 0;
    retry_after_.clear();
    return Result::kMore;
  }
  return StartBody();
}

ResponseParser::Result ResponseParser::StartBody() {
  if (status_ == 204 || status_ == 304) {
    state_ = State::kDone;
  } else if (chunked_) {
    state_ = State::kChunkSize;
  } else if (content_length_ >= 0) {
    remaining_ = static_cast<uint64_t>(content_length_);
    state_ = remaining_ == 0 ? State::kDone : State::kFixedBody;
  } else {
    keep_alive_ = false;
    state_ = State::kToEof;
  }
  return Result::kMore;
}

}  // namespace hookrelay::http
