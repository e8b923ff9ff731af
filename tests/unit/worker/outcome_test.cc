#include "services/worker/outcome.h"

#include <random>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/http/sender.h"
#include "libs/queue/retry_policy.h"

namespace hookrelay::worker {
namespace {

using ::testing::Optional;
using ::testing::StrEq;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

http::HttpResponse Status(int status, std::string retry_after = "") {
  http::HttpResponse r;
  r.status = status;
  r.retry_after = std::move(retry_after);
  return r;
}

http::HttpResponse Failure(http::FailureKind kind) {
  http::HttpResponse r;
  r.failure = kind;
  r.error = "test failure";
  return r;
}

v1::RetryPolicy NoJitter(std::vector<int64_t> delays_ms = {}) {
  v1::RetryPolicy p;
  for (int64_t ms : delays_ms) p.add_delays_ms(ms);
  p.set_jitter_percent(0);
  return p;
}

class DecideTest : public ::testing::Test {
 protected:
  Decision Run(const http::HttpResponse& r, int attempt = 1) {
    return Decide(r, attempt, schedule_, kNow, absl::BitGenRef(rng_));
  }
  std::mt19937 rng_{7};
  queue::RetrySchedule schedule_{NoJitter()};
};

TEST_F(DecideTest, AnyTwoHundredIsSuccess) {
  for (int status : {200, 201, 202, 204, 299}) {
    const Decision d = Run(Status(status));
    EXPECT_EQ(d.status, v1::DELIVERY_STATUS_SUCCEEDED) << status;
    EXPECT_EQ(d.error_class, v1::ERROR_CLASS_UNSPECIFIED) << status;
    EXPECT_EQ(d.retry_in, std::nullopt) << status;
    EXPECT_FALSE(d.disable_hook) << status;
  }
}

TEST_F(DecideTest, SuccessOnTheLastAttemptIsStillSuccess) {
  EXPECT_EQ(Run(Status(200), schedule_.max_attempts()).status, v1::DELIVERY_STATUS_SUCCEEDED);
}

TEST_F(DecideTest, GoneFailsAndDisablesTheHookWithoutRetry) {
  const Decision d = Run(Status(410, "5"));
  EXPECT_EQ(d.status, v1::DELIVERY_STATUS_FAILED);
  EXPECT_EQ(d.error_class, v1::ERROR_CLASS_HTTP_4XX);
  EXPECT_TRUE(d.disable_hook);
  EXPECT_EQ(d.retry_in, std::nullopt);
}

TEST_F(DecideTest, BlockedAndInvalidTargetFailWithoutRetry) {
  const Decision blocked = Run(Failure(http::FailureKind::kBlocked));
  EXPECT_EQ(blocked.status, v1::DELIVERY_STATUS_FAILED);
  EXPECT_EQ(blocked.error_class, v1::ERROR_CLASS_BLOCKED);
  EXPECT_EQ(blocked.retry_in, std::nullopt);
  EXPECT_FALSE(blocked.disable_hook);

  const Decision invalid = Run(Failure(http::FailureKind::kInvalidTarget));
  EXPECT_EQ(invalid.status, v1::DELIVERY_STATUS_FAILED);
  EXPECT_EQ(invalid.error_class, v1::ERROR_CLASS_INVALID_TARGET);
  EXPECT_EQ(invalid.retry_in, std::nullopt);
}

struct RetryCase {
  http::HttpResponse response;
  v1::ErrorClass error_class;
};

TEST_F(DecideTest, RetryableOutcomesAreScheduledOnTheFirstDelay) {
  const std::vector<RetryCase> cases = {
      {Status(500), v1::ERROR_CLASS_HTTP_5XX},
      {Status(502), v1::ERROR_CLASS_HTTP_5XX},
      {Status(503), v1::ERROR_CLASS_HTTP_5XX},
      {Status(408), v1::ERROR_CLASS_HTTP_4XX},
      {Status(429), v1::ERROR_CLASS_HTTP_4XX},
      {Status(400), v1::ERROR_CLASS_HTTP_4XX},
      {Status(404), v1::ERROR_CLASS_HTTP_4XX},
      {Status(302), v1::ERROR_CLASS_HTTP_OTHER},
      {Failure(http::FailureKind::kTimeout), v1::ERROR_CLASS_TIMEOUT},
      {Failure(http::FailureKind::kConnect), v1::ERROR_CLASS_CONNECT},
      {Failure(http::FailureKind::kDns), v1::ERROR_CLASS_DNS},
      {Failure(http::FailureKind::kTls), v1::ERROR_CLASS_TLS},
  };
  for (const RetryCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "status " << c.response.status << " failure "
                                      << http::FailureKindName(c.response.failure));
    const Decision d = Run(c.response);
    EXPECT_EQ(d.status, v1::DELIVERY_STATUS_RETRY_SCHEDULED);
    EXPECT_EQ(d.error_class, c.error_class);
    EXPECT_THAT(d.retry_in, Optional(absl::Seconds(5)));
    EXPECT_FALSE(d.disable_hook);
  }
}

TEST_F(DecideTest, TimeoutAfterHeadersIsATimeoutNotASuccess) {
  http::HttpResponse r = Failure(http::FailureKind::kTimeout);
  r.status = 200;  // the head arrived, the body never finished
  const Decision d = Run(r);
  EXPECT_EQ(d.status, v1::DELIVERY_STATUS_RETRY_SCHEDULED);
  EXPECT_EQ(d.error_class, v1::ERROR_CLASS_TIMEOUT);
}

TEST_F(DecideTest, LaterAttemptsUseLaterDelays) {
  EXPECT_THAT(Run(Status(500), 2).retry_in, Optional(absl::Minutes(5)));
  EXPECT_THAT(Run(Status(500), 7).retry_in, Optional(absl::Hours(10)));
}

TEST_F(DecideTest, LastAttemptFailsTheDelivery) {
  ASSERT_EQ(schedule_.max_attempts(), 8);
  for (const http::HttpResponse& r :
       {Status(500), Status(429, "60"), Failure(http::FailureKind::kTimeout),
        Failure(http::FailureKind::kConnect)}) {
    const Decision d = Run(r, 8);
    EXPECT_EQ(d.status, v1::DELIVERY_STATUS_FAILED) << r.status;
    EXPECT_EQ(d.retry_in, std::nullopt) << r.status;
    EXPECT_NE(d.error_class, v1::ERROR_CLASS_UNSPECIFIED) << r.status;
  }
}

TEST_F(DecideTest, CustomPolicyFailsAfterItsLastDelay) {
  schedule_ = queue::RetrySchedule(NoJitter({1000, 5000, 15000}));
  EXPECT_THAT(Run(Status(500), 1).retry_in, Optional(absl::Seconds(1)));
  EXPECT_THAT(Run(Status(500), 3).retry_in, Optional(absl::Seconds(15)));
  const Decision last = Run(Status(500), 4);
  EXPECT_EQ(last.status, v1::DELIVERY_STATUS_FAILED);
  EXPECT_EQ(last.retry_in, std::nullopt);
}

TEST_F(DecideTest, RetryAfterPushesTheNextAttempt) {
  const Decision d = Run(Status(503, "120"));
  EXPECT_EQ(d.status, v1::DELIVERY_STATUS_RETRY_SCHEDULED);
  EXPECT_THAT(d.retry_in, Optional(absl::Seconds(120)));
}

TEST_F(DecideTest, JitteredDelayStaysInBand) {
  schedule_ = queue::RetrySchedule(v1::RetryPolicy());
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration d = Run(Status(500)).retry_in.value();
    ASSERT_GE(d, absl::Seconds(4));
    ASSERT_LE(d, absl::Seconds(6));
  }
}

