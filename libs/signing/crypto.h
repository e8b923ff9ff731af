#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hookrelay::signing {

// The randomness and digests hookrelay uses beside signatures (API keys, page tokens,
// secrets), all from OpenSSL, in one place.

// `n` bytes from OpenSSL's CSPRNG. INTERNAL if the generator fails.
absl::StatusOr<std::string> RandomBytes(size_t n);
// A random token: "<prefix>" then `bytes` random bytes, web-safe base64 without padding.
absl::StatusOr<std::string> RandomToken(absl::string_view prefix, size_t bytes);
// SHA-256 of `data`, 64 lowercase hex digits.
std::string Sha256Hex(absl::string_view data);
// Whether `a` and `b` are equal, in time that does not depend on where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace hookrelay::signing
