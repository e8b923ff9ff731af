#include "libs/signing/request_signer.h"

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::signing {
namespace {

using ::hookrelay::v1::Signing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

MATCHER_P2(HeaderIs, name, value, "") { return arg.name == name && arg.value == value; }

// Expected signatures were computed independently with the openssl CLI, e.g.
//   printf '%s' 'Hello, World!' | openssl dgst -sha256 -hmac "It's a Secret to Everybody"
constexpr char kSecretA[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kSecretB[] = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
constexpr char kMsgId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr char kBody[] = R"({"test": 2432232314})";
constexpr char kGithubSecret[] = "It's a Secret to Everybody";
constexpr char kGithubBody[] = "Hello, World!";

class RequestSignerTest : public ::testing::Test {
 protected:
  const absl::Time ts_ = absl::FromUnixSeconds(1614265330);
  const absl::Time now_ = absl::FromUnixSeconds(1700000000);

  static void AddPrevious(Signing* signing, const std::string& secret, absl::Time expires_at) {
    auto* previous = signing->add_previous_secrets();
    previous->set_secret(secret);
    previous->mutable_expires_at()->set_seconds(absl::ToUnixSeconds(expires_at));
  }

  // Signs an attempt at `ts` of an event that occurred at `event_time_`.
  std::vector<Header> SignWith(const Signing& signing, absl::Time ts, absl::string_view body) {
    const absl::StatusOr<RequestSigner> signer = RequestSigner::Create(signing, now_);
    EXPECT_TRUE(signer.ok()) << signer.status();
    std::vector<Header> headers;
    if (signer.ok()) signer->Sign(kMsgId, ts, event_time_, body, &headers);
    return headers;
  }

  // 2025-10-31T12:34:56.789Z (date -u -d 2025-10-31T12:34:56Z +%s).
  google::protobuf::Timestamp event_time_ = [] {
    google::protobuf::Timestamp t;
    t.set_seconds(1761914096);
    t.set_nanos(789'000'000);
    return t;
  }();
};

TEST_F(RequestSignerTest, UnspecifiedSchemeSignsStandardWebhooksHeaders) {
  Signing signing;
  signing.set_secret(kSecretA);
  EXPECT_THAT(
      SignWith(signing, ts_, kBody),
      ElementsAre(
          HeaderIs("webhook-id", kMsgId), HeaderIs("webhook-timestamp", "1614265330"),
          HeaderIs("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")));
}

TEST_F(RequestSignerTest, RotationSignsWithCurrentThenActivePreviousSecret) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_STANDARD);
  signing.set_secret(kSecretA);
  AddPrevious(&signing, kSecretB, now_ + absl::Hours(1));
  const std::vector<Header> headers = SignWith(signing, ts_, kBody);
  ASSERT_EQ(headers.size(), 3u);
  // The second signature: openssl dgst -sha256 -mac HMAC -macopt hexkey:<decoded B> | base64.
  EXPECT_THAT(headers[2], HeaderIs("webhook-signature",
                                   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
                                   "v1,78nXHjpFP0tVJQW5D0SBwmVyyW87BV/rL6MgfM/Bw44="));
}

TEST_F(RequestSignerTest, RotationSkipsExpiredPreviousSecret) {
  Signing signing;
  signing.set_secret(kSecretA);
  AddPrevious(&signing, kSecretB, now_);  // expires exactly now: no longer active
  const std::vector<Header> headers = SignWith(signing, ts_, kBody);
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_THAT(headers[2],
              HeaderIs("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
}

TEST_F(RequestSignerTest, HexSha256SignsBodyWithPrefixLikeGithub) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
  signing.set_secret(kGithubSecret);
  signing.set_prefix("sha256=");
  EXPECT_THAT(SignWith(signing, ts_, kGithubBody),
              ElementsAre(HeaderIs(
                  "X-Hub-Signature-256",
                  "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")));
}

TEST_F(RequestSignerTest, HexSha256KeysWithTheWhsecSecretStringItself) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
  signing.set_secret(kSecretA);
  signing.set_header("X-MockReview-Signature");
  EXPECT_THAT(
      SignWith(signing, ts_, kBody),
      ElementsAre(HeaderIs("X-MockReview-Signature",
                           "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c")));
}

// During a rotation's grace period the hex schemes keep the current secret's signature in
// their header and add the active previous secrets' in "<header>-Previous", newest first
// (expected values: printf '%s' '{"test": 2432232314}' | openssl dgst -sha256 -hmac <secret>).
TEST_F(RequestSignerTest, HexRotationSignsWithPreviousSecretsInASecondHeader) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
  signing.set_secret(kSecretA);
  signing.set_header("X-MockReview-Signature");
  AddPrevious(&signing, "an-older-secret-value-0123", now_ + absl::Hours(1));
  AddPrevious(&signing, "an-expired-secret-value", now_ - absl::Seconds(1));
  AddPrevious(&signing, kSecretB, now_ + absl::Hours(2));  // rotated last: expires last
  EXPECT_THAT(
      SignWith(signing, ts_, kBody),
      ElementsAre(HeaderIs("X-MockReview-Signature",
                           "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"),
                  HeaderIs("X-MockReview-Signature-Previous",
                           "fc40649f80ed2d64aa1f71768b00c87e0db70663005ac910f741c296eff3be32, "
                           "0d9ae934d324c3300771b7272a98a04de0737508720584e98d2e4b168a1ff787")));
}

