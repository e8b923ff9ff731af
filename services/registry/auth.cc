#include "services/registry/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace hookrelay::registry {

std::string KeyDigest(absl::string_view key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof(digest));
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

absl::StatusOr<Principal> Authenticator::Authenticate(absl::string_view authorization) {
  if (insecure_)
    return Principal{.role = v1::API_KEY_ROLE_ADMIN, .tenant = "", .key_id = "insecure"};
  if (!absl::ConsumePrefix(&authorization, "Bearer ") || authorization.empty()) {
    return absl::UnauthenticatedError("authorization: want \"Bearer <api key>\"");
  }
  const std::string digest = KeyDigest(authorization);
  if (!admin_digest_.empty() &&
      CRYPTO_memcmp(digest.data(), admin_digest_.data(), digest.size()) == 0) {
    return Principal{.role = v1::API_KEY_ROLE_ADMIN, .tenant = "", .key_id = "bootstrap-admin"};
  }
  if (keys_ == nullptr) return absl::UnauthenticatedError("authorization: unknown API key");
  const absl::Time now = absl::Now();
  uint64_t forgotten = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(digest);
    if (it != cache_.end() && it->second.expires > now) return it->second.principal;
    forgotten = forgotten_;
  }
  auto key = keys_->FindByDigest(digest);
  if (absl::IsNotFound(key.status())) {
    return absl::UnauthenticatedError("authorization: unknown API key");
  }
  if (!key.ok()) return key.status();
  Principal p{.role = key->role(), .tenant = key->tenant(), .key_id = key->id()};
  std::lock_guard<std::mutex> lock(mu_);
  if (forgotten != forgotten_) return p;  // read before a revocation: answer, do not keep
  if (cache_.size() > 10000) cache_.clear();
  cache_[digest] = Cached{p, now + cache_ttl_};
  return p;
}

void Authenticator::Forget(absl::string_view key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ++forgotten_;
  absl::erase_if(cache_,
                 [&](const auto& entry) { return entry.second.principal.key_id == key_id; });
}

absl::Status Authorize(const Principal& p, absl::string_view tenant, bool publish) {
  if (p.role == v1::API_KEY_ROLE_ADMIN) return absl::OkStatus();
  if (p.role == v1::API_KEY_ROLE_PUBLISHER && !publish) {
    return absl::PermissionDeniedError("a publisher key may only publish events");
  }
  if (p.tenant != tenant) {
    return absl::PermissionDeniedError(absl::StrCat("this key may not act on tenant ", tenant));
  }
  return absl::OkStatus();
}

}  // namespace hookrelay::registry
