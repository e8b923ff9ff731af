#include "libs/signing/secret.h"

#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/signing/encoding.h"

namespace hookrelay::signing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(SecretTest, GenerateSecretIsWhsecWith32RandomBytes) {
  const absl::StatusOr<std::string> secret = GenerateSecret();
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_THAT(*secret, StartsWith("whsec_"));
  const absl::StatusOr<std::string> key = SecretKeyBytes(*secret);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_GE(key->size(), 24u);
  EXPECT_EQ(key->size(), 32u);
}

TEST(SecretTest, GenerateSecretDiffersBetweenCalls) {
  EXPECT_NE(GenerateSecret().value(), GenerateSecret().value());
}

TEST(SecretTest, SecretKeyBytesDecodesWhsecSecret) {
  const std::string key(24, '\x5a');
  EXPECT_EQ(SecretKeyBytes("whsec_" + Base64Encode(key)).value(), key);
}

TEST(SecretTest, SecretKeyBytesRejectsWhsecKeysOutside24To64Bytes) {
  for (size_t size : {0u, 23u, 65u}) {
    const absl::StatusOr<std::string> key =
        SecretKeyBytes("whsec_" + Base64Encode(std::string(size, 'k')));
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_THAT(std::string(key.status().message()), StartsWith("signing.secret: ")) << size;
  }
  EXPECT_TRUE(SecretKeyBytes("whsec_" + Base64Encode(std::string(64, 'k'))).ok());
}

TEST(SecretTest, SecretKeyBytesRejectsWhsecWithBadBase64WithoutQuotingIt) {
  const absl::StatusOr<std::string> key = SecretKeyBytes("whsec_not*base64*at*all*secretpart");
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(key.status().message()), StartsWith("signing.secret: "));
  EXPECT_THAT(std::string(key.status().message()), Not(HasSubstr("secretpart")));
}

TEST(SecretTest, SecretKeyBytesKeepsOtherSecretsAsIs) {
  EXPECT_EQ(SecretKeyBytes("It's a Secret to Everybody").value(), "It's a Secret to Everybody");
}

TEST(SecretTest, PlainSecretsMustBe16To256Bytes) {
  for (size_t size : {0u, 15u, 257u}) {
    const absl::StatusOr<std::string> key = SecretKeyBytes(std::string(size, 's'));
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_THAT(std::string(key.status().message()), StartsWith("signing.secret: ")) << size;
  }
  EXPECT_TRUE(SecretKeyBytes(std::string(16, 's')).ok());
  EXPECT_TRUE(SecretKeyBytes(std::string(256, 's')).ok());
}

TEST(SecretTest, RawSecretKeyKeepsTheWhsecPrefix) {
  EXPECT_EQ(RawSecretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").value(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(RawSecretKey("short").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SecretTest, MaskSecretNeverContainsTheSecretBody) {
  const std::string generated = GenerateSecret().value();
  for (const std::string& secret :
       {generated, std::string("It's a Secret to Everybody"), std::string("whsec_")}) {
    const std::string masked = MaskSecret(secret);
    EXPECT_THAT(masked, HasSubstr("****")) << secret;
    const std::string body = secret.substr(absl::StartsWith(secret, "whsec_") ? 6 : 0);
    for (size_t i = 0; i + 4 <= body.size(); ++i) {
      EXPECT_THAT(masked, Not(HasSubstr(body.substr(i, 4)))) << secret;
    }
  }
  EXPECT_EQ(MaskSecret(generated), "whsec_****");
  EXPECT_EQ(MaskSecret("It's a Secret to Everybody"), "****");
  EXPECT_EQ(MaskSecret(""), "");
}

}  // namespace
}  // namespace hookrelay::signing
