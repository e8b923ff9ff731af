#include "libs/http/address_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::http {
namespace {

using ::testing::StartsWith;

std::array<uint8_t, 16> Ip(const std::string& text) {
  std::array<uint8_t, 16> ip{};
  EXPECT_TRUE(AddressGuard::ParseAddress(text, &ip)) << text;
  return ip;
}

// Checks `text` the way the sender does: as the sockaddr the kernel would connect to
// (IPv4 as sockaddr_in, everything else, IPv4-mapped included, as sockaddr_in6).
bool AllowedAsSockaddr(const AddressGuard& guard, const std::string& text) {
  sockaddr_in in{};
  if (inet_pton(AF_INET, text.c_str(), &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    return guard.Allowed(reinterpret_cast<const sockaddr*>(&in));
  }
  sockaddr_in6 in6{};
  EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &in6.sin6_addr), 1) << text;
  in6.sin6_family = AF_INET6;
  return guard.Allowed(reinterpret_cast<const sockaddr*>(&in6));
}

struct SsrfCase {
  const char* address;
  bool allowed;
  const char* why;
};

void PrintTo(const SsrfCase& c, std::ostream* os) { *os << c.address << " (" << c.why << ")"; }

// The default guard's verdict on each address (REFERENCES.md "SSRF").
constexpr SsrfCase kSsrfTable[] = {
    // IPv4, refused.
    {"127.0.0.1", false, "loopback"},
    {"127.255.255.254", false, "loopback /8"},
    {"10.0.0.1", false, "private 10/8"},
    {"10.255.255.255", false, "private 10/8 top"},
    {"172.16.0.1", false, "private 172.16/12"},
    {"172.31.255.254", false, "private 172.16/12 top"},
    {"192.168.1.1", false, "private 192.168/16"},
    {"169.254.169.254", false, "cloud metadata"},
    {"169.254.0.1", false, "link-local"},
    {"100.64.0.1", false, "CGNAT"},
    {"100.127.255.254", false, "CGNAT top"},
    {"0.0.0.0", false, "unspecified"},
    {"0.1.2.3", false, "this network"},
    {"224.0.0.1", false, "multicast"},
    {"239.255.255.250", false, "multicast SSDP"},
    {"240.0.0.1", false, "reserved"},
    {"255.255.255.255", false, "broadcast"},
    {"192.0.0.8", false, "IETF protocol assignments"},
    {"192.0.2.1", false, "TEST-NET-1"},
    {"198.18.0.1", false, "benchmarking"},
    {"198.19.255.254", false, "benchmarking top"},
    {"198.51.100.7", false, "TEST-NET-2"},
    {"203.0.113.9", false, "TEST-NET-3"},
    // IPv6, refused.
    {"::1", false, "loopback"},
    {"::", false, "unspecified"},
    {"fc00::1", false, "unique local"},
    {"fd12:3456:789a::1", false, "unique local fd"},
    {"fe80::1", false, "link-local"},
    {"febf::1", false, "link-local top"},
    {"ff02::1", false, "multicast"},
    {"2001:db8::1", false, "documentation"},
    {"100::1", false, "discard-only"},
    {"::ffff:127.0.0.1", false, "IPv4-mapped loopback"},
    {"::ffff:10.0.0.1", false, "IPv4-mapped private"},
    {"::ffff:169.254.169.254", false, "IPv4-mapped metadata"},
    {"::ffff:0.0.0.0", false, "IPv4-mapped unspecified"},
    {"64:ff9b::7f00:1", false, "NAT64 of 127.0.0.1"},
    {"64:ff9b::a9fe:a9fe", false, "NAT64 of 169.254.169.254"},
    {"64:ff9b::c0a8:101", false, "NAT64 of 192.168.1.1"},
    {"2002:7f00:1::1", false, "6to4 of 127.0.0.1"},
    {"2002:a9fe:a9fe::", false, "6to4 of 169.254.169.254"},
    {"::7f00:1", false, "IPv4-compatible 127.0.0.1 (deprecated form)"},
    {"::808:808", false, "IPv4-compatible 8.8.8.8 (deprecated form)"},
    // Public, allowed.
    {"1.1.1.1", true, "public"},
    {"8.8.8.8", true, "public"},
    {"93.184.216.34", true, "public"},
    {"9.255.255.255", true, "just below 10/8"},
    {"11.0.0.0", true, "just above 10/8"},
    {"172.15.255.255", true, "just below 172.16/12"},
    {"172.32.0.0", true, "just above 172.16/12"},
    {"100.63.255.255", true, "just below CGNAT"},
    {"100.128.0.0", true, "just above CGNAT"},
    {"169.255.0.1", true, "just above link-local"},
    {"198.20.0.1", true, "just above benchmarking"},
    {"223.255.255.254", true, "just below multicast"},
    {"2606:4700:4700::1111", true, "public IPv6"},
    {"2001:4860:4860::8888", true, "public IPv6"},
    {"::ffff:8.8.8.8", true, "IPv4-mapped public"},
    {"64:ff9b::808:808", true, "NAT64 of 8.8.8.8"},
    {"2002:808:808::1", true, "6to4 of 8.8.8.8"},
};
static_assert(std::size(kSsrfTable) >= 24, "the issue asks for a table of at least 24 addresses");

