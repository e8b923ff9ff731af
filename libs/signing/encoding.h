#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hookrelay::signing {

// Standard base64 (RFC 4648 §4: "+/" alphabet, "=" padding).
std::string Base64Encode(absl::string_view data);
// Returns INVALID_ARGUMENT unless `encoded` is padded standard base64 (length a multiple of
// 4, alphabet characters only, at most two trailing "="). Whitespace is not accepted.
absl::StatusOr<std::string> Base64Decode(absl::string_view encoded);

// Lowercase hex, two characters per byte.
std::string HexEncode(absl::string_view data);
// Writes the lowercase hex of `data` to `out`, which must hold 2 * data.size() characters.
void HexEncodeTo(absl::string_view data, char* out);

// Raw HMAC digests (32 and 20 bytes). Thread-safe.
std::string HmacSha256(absl::string_view key, absl::string_view data);
std::string HmacSha1(absl::string_view key, absl::string_view data);

}  // namespace hookrelay::signing
