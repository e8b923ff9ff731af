#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hookrelay::registry {

// Page sizes of the list RPCs, as AIP-158 asks: 0 means kDefaultPageSize, a size above
// kMaxPageSize is coerced to it, a negative one is INVALID_ARGUMENT "page_size: ...".
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 200;
absl::StatusOr<int> CoercePageSize(int requested);

// What a page token is valid for besides its cursor: the list method, the tenant and the
// request's filters (e.g. "status=4"). A token presented with anything else is refused, so
// a client that changes its filters between pages starts again instead of mixing listings.
struct PageScope {
  absl::string_view method;
  absl::string_view tenant;
  std::string filters;
};

// Page tokens of the list RPCs. A token carries a keyset cursor: the position just after the
// last item a page examined (an id, or a score and an id), never an offset, so items added or
// removed while a client pages never make it see an item twice or miss one that existed
// when it began.
//
// Tokens are opaque and tamper-evident: base64url of [version 1][cursor][tag 16], where tag
// is the first 16 bytes of HMAC-SHA256 under the deployment's page-token key over the
// version, the scope and the cursor. A made-up, altered or truncated token, or one presented
// with another tenant, method or filters, fails the check (compared in constant time):
// INVALID_ARGUMENT "page_token: ...". The key comes from `key_source` the first time it is
// needed and is kept; every registry of a deployment reads the same key, so a token from one
// replica is good on any other. Thread-safe.
class PageTokens {
 public:
  // Returns the key, or an error (UNAVAILABLE while Redis is down: asked again next time).
  using KeySource = std::function<absl::StatusOr<std::string>()>;
  explicit PageTokens(KeySource key_source) : key_source_(std::move(key_source)) {}

  // The token for `cursor` ("" for an empty cursor: the listing ended).
  absl::StatusOr<std::string> Make(const PageScope& scope, absl::string_view cursor);
  // The cursor inside `token` ("" for an empty token: the first page).
  absl::StatusOr<std::string> Open(const PageScope& scope, absl::string_view token);

 private:
  absl::StatusOr<std::string> Key();
  std::string Tag(absl::string_view key, const PageScope& scope, absl::string_view cursor) const;

  KeySource key_source_;
  std::mutex mu_;
  std::string key_;  // guarded by mu_; empty until loaded
};

}  // namespace hookrelay::registry
