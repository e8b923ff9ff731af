#include "libs/signing/encoding.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>

#include "absl/strings/str_cat.h"
#include "libs/signing/hmac.h"

namespace hookrelay::signing {
namespace {

// EVP_{En,De}codeBlock take int lengths: work in chunks well below INT_MAX. Both are
// multiples of the block sizes (3 raw bytes, 4 characters) so chunks join seamlessly.
constexpr size_t kEncodeChunk = 3 * (1 << 20);
constexpr size_t kDecodeChunk = 4 * (1 << 20);

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Returns the number of trailing "=" (0..2), or an error naming the first bad position.
absl::StatusOr<size_t> CheckBase64(absl::string_view encoded) {
  if (encoded.size() % 4 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("base64: length ", encoded.size(), " is not a multiple of 4"));
  }
  size_t padding = 0;
  while (padding < 2 && padding < encoded.size() && encoded[encoded.size() - 1 - padding] == '=') {
    ++padding;
  }
  for (size_t i = 0; i + padding < encoded.size(); ++i) {
    if (!IsBase64Char(encoded[i])) {
      return absl::InvalidArgumentError(absl::StrCat("base64: invalid character at offset ", i));
    }
  }
  return padding;
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string Base64Encode(absl::string_view data) {
  std::string out((data.size() + 2) / 3 * 4 + 1, '\0');  // +1: EVP_EncodeBlock writes a NUL
  size_t written = 0;
  for (size_t pos = 0; pos < data.size(); pos += kEncodeChunk) {
    const absl::string_view chunk = data.substr(pos, kEncodeChunk);
    written += EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&out[written]), Bytes(chunk),
                               static_cast<int>(chunk.size()));
  }
  out.resize(written);
  return out;
}

absl::StatusOr<std::string> Base64Decode(absl::string_view encoded) {
  absl::StatusOr<size_t> padding = CheckBase64(encoded);
  if (!padding.ok()) return padding.status();
  std::string out(encoded.size() / 4 * 3, '\0');
  size_t written = 0;
  for (size_t pos = 0; pos < encoded.size(); pos += kDecodeChunk) {
    const absl::string_view chunk = encoded.substr(pos, kDecodeChunk);
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(&out[written]), Bytes(chunk),
                                  static_cast<int>(chunk.size()));
    if (n < 0) return absl::InvalidArgumentError("base64: malformed input");
    written += static_cast<size_t>(n);
  }
  // EVP_DecodeBlock counts the padding as zero bytes: drop them.
  out.resize(written - *padding);
  return out;
}

void HexEncodeTo(absl::string_view data, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned char c : data) {
    *out++ = kDigits[c >> 4];
    *out++ = kDigits[c & 0xf];
  }
}

std::string HexEncode(absl::string_view data) {
  std::string out(2 * data.size(), '\0');
  HexEncodeTo(data, out.data());
  return out;
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  return std::string(ComputeHmac(HmacAlgorithm::kSha256, key, {data}).view());
}

std::string HmacSha1(absl::string_view key, absl::string_view data) {
  return std::string(ComputeHmac(HmacAlgorithm::kSha1, key, {data}).view());
}

}  // namespace hookrelay::signing
