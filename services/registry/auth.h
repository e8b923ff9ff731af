#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hookrelay/v1/resources.pb.h"

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
// compared in constant time. With `insecure` every caller is an admin (local development
// only). Thread-safe.
class Authenticator {
 public:
  Authenticator(bool insecure, std::string admin_key)
      : insecure_(insecure), admin_digest_(admin_key.empty() ? "" : KeyDigest(admin_key)) {}

  // `authorization` is the request's metadata value ("Bearer <key>"). UNAUTHENTICATED when
  // missing or unknown.
  absl::StatusOr<Principal> Authenticate(absl::string_view authorization) const;

 private:
  const bool insecure_;
  const std::string admin_digest_;
};

// PERMISSION_DENIED unless `p` may act on `tenant`: admins on any tenant, tenant and
// publisher keys on their own. `publish` says whether the action is a publish (the only
// thing a publisher key may do).
absl::Status Authorize(const Principal& p, absl::string_view tenant, bool publish);

}  // namespace hookrelay::registry