class SsrfTableTest : public ::testing::TestWithParam<SsrfCase> {};

TEST_P(SsrfTableTest, DefaultGuardDecides) {
  const SsrfCase& c = GetParam();
  const AddressGuard guard = AddressGuard::Create({}).value();
  EXPECT_EQ(guard.Allowed(Ip(c.address)), c.allowed) << c.address << ": " << c.why;
  EXPECT_EQ(AllowedAsSockaddr(guard, c.address), c.allowed) << c.address << ": " << c.why;
}

TEST_P(SsrfTableTest, AllowAllAllowsEverything) {
  const AddressGuard guard = AddressGuard::AllowAll();
  EXPECT_TRUE(AllowedAsSockaddr(guard, GetParam().address));
}

std::string CaseName(const ::testing::TestParamInfo<SsrfCase>& info) {
  std::string name = info.param.allowed ? "Allows_" : "Refuses_";
  for (const char* c = info.param.address; *c != '\0'; ++c) {
    name += absl::ascii_isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Addresses, SsrfTableTest, ::testing::ValuesIn(kSsrfTable), CaseName);

TEST(AddressGuardTest, AllowListOpensOnlyItsRange) {
  const AddressGuard guard = AddressGuard::Create({"127.0.0.0/8", "10.1.0.0/16"}).value();
  EXPECT_TRUE(AllowedAsSockaddr(guard, "127.0.0.1"));
  EXPECT_TRUE(AllowedAsSockaddr(guard, "127.9.9.9"));
  EXPECT_TRUE(AllowedAsSockaddr(guard, "::ffff:127.0.0.1"));  // the same IPv4 host
  EXPECT_TRUE(AllowedAsSockaddr(guard, "10.1.2.3"));
  EXPECT_FALSE(AllowedAsSockaddr(guard, "10.2.0.1"));
  EXPECT_FALSE(AllowedAsSockaddr(guard, "192.168.1.1"));
  EXPECT_FALSE(AllowedAsSockaddr(guard, "169.254.169.254"));
  EXPECT_FALSE(AllowedAsSockaddr(guard, "::1"));  // IPv6 loopback is not in 127.0.0.0/8
  EXPECT_TRUE(AllowedAsSockaddr(guard, "8.8.8.8"));
}

TEST(AddressGuardTest, AllowListTakesIpv6RangesAndBareAddresses) {
  const AddressGuard guard = AddressGuard::Create({"::1", "fd00::/8", "192.168.7.7"}).value();
  EXPECT_TRUE(AllowedAsSockaddr(guard, "::1"));
  EXPECT_TRUE(AllowedAsSockaddr(guard, "fd00::1"));
  EXPECT_FALSE(AllowedAsSockaddr(guard, "fc00::1"));
  EXPECT_TRUE(AllowedAsSockaddr(guard, "192.168.7.7"));
  EXPECT_FALSE(AllowedAsSockaddr(guard, "192.168.7.8"));
  EXPECT_FALSE(AllowedAsSockaddr(guard, "127.0.0.1"));
}

TEST(AddressGuardTest, EmptyAllowListEntriesAreSkipped) {
  const AddressGuard guard = AddressGuard::Create({"", "127.0.0.1/32", ""}).value();
  EXPECT_TRUE(AllowedAsSockaddr(guard, "127.0.0.1"));
  EXPECT_FALSE(AllowedAsSockaddr(guard, "127.0.0.2"));
}

TEST(AddressGuardTest, RefusesNonInternetSocketFamilies) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_FALSE(AddressGuard::Create({}).value().Allowed(reinterpret_cast<const sockaddr*>(&un)));
}

