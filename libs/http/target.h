#pragma once

#include <string>

#include "absl/status/status.h"
#include "libs/http/sender.h"

namespace hookrelay::http {

// Where a URL's requests go: the connection pool's key and the request line with Host.
struct Target {
  FailureKind failure = FailureKind::kNone;  // kInvalidTarget when the URL cannot be used
  std::string error;
  std::string origin;  // "scheme://host:port": what the connector dials
  std::string head;    // "POST /path?query HTTP/1.1\r\nHost: host[:port]\r\n"
};

// The one rule for the URLs webhooks may send to, for the registry's validation and the
// sender alike: an absolute URL (libcurl's parser) with a host, https (or http when
// `allow_http`), no credentials (use an Authorization header) and no #fragment. OK, or
// INVALID_ARGUMENT with what is wrong (no field name: callers add theirs).
absl::Status CheckTargetUrl(const std::string& url, bool allow_http);

// Parses `url` with libcurl's URL parser. kInvalidTarget when CheckTargetUrl refuses it.
Target ParseTarget(const std::string& url, bool allow_http);

// Formats the whole HTTP/1.1 request into `wire`: the target's request line and Host, the
// request's headers (User-Agent defaults to `user_agent`), Content-Length and the body.
// False if a header has no name or a CR or LF in it (header injection).
bool FormatRequest(const Target& target, const HttpRequest& request, const std::string& user_agent,
                   std::string* wire);

}  // namespace hookrelay::http
