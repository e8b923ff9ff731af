#include "services/registry/auth.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "libs/signing/crypto.h"

namespace hookrelay::registry {

std::string KeyDigest(absl::string_view key) { return signing::Sha256Hex(key); }

absl::StatusOr<Principal> Authenticator::Authenticate(absl::string_view authorization) {
  if (insecure_)
    return Principal{.role = v1::API_KEY_ROLE_ADMIN, .tenant = "", .key_id = "insecure"};
  if (!absl::ConsumePrefix(&authorization, "Bearer ") || authorization.empty()) {
    return absl::UnauthenticatedError("authorization: want \"Bearer <api key>\"");
  }
  const std::string digest = KeyDigest(authorization);
  if (!admin_digest_.empty() && signing::ConstantTimeEquals(digest, admin_digest_)) {
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
