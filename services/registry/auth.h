#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/store/api_key_store.h"

namespace hookrelay::registry {

// Who is calling: the role and, for non-admin keys, the one tenant the key may touch.
struct Principal {
  v1::ApiKeyRole role = v1::API_KEY_ROLE_UNSPECIFIED;
  std::string tenant;  // empty for admin
  std::string key_id;
};

// Lowercase hex SHA-256 of an API key: what is stored and compared, never the key itself.
std::string KeyDigest(absl::string_view key);

// Authenticates bearer tokens. The bootstrap admin key is held only as its digest and
// compared in constant time; other keys are looked up by digest in `keys` and remembered for
// `cache_ttl`. So a key revoked through this process (Forget) stops working at once, and one
// revoked through another replica within `cache_ttl`. With `insecure` every caller is an
// admin (local development only). Thread-safe.
class Authenticator {
 public:
  Authenticator(bool insecure, std::string admin_key, store::ApiKeyStore* keys = nullptr,
                absl::Duration cache_ttl = absl::Seconds(2))
      : insecure_(insecure),
        admin_digest_(admin_key.empty() ? "" : KeyDigest(admin_key)),
        keys_(keys),
        cache_ttl_(cache_ttl) {}

  // `authorization` is the request's metadata value ("Bearer <key>"). UNAUTHENTICATED when
  // missing or unknown; UNAVAILABLE when the key store cannot be read.
  absl::StatusOr<Principal> Authenticate(absl::string_view authorization);
  // Drops what the cache remembers of the key `key_id` (after it was revoked).
  void Forget(absl::string_view key_id);

 private:
  struct Cached {
    Principal principal;
    absl::Time expires;
  };
  const bool insecure_;
  const std::string admin_digest_;
  store::ApiKeyStore* const keys_;
  const absl::Duration cache_ttl_;
  std::mutex mu_;  // guards cache_ and forgotten_
  absl::flat_hash_map<std::string, Cached> cache_;
  // Bumped by Forget: a lookup that began before it does not cache what it read.
  uint64_t forgotten_ = 0;
};

// PERMISSION_DENIED unless `p` may act on `tenant`: admins on any tenant, tenant and
// publisher keys on their own. `publish` says whether the action is a publish (the only
// thing a publisher key may do).
absl::Status Authorize(const Principal& p, absl::string_view tenant, bool publish);

}  // namespace hookrelay::registry
