#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hookrelay::http {

// An IPv4 or IPv6 network. IPv4 networks are kept as IPv4-mapped IPv6 (::ffff:a.b.c.d/96+n).
struct Cidr {
  std::array<uint8_t, 16> addr{};
  int prefix_len = 0;
  bool Contains(const std::array<uint8_t, 16>& ip) const;
  // INVALID_ARGUMENT naming `field` for anything but "a.b.c.d/n", "x::y/n" or a bare address.
  static absl::StatusOr<Cidr> Parse(absl::string_view text, absl::string_view field);
};

// Decides whether the worker may connect to an address (SSRF protection). By default it
// refuses loopback, private, link-local (cloud metadata), CGNAT, unique-local, multicast,
// documentation, benchmarking and unspecified ranges, IPv4 and IPv6, and the IPv4 inside
// IPv4-mapped and NAT64 addresses. Ranges in `allow` are exempt. Immutable, thread-safe.
class AddressGuard {
 public:
  static absl::StatusOr<AddressGuard> Create(const std::vector<std::string>& allow_cidrs);
  // A guard that allows everything (TestWebhook in tests, benchmarks). Never the default.
  static AddressGuard AllowAll();

  bool Allowed(const sockaddr* addr) const;
  bool Allowed(const std::array<uint8_t, 16>& ip) const;
  // Parses a literal address ("127.0.0.1", "::1"); nullopt-like: false if not an address.
  static bool ParseAddress(absl::string_view text, std::array<uint8_t, 16>* ip);

 private:
  std::vector<Cidr> allow_;
  bool allow_all_ = false;
};

}  // namespace hookrelay::http
