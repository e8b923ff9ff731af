#include "libs/signing/standard_signer.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::signing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Test vectors from REFERENCES.md (Standard Webhooks).
TEST(StandardSignerTest, MatchesStandardWebhooksVector) {
  const absl::StatusOr<StandardSigner> signer =
      StandardSigner::Create("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", absl::FromUnixSeconds(1614265330),
                         R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(StandardSignerTest, MatchesSecondStandardWebhooksVector) {
  const absl::StatusOr<StandardSigner> signer =
      StandardSigner::Create("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->Sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", absl::FromUnixSeconds(1649367553),
                         R"({"email":"test@example.com","username":"test_user"})"),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
}

TEST(StandardSignerTest, SignsWholeSecondsOfTheTimestamp) {
  const StandardSigner signer =
      StandardSigner::Create("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").value();
  EXPECT_EQ(signer.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek",
                        absl::FromUnixSeconds(1614265330) + absl::Milliseconds(999),
                        R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(StandardSignerTest, AppendSignatureKeepsExistingText) {
  const StandardSigner signer =
      StandardSigner::Create("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").value();
  std::string header = "v1,previous ";
  signer.AppendSignature("msg_p5jXN8AQM9LWM0D4loKWxJek", absl::FromUnixSeconds(1614265330),
                         R"({"test": 2432232314})", &header);
  EXPECT_EQ(header, "v1,previous v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(StandardSignerTest, CreateRejectsSecretWithoutWhsecPrefix) {
  const absl::StatusOr<StandardSigner> signer =
      StandardSigner::Create("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(signer.status().message()), StartsWith("signing.secret: "));
}

TEST(StandardSignerTest, CreateRejectsNonBase64Secret) {
  const absl::StatusOr<StandardSigner> signer = StandardSigner::Create("whsec_%%%%");
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("base64"));
}

TEST(StandardSignerTest, CreateRejectsShortKey) {
  const absl::StatusOr<StandardSigner> signer = StandardSigner::Create("whsec_c2hvcnQ=");
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("24..64"));
}

}  // namespace
}  // namespace hookrelay::signing