TEST(ClassifyErrorTest, MapsFailuresAndStatusClasses) {
  EXPECT_EQ(ClassifyError(Status(204)), v1::ERROR_CLASS_UNSPECIFIED);
  EXPECT_EQ(ClassifyError(Status(101)), v1::ERROR_CLASS_HTTP_OTHER);
  EXPECT_EQ(ClassifyError(Status(301)), v1::ERROR_CLASS_HTTP_OTHER);
  EXPECT_EQ(ClassifyError(Status(418)), v1::ERROR_CLASS_HTTP_4XX);
  EXPECT_EQ(ClassifyError(Status(599)), v1::ERROR_CLASS_HTTP_5XX);
  EXPECT_EQ(ClassifyError(Failure(http::FailureKind::kAborted)), v1::ERROR_CLASS_CONNECT);
}

TEST(FailureReasonTest, NamesTheMetricLabels) {
  EXPECT_THAT(FailureReason(v1::ERROR_CLASS_TIMEOUT), StrEq("timeout"));
  EXPECT_THAT(FailureReason(v1::ERROR_CLASS_CONNECT), StrEq("connect"));
  EXPECT_THAT(FailureReason(v1::ERROR_CLASS_DNS), StrEq("dns"));
  EXPECT_THAT(FailureReason(v1::ERROR_CLASS_TLS), StrEq("tls"));
  EXPECT_THAT(FailureReason(v1::ERROR_CLASS_HTTP_4XX), StrEq("http_4xx"));
  EXPECT_THAT(FailureReason(v1::ERROR_CLASS_HTTP_5XX), StrEq("http_5xx"));
  EXPECT_THAT(FailureReason(v1::ERROR_CLASS_BLOCKED), StrEq("blocked"));
  EXPECT_THAT(FailureReason(v1::ERROR_CLASS_INVALID_TARGET), StrEq("invalid_target"));
}

}  // namespace
}  // namespace hookrelay::worker
