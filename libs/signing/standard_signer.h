#pragma once

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hookrelay::signing {

// Signs request bodies per Standard Webhooks v1 (HMAC-SHA256 of "<id>.<unix ts>.<body>",
// keyed with the base64-decoded text after "whsec_"). Thread-safe: all methods are const.
class StandardSigner {
 public:
  // Returns INVALID_ARGUMENT ("signing.secret: ...") if `secret` lacks the "whsec_" prefix,
  // is not base64 or does not decode to 24..64 bytes; INTERNAL if OpenSSL lacks HMAC-SHA256.
  static absl::StatusOr<StandardSigner> Create(absl::string_view secret);

  // Returns the `webhook-signature` header value, "v1,<base64>".
  std::string Sign(absl::string_view id, absl::Time ts, absl::string_view body) const;
  // Appends the same "v1,<base64>" to `*out` (for headers carrying several signatures).
  void AppendSignature(absl::string_view id, absl::Time ts, absl::string_view body,
                       std::string* out) const;

 private:
  explicit StandardSigner(std::string key) : key_(std::move(key)) {}

  std::string key_;  // decoded HMAC key
};

}  // namespace hookrelay::signing
