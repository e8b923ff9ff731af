// grpc.health.v1 on the registry's gRPC port, with Redis up, stopped and back: what
// Kubernetes probes and gRPC load balancers ask.

#include <signal.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::registry {
namespace {

using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::StatusIs;

constexpr int kServing = 1;
constexpr int kNotServing = 2;
constexpr char kService[] = "hookrelay.v1.WebhookRegistry";

// A registry on a Redis of its own, which a test stops and starts.
class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(redis_, testing::RedisServer::Start());
    ASSERT_OK_AND_ASSIGN(registry_, RegistryInstance::Start({.redis_url = redis_->url()}));
  }
  absl::StatusOr<int> Health(absl::string_view service) {
    return CheckHealth(registry_->channel(), service);
  }
  // Polls until both names report `status` (or 10 s pass).
  bool BothBecome(int status) {
    return testing::WaitFor(
        [&] {
          absl::StatusOr<int> whole = Health("");
          absl::StatusOr<int> service = Health(kService);
          return whole.ok() && *whole == status && service.ok() && *service == status;
        },
        absl::Seconds(10), absl::Milliseconds(20));
  }
  absl::Status Get() {
    v1::GetWebhookRequest req;
    req.set_tenant("acme");
    req.set_id("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::GetWebhook, req, kAdminKey)
        .status();
  }

  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<RegistryInstance> registry_;
};

TEST_F(HealthTest, ServingForTheRegistryServiceAndTheWholeServer) {
  EXPECT_THAT(Health(""), IsOkAndHolds(kServing));
  EXPECT_THAT(Health(kService), IsOkAndHolds(kServing));
  EXPECT_THAT(Health("hookrelay.v1.Nope"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HealthTest, NotServingWhileRedisIsUnreachableAndServingAgainWhenItIsBack) {
  ASSERT_THAT(Health(kService), IsOkAndHolds(kServing));
  ASSERT_OK(redis_->Stop());
  const absl::Time stopped = absl::Now();
  EXPECT_TRUE(BothBecome(kNotServing));
  // The fixture checks every 100 ms (the registry's default is 1 s); a dead connection fails
  // at once, so this is quick.
  EXPECT_LT(absl::Now() - stopped, absl::Seconds(5));
  EXPECT_THAT(Get(), StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_OK(redis_->StartAgain());
  EXPECT_TRUE(BothBecome(kServing));
  EXPECT_THAT(Get(), StatusIs(absl::StatusCode::kNotFound));  // answered again
}

// A Redis that accepts connections but stops answering (stopped, partitioned) is noticed in
// the readiness timeout (1 s), not a command timeout (10 s).
TEST_F(HealthTest, NotServingSoonWhenRedisStopsAnswering) {
  ASSERT_THAT(Health(kService), IsOkAndHolds(kServing));
  ASSERT_EQ(kill(redis_->pid(), SIGSTOP), 0);
  const absl::Time hung = absl::Now();
  const bool noticed = BothBecome(kNotServing);
  const absl::Duration took = absl::Now() - hung;
  ASSERT_EQ(kill(redis_->pid(), SIGCONT), 0);
  EXPECT_TRUE(noticed);
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_TRUE(BothBecome(kServing));
}

TEST_F(HealthTest, NotServingFromTheStartWhenRedisIsDown) {
  registry_.reset();
  ASSERT_OK(redis_->Stop());
  ASSERT_OK_AND_ASSIGN(registry_, RegistryInstance::Start({.redis_url = redis_->url()}));
  // Known before the server answers its first call: never SERVING while Redis is down.
  EXPECT_THAT(Health(""), IsOkAndHolds(kNotServing));
  EXPECT_THAT(Health(kService), IsOkAndHolds(kNotServing));
  ASSERT_OK(redis_->StartAgain());
  EXPECT_TRUE(BothBecome(kServing));
}

}  // namespace
}  // namespace hookrelay::registry