TEST(AddressGuardTest, CreateRejectsBadAllowListNamingTheField) {
  const absl::StatusOr<AddressGuard> guard = AddressGuard::Create({"127.0.0.0/8", "10.0.0.0/33"});
  EXPECT_EQ(guard.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(guard.status().message()), StartsWith("allow_cidrs: "));
  EXPECT_THAT(std::string(guard.status().message()), ::testing::HasSubstr("10.0.0.0/33"));
}

TEST(CidrTest, ParseRejectsMalformedTextNamingTheField) {
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/abc", "10.0.0.0/-1",
                          "10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0.0/8/9", "10.0.0/8", "not-an-ip", "",
                          "/8", "1.2.3.4.5", "fe80::1%eth0/64", "gggg::/16"}) {
    const absl::StatusOr<Cidr> cidr = Cidr::Parse(bad, "worker.allow_cidrs[0]");
    EXPECT_EQ(cidr.status().code(), absl::StatusCode::kInvalidArgument) << '"' << bad << '"';
    EXPECT_THAT(std::string(cidr.status().message()), StartsWith("worker.allow_cidrs[0]: "))
        << '"' << bad << '"';
  }
}

TEST(CidrTest, ParseAcceptsNetworksAndBareAddresses) {
  const Cidr v4 = Cidr::Parse("10.0.0.0/8", "f").value();
  EXPECT_TRUE(v4.Contains(Ip("10.200.3.4")));
  EXPECT_FALSE(v4.Contains(Ip("11.0.0.1")));
  EXPECT_FALSE(v4.Contains(Ip("::a00:1")));  // IPv4-compatible form is not IPv4

  const Cidr host = Cidr::Parse("192.168.1.10", "f").value();
  EXPECT_TRUE(host.Contains(Ip("192.168.1.10")));
  EXPECT_FALSE(host.Contains(Ip("192.168.1.11")));

  const Cidr v6 = Cidr::Parse("2001:db8::/32", "f").value();
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.Contains(Ip("2001:db9::1")));

  // An IPv4 /0 covers every IPv4 address but no IPv6 one; ::/0 covers everything.
  const Cidr all_v4 = Cidr::Parse("0.0.0.0/0", "f").value();
  EXPECT_TRUE(all_v4.Contains(Ip("203.0.113.1")));
  EXPECT_FALSE(all_v4.Contains(Ip("2606:4700::1")));
  const Cidr all = Cidr::Parse("::/0", "f").value();
  EXPECT_TRUE(all.Contains(Ip("2606:4700::1")));
  EXPECT_TRUE(all.Contains(Ip("8.8.8.8")));

  // Odd prefix lengths mask inside a byte.
  const Cidr cgnat = Cidr::Parse("100.64.0.0/10", "f").value();
  EXPECT_TRUE(cgnat.Contains(Ip("100.127.0.1")));
  EXPECT_FALSE(cgnat.Contains(Ip("100.128.0.1")));
}

TEST(AddressGuardTest, ParseAddressRejectsNamesAndGarbage) {
  std::array<uint8_t, 16> ip{};
  EXPECT_FALSE(AddressGuard::ParseAddress("localhost", &ip));
  EXPECT_FALSE(AddressGuard::ParseAddress("127.1", &ip));
  EXPECT_FALSE(AddressGuard::ParseAddress("", &ip));
  EXPECT_FALSE(AddressGuard::ParseAddress("0x7f000001", &ip));
}

}  // namespace
}  // namespace hookrelay::http
