#include "libs/signing/encoding.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::signing {
namespace {

using ::testing::HasSubstr;

// Expected values below come from the openssl CLI (`openssl base64`, `openssl dgst -hmac`).

TEST(EncodingTest, Base64EncodeMatchesOpenSslCliWithEachPaddingLength) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("hookrelay"), "aG9va3JlbGF5");
  EXPECT_EQ(Base64Encode("hookrelay!"), "aG9va3JlbGF5IQ==");
  EXPECT_EQ(Base64Encode("hookrelay!!"), "aG9va3JlbGF5ISE=");
  EXPECT_EQ(Base64Encode(std::string("\x00\xff\xfe\x10", 4)), "AP/+EA==");
}

TEST(EncodingTest, Base64DecodeDropsPaddingBytes) {
  EXPECT_EQ(Base64Decode("aG9va3JlbGF5").value(), "hookrelay");
  EXPECT_EQ(Base64Decode("aG9va3JlbGF5IQ==").value(), "hookrelay!");
  EXPECT_EQ(Base64Decode("aG9va3JlbGF5ISE=").value(), "hookrelay!!");
  EXPECT_EQ(Base64Decode("AP/+EA==").value(), std::string("\x00\xff\xfe\x10", 4));
  EXPECT_EQ(Base64Decode("").value(), "");
}

TEST(EncodingTest, Base64RoundTripsEveryLengthAndByte) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(static_cast<char>(i * 37 + 11));
    const absl::StatusOr<std::string> decoded = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_EQ(*decoded, data) << "length " << data.size();
  }
}

TEST(EncodingTest, Base64DecodeRejectsGarbage) {
  for (const char* bad : {"abc", "ab$d", "aG9v a3Jl", "QQ==QQ==", "A===", "====", "QQ=A",
                          "aG9va3JlbGF5\n", "-_-_", "QQ"}) {
    const absl::StatusOr<std::string> decoded = Base64Decode(bad);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("base64")) << bad;
  }
}

TEST(EncodingTest, HexEncodeIsLowercase) {
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(HexEncode(""), "");
}

TEST(EncodingTest, HmacSha256MatchesOpenSslCli) {
  // RFC 4231 test case 2 and the GitHub documentation example.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexEncode(HmacSha256("It's a Secret to Everybody", "Hello, World!")),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(EncodingTest, HmacSha256AcceptsEmptyKey) {
  EXPECT_EQ(HexEncode(HmacSha256("", "abc")),
            "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
}

TEST(EncodingTest, HmacSha256DoesNotReuseThePreviousKey) {
  const std::string first = HmacSha256("key-one-key-one", "body");
  const std::string second = HmacSha256("key-two-key-two", "body");
  EXPECT_NE(first, second);
  EXPECT_EQ(HmacSha256("key-one-key-one", "body"), first);
}

TEST(EncodingTest, HmacSha256WithTheSameKeyInARowStaysCorrect) {
  // The thread's context keeps the last key; each result must still match RFC 4231 case 2,
  // whatever was signed before, and an empty key must not fall back to the previous one.
  const std::string jefe = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  const std::string empty = "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")), jefe) << i;
  }
  EXPECT_EQ(HexEncode(HmacSha256("", "abc")), empty);
  EXPECT_EQ(HexEncode(HmacSha256("", "abc")), empty);
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")), jefe);
  // A key that only extends the last one is a different key.
  EXPECT_NE(HexEncode(HmacSha256("Jefe2", "what do ya want for nothing?")), jefe);
}

TEST(EncodingTest, HmacSha1MatchesOpenSslCli) {
  EXPECT_EQ(HexEncode(HmacSha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(HexEncode(HmacSha1("It's a Secret to Everybody", "Hello, World!")),
            "01dc10d0c83e72ed246219cdd91669667fe2ca59");
}

}  // namespace
}  // namespace hookrelay::signing
