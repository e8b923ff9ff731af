#include "libs/http/target.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::http {
namespace {

bool HasLineBreak(absl::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n') return true;
  }
  return false;
}

std::string UrlPart(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* v = nullptr;
  std::string out;
  if (curl_url_get(u, part, &v, flags) == CURLUE_OK && v != nullptr) out = v;
  curl_free(v);
  return out;
}

using CurlUrl = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

// `url` parsed by libcurl and checked against the rule; null (and `*status` set) when refused.
CurlUrl Parse(const std::string& url, bool allow_http, absl::Status* status) {
  CurlUrl u(curl_url(), &curl_url_cleanup);
  auto refuse = [&](absl::string_view why) {
    *status = absl::InvalidArgumentError(why);
    return CurlUrl(nullptr, &curl_url_cleanup);
  };
  if (u == nullptr || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return refuse("is not an absolute URL");
  }
  const std::string scheme = absl::AsciiStrToLower(UrlPart(u.get(), CURLUPART_SCHEME));
  if (scheme != "https" && !(scheme == "http" && allow_http)) {
    return refuse(allow_http ? "must use http or https" : "must use https");
  }
  if (UrlPart(u.get(), CURLUPART_HOST).empty()) return refuse("must name a host");
  if (!UrlPart(u.get(), CURLUPART_USER).empty() || !UrlPart(u.get(), CURLUPART_PASSWORD).empty()) {
    return refuse("must not carry credentials; use a custom Authorization header");
  }
  if (!UrlPart(u.get(), CURLUPART_FRAGMENT).empty()) return refuse("must not have a #fragment");
  *status = absl::OkStatus();
  return u;
}

}  // namespace

absl::Status CheckTargetUrl(const std::string& url, bool allow_http) {
  absl::Status st;
  Parse(url, allow_http, &st);
  return st;
}

Target ParseTarget(const std::string& url, bool allow_http) {
  Target t;
  absl::Status st;
  CurlUrl u = Parse(url, allow_http, &st);
  if (u == nullptr) {
    t.failure = FailureKind::kInvalidTarget;
    t.error = absl::StrCat("url: ", st.message());
    return t;
  }
  const std::string scheme = absl::AsciiStrToLower(UrlPart(u.get(), CURLUPART_SCHEME));
  const std::string host = UrlPart(u.get(), CURLUPART_HOST);
  const std::string port = UrlPart(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  const bool default_port = port == (scheme == "https" ? "443" : "80");
  std::string query = UrlPart(u.get(), CURLUPART_QUERY);
  t.origin = absl::StrCat(scheme, "://", host, ":", port);
  t.head = absl::StrCat("POST ", UrlPart(u.get(), CURLUPART_PATH), query.empty() ? "" : "?", query,
                        " HTTP/1.1\r\nHost: ", host, default_port ? "" : ":",
                        default_port ? "" : port, "\r\n");
  return t;
}

bool FormatRequest(const Target& target, const HttpRequest& request, const std::string& user_agent,
                   std::string* wire) {
  bool has_user_agent = false;
  size_t size = target.head.size() + request.body.size() + user_agent.size() + 64;
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value)) return false;
    has_user_agent |= absl::EqualsIgnoreCase(name, "user-agent");
    size += name.size() + value.size() + 4;
  }
  wire->clear();
  wire->reserve(size);
  wire->append(target.head);
  if (!has_user_agent) absl::StrAppend(wire, "User-Agent: ", user_agent, "\r\n");
  for (const auto& [name, value] : request.headers) {
    absl::StrAppend(wire, name, ": ", value, "\r\n");
  }
  absl::StrAppend(wire, "Content-Length: ", request.body.size(), "\r\n\r\n");
  wire->append(request.body);
  return true;
}

}  // namespace hookrelay::http
