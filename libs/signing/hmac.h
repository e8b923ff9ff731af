#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hookrelay::signing {

enum class HmacAlgorithm { kSha1, kSha256 };

// A raw HMAC digest (20 bytes for SHA-1, 32 for SHA-256), held inline.
struct HmacDigest {
  std::array<unsigned char, 32> bytes{};
  size_t size = 0;
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes.data()), size);
  }
};

// Returns HMAC(key, concatenation of `parts`) without copying the parts together.
// Thread-safe: each thread reuses its own OpenSSL context, so no allocation of a context per
// call. OpenSSL can fail here only when it cannot allocate memory or its configuration lacks
// HMAC; that aborts the process (as std::bad_alloc would), so callers that build signers
// check CheckHmacAvailable() first and report a Status instead.
HmacDigest ComputeHmac(HmacAlgorithm algorithm, absl::string_view key,
                       std::initializer_list<absl::string_view> parts);

// Returns INTERNAL if OpenSSL cannot compute `algorithm` on this thread.
absl::Status CheckHmacAvailable(HmacAlgorithm algorithm);

}  // namespace hookrelay::signing
