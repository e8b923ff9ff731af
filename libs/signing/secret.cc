#include "libs/signing/secret.h"

#include <openssl/rand.h>

#include <array>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/signing/encoding.h"

namespace hookrelay::signing {
namespace {

constexpr size_t kGeneratedKeyBytes = 32;
constexpr size_t kMinStandardKeyBytes = 24;
constexpr size_t kMaxStandardKeyBytes = 64;
constexpr size_t kMinRawSecretBytes = 16;
constexpr size_t kMaxRawSecretBytes = 256;

}  // namespace

absl::StatusOr<std::string> GenerateSecret() {
  std::array<unsigned char, kGeneratedKeyBytes> key;
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return absl::InternalError("signing.secret: RAND_bytes failed to generate a secret");
  }
  const std::string encoded =
      Base64Encode(absl::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  OPENSSL_cleanse(key.data(), key.size());
  return absl::StrCat(kSecretPrefix, encoded);
}

absl::StatusOr<std::string> SecretKeyBytes(absl::string_view secret) {
  if (!absl::ConsumePrefix(&secret, kSecretPrefix)) return RawSecretKey(secret);
  absl::StatusOr<std::string> key = Base64Decode(secret);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing.secret: the text after \"whsec_\" is not valid base64 (",
                     key.status().message(), ")"));
  }
  if (key->size() < kMinStandardKeyBytes || key->size() > kMaxStandardKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("signing.secret: a whsec_ key must decode to ",
                                                   kMinStandardKeyBytes, "..", kMaxStandardKeyBytes,
                                                   " bytes, got ", key->size()));
  }
  return key;
}

absl::StatusOr<std::string> RawSecretKey(absl::string_view secret) {
  if (secret.size() < kMinRawSecretBytes || secret.size() > kMaxRawSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat("signing.secret: must be ", kMinRawSecretBytes,
                                                   "..", kMaxRawSecretBytes, " bytes long, got ",
                                                   secret.size()));
  }
  return std::string(secret);
}

std::string MaskSecret(absl::string_view secret) {
  if (secret.empty()) return "";
  if (absl::StartsWith(secret, kSecretPrefix)) return absl::StrCat(kSecretPrefix, "****");
  return "****";
}

}  // namespace hookrelay::signing
