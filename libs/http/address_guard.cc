#include "libs/http/address_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::http {
namespace {

// REFERENCES.md: ranges a webhook sender refuses by default.
constexpr const char* kBlockedRanges[] = {
    "0.0.0.0/8",       "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8",    "169.254.0.0/16",
    "172.16.0.0/12",   "192.0.0.0/24",   "192.0.2.0/24",  "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",   "240.0.0.0/4",    "255.255.255.255/32",
    "::/96",           "::1/128",        "100::/64",      "2001:db8::/32",  "fc00::/7",
    "fe80::/10",       "ff00::/8"};

std::array<uint8_t, 16> MappedV4(const uint8_t v4[4]) {
  std::array<uint8_t, 16> ip{};
  ip[10] = ip[11] = 0xff;
  std::memcpy(ip.data() + 12, v4, 4);
  return ip;
}

const std::vector<Cidr>& BlockedCidrs() {
  static const std::vector<Cidr>* blocked = [] {
    auto* out = new std::vector<Cidr>();
    for (const char* r : kBlockedRanges) out->push_back(*Cidr::Parse(r, "builtin"));
    return out;
  }();
  return *blocked;
}

bool Is6to4(const std::array<uint8_t, 16>& ip) {  // 2002::/16 embeds an IPv4 in bytes 2..5
  return ip[0] == 0x20 && ip[1] == 0x02;
}

bool IsNat64(const std::array<uint8_t, 16>& ip) {  // 64:ff9b::/96
  static constexpr uint8_t kPrefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  return std::memcmp(ip.data(), kPrefix, 12) == 0;
}

}  // namespace

bool Cidr::Contains(const std::array<uint8_t, 16>& ip) const {
  int bits = prefix_len;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip[i] & mask) != (addr[i] & mask)) return false;
  }
  return true;
}

bool AddressGuard::ParseAddress(absl::string_view text, std::array<uint8_t, 16>* ip) {
  const std::string s(text);
  uint8_t v4[4];
  if (inet_pton(AF_INET, s.c_str(), v4) == 1) {
    *ip = MappedV4(v4);
    return true;
  }
  return inet_pton(AF_INET6, s.c_str(), ip->data()) == 1;
}

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text, absl::string_view field) {
  Cidr out;
  absl::string_view addr = text;
  const bool v4 = text.find(':') == absl::string_view::npos;
  const int max = v4 ? 32 : 128;
  int len = max;
  if (const size_t slash = text.find('/'); slash != absl::string_view::npos) {
    addr = text.substr(0, slash);
    // Digits only: SimpleAtoi would also take "-1" (once the "no prefix" marker), "+8", " 8".
    const absl::string_view digits = text.substr(slash + 1);
    const bool numeric = !digits.empty() && digits.size() <= 3 &&
                         std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit);
    if (!numeric || !absl::SimpleAtoi(digits, &len)) len = -1;
  }
  if (len < 0 || len > max || !AddressGuard::ParseAddress(addr, &out.addr)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", text, "\" is not a CIDR"));
  }
  out.prefix_len = v4 ? 96 + len : len;
  return out;
}

absl::StatusOr<AddressGuard> AddressGuard::Create(const std::vector<std::string>& allow_cidrs) {
  AddressGuard guard;
  for (const std::string& c : allow_cidrs) {
    if (c.empty()) continue;
    auto cidr = Cidr::Parse(c, "allow_cidrs");
    if (!cidr.ok()) return cidr.status();
    guard.allow_.push_back(*cidr);
  }
  return guard;
}

AddressGuard AddressGuard::AllowAll() {
  AddressGuard guard;
  guard.allow_all_ = true;
  return guard;
}

bool AddressGuard::Allowed(const std::array<uint8_t, 16>& ip) const {
  if (allow_all_) return true;
  for (const Cidr& c : allow_) {
    if (c.Contains(ip)) return true;
  }
  if (IsNat64(ip)) return Allowed(MappedV4(ip.data() + 12));
  if (Is6to4(ip)) return Allowed(MappedV4(ip.data() + 2));
  for (const Cidr& c : BlockedCidrs()) {
    if (c.Contains(ip)) return false;
  }
  return true;
}

bool AddressGuard::Allowed(const sockaddr* addr) const {
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    return Allowed(MappedV4(reinterpret_cast<const uint8_t*>(&in->sin_addr)));
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    std::array<uint8_t, 16> ip;
    std::memcpy(ip.data(), &in6->sin6_addr, 16);
    return Allowed(ip);
  }
  return false;  // unix sockets and anything else
}

}  // namespace hookrelay::http
