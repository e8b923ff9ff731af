// The admin HTTP server (/metrics, /healthz, /readyz) every service runs.
#include "libs/telemetry/admin_server.h"

#include <prometheus/registry.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::telemetry {
namespace {

// A process that fails right after starting its admin server stops it at once: that must
// not hang (httplib ignores a stop() that comes before its listen loop runs).
TEST(AdminServerTest, StopRightAfterStartReturns) {
  auto registry = std::make_shared<prometheus::Registry>();
  const absl::Time start = absl::Now();
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK_AND_ASSIGN(auto server, AdminServer::Start("127.0.0.1:0", registry, nullptr));
    EXPECT_GT(server->port(), 0);
    server->Stop();
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

}  // namespace
}  // namespace hookrelay::telemetry