TEST_F(RequestSignerTest, HexSha1RotationKeepsThePrefixOnEachPreviousSignature) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_HMAC_SHA1_HEX);
  signing.set_secret(kSecretA);
  signing.set_prefix("sha1=");
  AddPrevious(&signing, kSecretB, now_ + absl::Hours(1));
  EXPECT_THAT(
      SignWith(signing, ts_, kBody),
      ElementsAre(
          HeaderIs("X-Hub-Signature", "sha1=2da57a63580e1b8259222d7c976d87cd11bdfb5b"),
          HeaderIs("X-Hub-Signature-Previous", "sha1=3295fc8c0ded286eb98bbb5074bcc48caa6a8b03")));
  // Once the grace period is over the second header is gone, also from a signer built
  // before it ended.
  const RequestSigner signer = RequestSigner::Create(signing, now_).value();
  std::vector<Header> headers;
  signer.Sign(kMsgId, now_ + absl::Hours(1), event_time_, kBody, &headers);
  EXPECT_THAT(headers, ElementsAre(HeaderIs("X-Hub-Signature",
                                            "sha1=2da57a63580e1b8259222d7c976d87cd11bdfb5b")));
  headers.clear();
  signer.Sign(kMsgId, now_ + absl::Hours(1) - absl::Milliseconds(1), event_time_, kBody, &headers);
  EXPECT_THAT(headers, SizeIs(2));
}

TEST_F(RequestSignerTest, HexSha1UsesLegacyGithubHeader) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_HMAC_SHA1_HEX);
  signing.set_secret(kGithubSecret);
  signing.set_prefix("sha1=");
  EXPECT_THAT(
      SignWith(signing, ts_, kGithubBody),
      ElementsAre(HeaderIs("X-Hub-Signature", "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59")));
}

TEST_F(RequestSignerTest, StripeSignsTimestampDotBodyForEachActiveSecret) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_STRIPE);
  signing.set_secret(kSecretA);
  AddPrevious(&signing, kSecretB, now_ + absl::Hours(1));
  AddPrevious(&signing, "an-expired-secret-value", now_ - absl::Seconds(1));
  EXPECT_THAT(
      SignWith(signing, ts_, kBody),
      ElementsAre(HeaderIs("Stripe-Signature",
                           "t=1614265330,"
                           "v1=2e37df5d4a028c51a7f3133d64ae1e300d2c2c900f1b1d49d4369ad2530f8964,"
                           "v1=95d993ff26ccd698cc4b6d4f2349bddca4f491f3067821823cd5b804f3aef1b6")));
}

class TimestampHeaderTest : public RequestSignerTest {
 protected:
  Signing MinibackSigning(Signing::TimestampFormat format) {
    Signing signing;
    signing.set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
    signing.set_secret(kGithubSecret);
    signing.set_header("X-Miniback-Signature");
    signing.set_timestamp_header("X-Miniback-Timestamp");
    signing.set_timestamp_format(format);
    return signing;
  }
  // 2024-01-15T10:30:00.123Z, i.e. unix 1705314600 (date -u -d ... +%s).
  const absl::Time fixed_ =
      absl::FromCivil(absl::CivilSecond(2024, 1, 15, 10, 30, 0), absl::UTCTimeZone()) +
      absl::Milliseconds(123);
};

