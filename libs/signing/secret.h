#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hookrelay::signing {

inline constexpr absl::string_view kSecretPrefix = "whsec_";

// Returns a new Standard Webhooks secret, "whsec_" + base64 of 32 random bytes.
// Returns INTERNAL if the OpenSSL random generator fails (it is never silently weakened).
absl::StatusOr<std::string> GenerateSecret();

// Returns the HMAC key a secret stands for:
// * "whsec_<base64>": the decoded bytes, which must be 24..64 long (Standard Webhooks);
// * anything else: the secret's own bytes, which must be 16..256 long.
// Errors are INVALID_ARGUMENT starting with "signing.secret: "; they never quote the secret.
absl::StatusOr<std::string> SecretKeyBytes(absl::string_view secret);

// Returns the secret's own bytes, "whsec_" prefix included, as the key for the hex and
// Stripe schemes: GitHub, Stripe, MockReview, Smartlook and Miniback receivers all key HMAC
// with the secret string exactly as configured. INVALID_ARGUMENT unless 16..256 bytes long.
absl::StatusOr<std::string> RawSecretKey(absl::string_view secret);

// Returns a form safe to show or log: "whsec_****" for Standard Webhooks secrets, "****"
// for anything else, "" when no secret is set. No character of the secret's body is ever kept.
std::string MaskSecret(absl::string_view secret);

}  // namespace hookrelay::signing
