#pragma once

#include <string>

#include "libs/http/sender.h"

namespace hookrelay::http {

// Where a URL's requests go: the connection pool's key and the request line with Host.
struct Target {
  FailureKind failure = FailureKind::kNone;  // kInvalidTarget when the URL cannot be used
  std::string error;
  std::string origin;  // "scheme://host:port": what the connector dials
  std::string head;    // "POST /path?query HTTP/1.1\r\nHost: host[:port]\r\n"
};

// Parses `url` with libcurl's URL parser. kInvalidTarget for a malformed URL, a scheme other
// than https (or http when `allow_http`), or credentials in the URL.
Target ParseTarget(const std::string& url, bool allow_http);

// Formats the whole HTTP/1.1 request into `wire`: the target's request line and Host, the
// request's headers (User-Agent defaults to `user_agent`), Content-Length and the body.
// False if a header has no name or a CR or LF in it (header injection).
bool FormatRequest(const Target& target, const HttpRequest& request, const std::string& user_agent,
                   std::string* wire);

}  // namespace hookrelay::http
