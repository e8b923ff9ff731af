#include "libs/signing/standard_signer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status_macros.h"
#include "libs/signing/hmac.h"
#include "libs/signing/secret.h"

namespace hookrelay::signing {

absl::StatusOr<StandardSigner> StandardSigner::Create(absl::string_view secret) {
  if (!absl::StartsWith(secret, kSecretPrefix)) {
    return absl::InvalidArgumentError(
        "signing.secret: the standard scheme needs a \"whsec_<base64>\" secret");
  }
  HR_ASSIGN_OR_RETURN(std::string key, SecretKeyBytes(secret));
  HR_RETURN_IF_ERROR(CheckHmacAvailable(HmacAlgorithm::kSha256));
  return StandardSigner(std::move(key));
}

std::string StandardSigner::Sign(absl::string_view id, absl::Time ts,
                                 absl::string_view body) const {
  std::string out;
  AppendSignature(id, ts, body, &out);
  return out;
}

void StandardSigner::AppendSignature(absl::string_view id, absl::Time ts, absl::string_view body,
                                     std::string* out) const {
  const absl::AlphaNum unix_seconds(absl::ToUnixSeconds(ts));  // formatted on the stack
  const HmacDigest digest =
      ComputeHmac(HmacAlgorithm::kSha256, key_, {id, ".", unix_seconds.Piece(), ".", body});
  // "v1," + 44 base64 characters + the NUL EVP_EncodeBlock writes.
  constexpr absl::string_view kVersion = "v1,";
  const size_t start = out->size();
  out->resize(start + kVersion.size() + (digest.size + 2) / 3 * 4 + 1);
  char* cursor = out->data() + start;
  cursor = std::copy(kVersion.begin(), kVersion.end(), cursor);
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(cursor), digest.bytes.data(),
                                      static_cast<int>(digest.size));
  out->resize(start + kVersion.size() + static_cast<size_t>(written));
}

}  // namespace hookrelay::signing