TEST_F(TimestampHeaderTest, Iso8601FormatHasMillisecondsAndZ) {
  const std::vector<Header> headers =
      SignWith(MinibackSigning(Signing::TIMESTAMP_FORMAT_ISO8601), fixed_, kGithubBody);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_THAT(headers[0],
              HeaderIs("X-Miniback-Signature",
                       "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_THAT(headers[1], HeaderIs("X-Miniback-Timestamp", "2024-01-15T10:30:00.123Z"));
}

TEST_F(TimestampHeaderTest, EventSourceCarriesTheEventTimeOnEveryAttempt) {
  Signing signing = MinibackSigning(Signing::TIMESTAMP_FORMAT_ISO8601);
  signing.set_timestamp_source(Signing::TIMESTAMP_SOURCE_EVENT);
  for (absl::Time attempt : {fixed_, fixed_ + absl::Seconds(16)}) {
    const std::vector<Header> headers = SignWith(signing, attempt, kGithubBody);
    ASSERT_EQ(headers.size(), 2u);
    EXPECT_THAT(headers[1], HeaderIs("X-Miniback-Timestamp", "2025-10-31T12:34:56.789Z"));
  }
  signing.set_timestamp_format(Signing::TIMESTAMP_FORMAT_UNIX);
  EXPECT_THAT(SignWith(signing, fixed_, kGithubBody)[1],
              HeaderIs("X-Miniback-Timestamp", "1761914096"));
  // ATTEMPT, like UNSPECIFIED, is the attempt's time.
  signing.set_timestamp_source(Signing::TIMESTAMP_SOURCE_ATTEMPT);
  EXPECT_THAT(SignWith(signing, fixed_, kGithubBody)[1],
              HeaderIs("X-Miniback-Timestamp", "1705314600"));
}

TEST_F(TimestampHeaderTest, UnixFormatIsWholeSeconds) {
  for (auto format : {Signing::TIMESTAMP_FORMAT_UNIX, Signing::TIMESTAMP_FORMAT_UNSPECIFIED}) {
    const std::vector<Header> headers = SignWith(MinibackSigning(format), fixed_, kGithubBody);
    ASSERT_EQ(headers.size(), 2u);
    EXPECT_THAT(headers[1], HeaderIs("X-Miniback-Timestamp", "1705314600"));
  }
}

TEST_F(RequestSignerTest, NoneSchemeAddsNoHeaders) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_NONE);
  EXPECT_THAT(SignWith(signing, ts_, kBody), IsEmpty());
}

TEST_F(RequestSignerTest, SignAppendsToExistingHeaders) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
  signing.set_secret(kGithubSecret);
  const RequestSigner signer = RequestSigner::Create(signing, now_).value();
  std::vector<Header> headers = {{"Content-Type", "application/json"}};
  signer.Sign(kMsgId, ts_, event_time_, kGithubBody, &headers);
  EXPECT_THAT(headers, ElementsAre(HeaderIs("Content-Type", "application/json"),
                                   HeaderIs("X-Hub-Signature-256",
                                            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4"
                                            "379c8b043e17")));
}

TEST_F(RequestSignerTest, CreateRejectsInvalidConfiguration) {
  Signing signing;
  signing.set_secret("not-a-whsec-secret-for-standard");
  const absl::StatusOr<RequestSigner> signer = RequestSigner::Create(signing, now_);
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(signer.status().message()), StartsWith("signing.secret: "));
}

// ValidateSigning: every rejection is INVALID_ARGUMENT and names the field at fault.
class ValidateSigningTest : public ::testing::Test {
 protected:
  static Signing HexSigning() {
    Signing signing;
    signing.set_scheme(v1::SIGNING_SCHEME_HMAC_SHA256_HEX);
    signing.set_secret(kGithubSecret);
    signing.set_header("X-Hub-Signature-256");
    signing.set_prefix("sha256=");
    return signing;
  }
  static void ExpectRejected(const Signing& signing, absl::string_view field) {
    const absl::Status status = ValidateSigning(signing);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), StartsWith(absl::StrCat(field, ": "))) << status;
  }
};

TEST_F(ValidateSigningTest, AcceptsGoodHexConfiguration) {
  EXPECT_TRUE(ValidateSigning(HexSigning()).ok()) << ValidateSigning(HexSigning());
}

