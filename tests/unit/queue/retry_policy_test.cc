#include "libs/queue/retry_policy.h"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/resources.pb.h"

namespace hookrelay::queue {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::StartsWith;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

v1::RetryPolicy Policy(std::vector<int64_t> delays_ms, std::optional<int> jitter = std::nullopt,
                       int64_t max_retry_after_ms = 0) {
  v1::RetryPolicy p;
  for (int64_t ms : delays_ms) p.add_delays_ms(ms);
  if (jitter.has_value()) p.set_jitter_percent(*jitter);
  p.set_max_retry_after_ms(max_retry_after_ms);
  return p;
}

std::string HttpDate(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", t, absl::UTCTimeZone());
}

class RetryPolicyTest : public ::testing::Test {
 protected:
  std::optional<absl::Duration> Next(const RetrySchedule& s, int failed_attempt,
                                     absl::string_view retry_after = "") {
    return s.NextDelay(failed_attempt, retry_after, kNow, absl::BitGenRef(rng_));
  }
  std::mt19937 rng_{20240607};
};

TEST_F(RetryPolicyTest, DefaultDelaysAreTheDocumentedSchedule) {
  EXPECT_THAT(DefaultRetryDelays(),
              ElementsAre(absl::Seconds(5), absl::Minutes(5), absl::Minutes(30), absl::Hours(2),
                          absl::Hours(5), absl::Hours(10), absl::Hours(10)));
  EXPECT_EQ(kDefaultJitterPercent, 20);
  EXPECT_EQ(RetrySchedule(v1::RetryPolicy()).max_attempts(), 8);
}

TEST_F(RetryPolicyTest, EmptyPolicyWithoutJitterFollowsDefaultScheduleThenGivesUp) {
  const RetrySchedule s(Policy({}, /*jitter=*/0));
  for (int attempt = 1; attempt <= 7; ++attempt) {
    EXPECT_THAT(Next(s, attempt), Optional(DefaultRetryDelays()[attempt - 1]))
        << "attempt " << attempt;
  }
  EXPECT_EQ(Next(s, 8), std::nullopt);
  EXPECT_EQ(Next(s, 0), std::nullopt);
}

TEST_F(RetryPolicyTest, DefaultJitterStaysWithinTwentyPercentAndSpreads) {
  const RetrySchedule s{v1::RetryPolicy()};
  for (int attempt = 1; attempt <= 7; ++attempt) {
    const absl::Duration base = DefaultRetryDelays()[attempt - 1];
    absl::Duration lo = absl::InfiniteDuration();
    absl::Duration hi = -absl::InfiniteDuration();
    for (int i = 0; i < 5000; ++i) {
      const std::optional<absl::Duration> d = Next(s, attempt);
      ASSERT_TRUE(d.has_value());
      lo = std::min(lo, *d);
      hi = std::max(hi, *d);
    }
    SCOPED_TRACE(::testing::Message() << "attempt " << attempt << " base " << base);
    EXPECT_GE(lo, base * 0.8);
    EXPECT_LE(hi, base * 1.2);
    // The draws really are jittered, over most of the ±20 % band.
    EXPECT_LT(lo, base * 0.82);
    EXPECT_GT(hi, base * 1.18);
  }
  EXPECT_EQ(Next(s, 8), std::nullopt);
}

TEST_F(RetryPolicyTest, CustomJitterPercentBoundsTheDraws) {
  const RetrySchedule s(Policy({10000}, /*jitter=*/5));
  for (int i = 0; i < 2000; ++i) {
    const absl::Duration d = Next(s, 1).value();
    ASSERT_GE(d, absl::Milliseconds(9500));
    ASSERT_LE(d, absl::Milliseconds(10500));
  }
}

TEST_F(RetryPolicyTest, MinibackPolicyRetriesAfterOneFiveFifteenSecondsThenDrops) {
  const RetrySchedule s(Policy({1000, 5000, 15000}, /*jitter=*/0));
  EXPECT_EQ(s.max_attempts(), 4);
  EXPECT_THAT(Next(s, 1), Optional(absl::Seconds(1)));
  EXPECT_THAT(Next(s, 2), Optional(absl::Seconds(5)));
  EXPECT_THAT(Next(s, 3), Optional(absl::Seconds(15)));
  EXPECT_EQ(Next(s, 4), std::nullopt);
}

TEST_F(RetryPolicyTest, ZeroDelayRetriesAtOnce) {
  const RetrySchedule s(Policy({0, 1000}));
  EXPECT_THAT(Next(s, 1), Optional(absl::ZeroDuration()));
}

TEST_F(RetryPolicyTest, RetryAfterSecondsLongerThanScheduleIsHonoured) {
  const RetrySchedule s(Policy({}, /*jitter=*/0));
  EXPECT_THAT(Next(s, 1, "120"), Optional(absl::Seconds(120)));
  EXPECT_THAT(Next(s, 1, " 42 "), Optional(absl::Seconds(42)));
}

TEST_F(RetryPolicyTest, RetryAfterHttpDateIsHonoured) {
  const RetrySchedule s(Policy({}, /*jitter=*/0));
  EXPECT_THAT(Next(s, 1, HttpDate(kNow + absl::Minutes(10))), Optional(absl::Minutes(10)));
}

TEST_F(RetryPolicyTest, RetryAfterIsClampedToThePolicyMaximum) {
  const RetrySchedule s(Policy({1000}, /*jitter=*/0, /*max_retry_after_ms=*/60000));
  EXPECT_THAT(Next(s, 1, "3600"), Optional(absl::Seconds(60)));
  EXPECT_THAT(Next(s, 1, HttpDate(kNow + absl::Hours(48))), Optional(absl::Seconds(60)));
}

TEST_F(RetryPolicyTest, RetryAfterIsClampedToOneDayByDefault) {
  const RetrySchedule s(Policy({}, /*jitter=*/0));
  EXPECT_EQ(kDefaultMaxRetryAfter, absl::Hours(24));
  EXPECT_THAT(Next(s, 1, "604800"), Optional(absl::Hours(24)));
  EXPECT_THAT(Next(s, 1, "9223372036854775807"), Optional(absl::Hours(24)));
}

TEST_F(RetryPolicyTest, RetryAfterNeverShortensTheSchedule) {
  const RetrySchedule s(Policy({}, /*jitter=*/0));
  EXPECT_THAT(Next(s, 2, "1"), Optional(absl::Minutes(5)));
  EXPECT_THAT(Next(s, 3, HttpDate(kNow + absl::Seconds(30))), Optional(absl::Minutes(30)));
  // A clamp below the scheduled delay does not shorten it either.
  const RetrySchedule clamped(Policy({600000}, /*jitter=*/0, /*max_retry_after_ms=*/60000));
  EXPECT_THAT(Next(clamped, 1, "3600"), Optional(absl::Minutes(10)));
}

TEST_F(RetryPolicyTest, RetryAfterDoesNotExtendTheNumberOfAttempts) {
  const RetrySchedule s(Policy({1000, 5000, 15000}, /*jitter=*/0));
  EXPECT_EQ(Next(s, 4, "5"), std::nullopt);
}

TEST_F(RetryPolicyTest, GarbageRetryAfterIsIgnored) {
  const RetrySchedule s(Policy({}, /*jitter=*/0));
  const std::vector<std::string> garbage_values = {"soon",
                                                   "-5",
                                                   "12abc",
                                                   "1.5",
                                                   "0x10",
                                                   "Wed, 99 Foo 2015 07:28:00 GMT",
                                                   "2030-01-01T00:00:00Z",
                                                   HttpDate(kNow - absl::Hours(1))};
  for (const std::string& garbage : garbage_values) {
    EXPECT_THAT(Next(s, 1, garbage), Optional(absl::Seconds(5))) << "Retry-After: " << garbage;
  }
}

TEST(ParseRetryAfterTest, ParsesSecondsAndDates) {
  EXPECT_THAT(ParseRetryAfter("0", kNow), Optional(absl::ZeroDuration()));
  EXPECT_THAT(ParseRetryAfter("7", kNow), Optional(absl::Seconds(7)));
  EXPECT_THAT(ParseRetryAfter(
                  "Wed, 21 Oct 2015 07:28:00 GMT",
                  absl::FromCivil(absl::CivilSecond(2015, 10, 21, 7, 27, 0), absl::UTCTimeZone())),
              Optional(absl::Seconds(60)));
}

TEST(ParseRetryAfterTest, RejectsGarbageNegativeAndPast) {
  EXPECT_EQ(ParseRetryAfter("", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("later", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter(HttpDate(kNow - absl::Seconds(1)), kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter(HttpDate(kNow), kNow), std::nullopt);
}

TEST(ValidateRetryPolicyTest, AcceptsDefaultMinibackAndBoundaryPolicies) {
  EXPECT_TRUE(ValidateRetryPolicy(v1::RetryPolicy(), "webhook.retry_policy").ok());
  EXPECT_TRUE(ValidateRetryPolicy(Policy({1000, 5000, 15000}, 0), "webhook.retry_policy").ok());
  EXPECT_TRUE(ValidateRetryPolicy(Policy({7LL * 24 * 3600 * 1000}, 50, 7LL * 24 * 3600 * 1000),
                                  "webhook.retry_policy")
                  .ok());
  EXPECT_TRUE(ValidateRetryPolicy(Policy(std::vector<int64_t>(20, 1000)), "p").ok());
}

struct BadPolicy {
  const char* name;
  v1::RetryPolicy policy;
  const char* field;
};

TEST(ValidateRetryPolicyTest, RejectsBadValuesNamingTheField) {
  const std::vector<BadPolicy> cases = {
      {"negative delay", Policy({1000, -1}), "webhook.retry_policy.delays_ms[1]: "},
      {"delay over 7 days", Policy({7LL * 24 * 3600 * 1000 + 1}),
       "webhook.retry_policy.delays_ms[0]: "},
      {"21 steps", Policy(std::vector<int64_t>(21, 1000)), "webhook.retry_policy.delays_ms: "},
      {"jitter 51", Policy({1000}, 51), "webhook.retry_policy.jitter_percent: "},
      {"jitter -1", Policy({1000}, -1), "webhook.retry_policy.jitter_percent: "},
      {"negative max_retry_after", Policy({1000}, 0, -1),
       "webhook.retry_policy.max_retry_after_ms: "},
      {"max_retry_after over 7 days", Policy({1000}, 0, 7LL * 24 * 3600 * 1000 + 1),
       "webhook.retry_policy.max_retry_after_ms: "},
  };
  for (const BadPolicy& c : cases) {
    const absl::Status st = ValidateRetryPolicy(c.policy, "webhook.retry_policy");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(st.message()), StartsWith(c.field)) << c.name;
  }
}

}  // namespace
}  // namespace hookrelay::queue
