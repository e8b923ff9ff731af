#include "services/registry/paging.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/signing/crypto.h"
#include "libs/signing/hmac.h"

namespace hookrelay::registry {
namespace {

constexpr char kVersion = '\x01';
constexpr size_t kTagBytes = 16;
// A cursor is an id, or a score and an id: never near this long.
constexpr size_t kMaxTokenBytes = 512;

absl::Status BadToken() {
  return absl::InvalidArgumentError(
      "page_token: not a token this listing returned (tokens are valid only with the same "
      "tenant and filters that produced them)");
}

// `part` with its length in front, so that no two different scopes sign the same bytes.
void AppendFramed(std::string* out, absl::string_view part) {
  absl::StrAppend(out, part.size(), ":", part);
}

}  // namespace

absl::StatusOr<int> CoercePageSize(int requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must not be negative (0 = ", kDefaultPageSize, ", at most ",
                     kMaxPageSize, ")"));
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

absl::StatusOr<std::string> PageTokens::Key() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!key_.empty()) return key_;
  auto key = key_source_();
  if (!key.ok()) return key.status();
  if (key->empty()) return absl::InternalError("page token key: empty");
  key_ = *std::move(key);
  return key_;
}

std::string PageTokens::Tag(absl::string_view key, const PageScope& scope,
                            absl::string_view cursor) const {
  std::string signed_bytes(1, kVersion);
  AppendFramed(&signed_bytes, scope.method);
  AppendFramed(&signed_bytes, scope.tenant);
  AppendFramed(&signed_bytes, scope.filters);
  AppendFramed(&signed_bytes, cursor);
  const signing::HmacDigest mac =
      signing::ComputeHmac(signing::HmacAlgorithm::kSha256, key, {signed_bytes});
  return std::string(mac.view().substr(0, kTagBytes));
}

absl::StatusOr<std::string> PageTokens::Make(const PageScope& scope, absl::string_view cursor) {
  if (cursor.empty()) return std::string();
  auto key = Key();
  if (!key.ok()) return key.status();
  const std::string raw =
      absl::StrCat(absl::string_view(&kVersion, 1), cursor, Tag(*key, scope, cursor));
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> PageTokens::Open(const PageScope& scope, absl::string_view token) {
  if (token.empty()) return std::string();
  std::string raw;
  if (token.size() > kMaxTokenBytes || !absl::WebSafeBase64Unescape(token, &raw) ||
      raw.size() < 1 + kTagBytes + 1 || raw[0] != kVersion) {
    return BadToken();
  }
  auto key = Key();
  if (!key.ok()) return key.status();
  const absl::string_view cursor = absl::string_view(raw).substr(1, raw.size() - 1 - kTagBytes);
  const std::string want = Tag(*key, scope, cursor);
  if (!signing::ConstantTimeEquals(want, absl::string_view(raw).substr(raw.size() - kTagBytes))) {
    return BadToken();
  }
  return std::string(cursor);
}

}  // namespace hookrelay::registry
