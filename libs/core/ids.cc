#include "libs/core/ids.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::core {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr int kIdLength = 26;

bool IsCrockford(char c) {
  for (const char* p = kCrockford; *p != '\0'; ++p) {
    if (*p == c) return true;
  }
  return false;
}

}  // namespace

std::string NewId(absl::string_view prefix, absl::Time now) {
  thread_local absl::BitGen gen;
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now)) & ((1ULL << 48) - 1);
  const uint64_t rand_hi = absl::Uniform<uint64_t>(gen) & ((1ULL << 16) - 1);  // 16 bits
  const uint64_t rand_lo = absl::Uniform<uint64_t>(gen);                       // 64 bits
  // 128 bits: [ms:48][rand_hi:16][rand_lo:64], encoded 5 bits at a time from the top
  // (26 chars = 130 bits, the first char carries the top 3 bits).
  const unsigned __int128 value =
      (static_cast<unsigned __int128>((ms << 16) | rand_hi) << 64) | rand_lo;
  std::string out(prefix);
  out.resize(prefix.size() + kIdLength);
  for (int i = kIdLength - 1; i >= 0; --i) {
    const int shift = 5 * (kIdLength - 1 - i);
    out[prefix.size() + i] = kCrockford[static_cast<int>((value >> shift) & 31)];
  }
  return out;
}

bool IsValidId(absl::string_view id, absl::string_view prefix) {
  if (id.size() != prefix.size() + kIdLength || id.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : id.substr(prefix.size())) {
    if (!IsCrockford(c)) return false;
  }
  return true;
}

}  // namespace hookrelay::core