TEST_F(ValidateSigningTest, RejectsBadHeaderNames) {
  for (const char* bad :
       {"X Hub", "X-Hub:", "X-Hub\r\nEvil: 1", "X-Hüb", "(sig)", "Host", "content-length"}) {
    Signing signing = HexSigning();
    signing.set_header(bad);
    ExpectRejected(signing, "signing.header");
  }
  Signing signing = HexSigning();
  signing.set_header(std::string(257, 'x'));
  ExpectRejected(signing, "signing.header");
}

TEST_F(ValidateSigningTest, RejectsCrLfInPrefix) {
  for (const std::string& bad :
       {std::string("sha256=\r\nX-Evil: 1"), std::string("sha256=\n"), std::string("a\0b", 3)}) {
    Signing signing = HexSigning();
    signing.set_prefix(bad);
    ExpectRejected(signing, "signing.prefix");
  }
}

TEST_F(ValidateSigningTest, RejectsBadTimestampHeader) {
  Signing signing = HexSigning();
  signing.set_timestamp_header("X-Timestamp\n");
  ExpectRejected(signing, "signing.timestamp_header");
  signing.set_timestamp_header("x-hub-signature-256");
  ExpectRejected(signing, "signing.timestamp_header");
}

TEST_F(ValidateSigningTest, RejectsMissingOrShortSecret) {
  Signing signing = HexSigning();
  signing.clear_secret();
  ExpectRejected(signing, "signing.secret");
  signing.set_secret("short");
  ExpectRejected(signing, "signing.secret");
}

TEST_F(ValidateSigningTest, RejectsBadPreviousSecretNamingItsIndex) {
  Signing signing;
  signing.set_secret(kSecretA);
  auto* good = signing.add_previous_secrets();
  good->set_secret(kSecretB);
  good->mutable_expires_at()->set_seconds(1700000000);
  auto* bad = signing.add_previous_secrets();
  bad->set_secret("whsec_%%%%");
  bad->mutable_expires_at()->set_seconds(1700000000);
  ExpectRejected(signing, "signing.previous_secrets[1].secret");
  bad->set_secret(kSecretB);
  bad->clear_expires_at();
  ExpectRejected(signing, "signing.previous_secrets[1].expires_at");
}

TEST_F(ValidateSigningTest, RejectsUnknownEnumValues) {
  Signing signing = HexSigning();
  signing.set_scheme(static_cast<v1::SigningScheme>(42));
  ExpectRejected(signing, "signing.scheme");
  signing = HexSigning();
  signing.set_timestamp_format(static_cast<Signing::TimestampFormat>(42));
  ExpectRejected(signing, "signing.timestamp_format");
}

TEST_F(ValidateSigningTest, RejectsEventTimestampSourceWithoutATimestampHeader) {
  Signing signing = HexSigning();
  signing.set_timestamp_source(Signing::TIMESTAMP_SOURCE_EVENT);
  ExpectRejected(signing, "signing.timestamp_source");
  signing.set_timestamp_header("X-Timestamp");
  EXPECT_TRUE(ValidateSigning(signing).ok()) << ValidateSigning(signing);
  signing.set_scheme(v1::SIGNING_SCHEME_STANDARD);  // its timestamp is signed: always now
  signing.set_secret(kSecretA);
  ExpectRejected(signing, "signing.timestamp_source");
  signing = HexSigning();
  signing.set_timestamp_source(static_cast<Signing::TimestampSource>(42));
  ExpectRejected(signing, "signing.timestamp_source");
}

TEST_F(ValidateSigningTest, RejectsHexHeadersThatLeaveNoRoomForTheRotationHeader) {
  Signing signing = HexSigning();
  signing.set_header(std::string(248, 'x'));  // "-Previous" would make it 257 characters
  ExpectRejected(signing, "signing.header");
  signing.set_header(std::string(247, 'x'));
  EXPECT_TRUE(ValidateSigning(signing).ok());
  signing = HexSigning();
  signing.set_timestamp_header("X-Hub-Signature-256-Previous");
  ExpectRejected(signing, "signing.timestamp_header");
}

TEST_F(ValidateSigningTest, NoneSchemeNeedsNoSecret) {
  Signing signing;
  signing.set_scheme(v1::SIGNING_SCHEME_NONE);
  EXPECT_TRUE(ValidateSigning(signing).ok());
}

}  // namespace
}  // namespace hookrelay::signing
