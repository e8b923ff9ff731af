// Tests of the integration-test harness itself: status matchers, polling, the private
// redis-server and child processes (the HTTP receiver: http_receiver_test.cc).

#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "tests/support/http_receiver.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

using ::testing::AllOf;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::StringMatchResultListener;

// ---------------------------------------------------------------------------------------------
// Status matchers.

TEST(StatusMatchersTest, StatusIsMatchesCodeAndMessageOfStatus) {
  const absl::Status status = absl::NotFoundError("hook wh_1: not found");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("wh_1")));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, "hook wh_1: not found"));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kInternal)));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kNotFound, HasSubstr("wh_2"))));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
}

TEST(StatusMatchersTest, StatusIsAndIsOkWorkOnStatusOr) {
  const absl::StatusOr<int> error = absl::InvalidArgumentError("webhook.url: must use https");
  EXPECT_THAT(error, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("webhook.url")));
  EXPECT_THAT(error, Not(IsOk()));
  const absl::StatusOr<int> value = 42;
  EXPECT_THAT(value, StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(value, IsOk());
  EXPECT_THAT(value, IsOkAndHolds(42));
  EXPECT_THAT(value, IsOkAndHolds(Ge(40)));
  EXPECT_THAT(error, Not(IsOkAndHolds(42)));
  EXPECT_OK(value);
  EXPECT_OK(absl::OkStatus());
}

TEST(StatusMatchersTest, ExplanationPrintsActualStatus) {
  const absl::StatusOr<int> error = absl::UnavailableError("redis: connection refused");
  StringMatchResultListener listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(StatusIs(absl::StatusCode::kOk), error, &listener));
  EXPECT_THAT(listener.str(), HasSubstr("UNAVAILABLE: redis: connection refused"));
}

TEST(StatusMatchersTest, FailedAssertionsPrintActualStatus) {
  EXPECT_NONFATAL_FAILURE(EXPECT_OK(absl::InternalError("boom")), "INTERNAL: boom");
  EXPECT_FATAL_FAILURE(ASSERT_OK(absl::DataLossError("lost")), "DATA_LOSS: lost");
  EXPECT_FATAL_FAILURE(
      {
        ASSERT_OK_AND_ASSIGN(const int unused, absl::StatusOr<int>(absl::NotFoundError("gone")));
        (void)unused;
      },
      "NOT_FOUND: gone");
}

TEST(StatusMatchersTest, AssertOkAndAssignMovesValue) {
  ASSERT_OK_AND_ASSIGN(auto value, absl::StatusOr<std::unique_ptr<int>>(std::make_unique<int>(7)));
  EXPECT_EQ(*value, 7);
  std::string existing;
  ASSERT_OK_AND_ASSIGN(existing, absl::StatusOr<std::string>("assigned"));
  EXPECT_EQ(existing, "assigned");
}

// ---------------------------------------------------------------------------------------------
// WaitFor and FreeLoopbackPort.

TEST(WaitTest, WaitForReturnsTrueOnceConditionHolds) {
  int calls = 0;
  EXPECT_TRUE(WaitFor([&] { return ++calls >= 3; }, absl::Seconds(10), absl::Milliseconds(1)));
  EXPECT_EQ(calls, 3);
}

TEST(WaitTest, WaitForReturnsFalseAfterTimeout) {
  const absl::Time start = absl::Now();
  EXPECT_FALSE(WaitFor([] { return false; }, absl::Milliseconds(50)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST(WaitTest, FreeLoopbackPortIsUsable) {
  const int port = FreeLoopbackPort();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

// ---------------------------------------------------------------------------------------------
// RedisServer.

class RedisServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override { ASSERT_OK(redis_->FlushAll()); }

  inline static std::unique_ptr<RedisServer> redis_;
};

TEST_F(RedisServerTest, AnswersPingOnItsPort) {
  EXPECT_GT(redis_->port(), 0);
  // A cluster's URL names every node, the first one first.
  EXPECT_THAT(redis_->url(), StartsWith(absl::StrCat("redis://127.0.0.1:", redis_->port())));
  EXPECT_GT(redis_->pid(), 0);
  EXPECT_THAT(redis_->Command({"PING"}), IsOkAndHolds("PONG"));
}

TEST_F(RedisServerTest, CommandRendersRepliesAsText) {
  EXPECT_THAT(redis_->Command({"SET", "key", "value with spaces"}), IsOkAndHolds("OK"));
  EXPECT_THAT(redis_->Command({"GET", "key"}), IsOkAndHolds("value with spaces"));
  EXPECT_THAT(redis_->Command({"INCRBY", "counter", "-5"}), IsOkAndHolds("-5"));
  EXPECT_THAT(redis_->Command({"GET", "missing"}), IsOkAndHolds("(nil)"));
  EXPECT_THAT(redis_->Command({"RPUSH", "list", "a", "b", "c"}), IsOkAndHolds("3"));
  EXPECT_THAT(redis_->Command({"LRANGE", "list", "0", "-1"}), IsOkAndHolds("a\nb\nc"));
}

TEST_F(RedisServerTest, CommandErrorIsInternalWithRedisMessage) {
  EXPECT_THAT(redis_->Command({"NO_SUCH_COMMAND"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("unknown command")));
  ASSERT_OK(redis_->Command({"SET", "key", "value"}));
  EXPECT_THAT(redis_->Command({"XLEN", "key"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("WRONGTYPE")));
}

TEST_F(RedisServerTest, FlushAllClearsKeys) {
  ASSERT_OK(redis_->Command({"SET", "a", "1"}));
  ASSERT_OK(redis_->Command({"XADD", "hookrelay:stream", "*", "task", "x"}));
  ASSERT_THAT(redis_->Command({"EXISTS", "a"}), IsOkAndHolds("1"));
  ASSERT_OK(redis_->FlushAll());
  // On a cluster the keys lie on different masters: each is gone.
  EXPECT_THAT(redis_->Command({"EXISTS", "a"}), IsOkAndHolds("0"));
  EXPECT_THAT(redis_->Command({"EXISTS", "hookrelay:stream"}), IsOkAndHolds("0"));
}

// The cluster the suite runs on with HOOKRELAY_TEST_REDIS=cluster, and the chaos the cluster
// e2e tests cause: a master killed and its replica promoted, slots moved between masters.
TEST(RedisClusterTest, FailsOverAndMovesSlotsWithTheirKeys) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start({.masters = 3, .replicas = 1}));
  ASSERT_OK_AND_ASSIGN(auto masters, redis->Masters());
  ASSERT_EQ(masters.size(), 3u);
  for (const auto& [address, slots] : masters) EXPECT_NEAR(slots, 16384 / 3, 1) << address;
  // Every slot's key is reachable through the first node (MOVED followed).
  for (int i = 0; i < 30; ++i) ASSERT_OK(redis->Command({"SET", absl::StrCat("k", i), "v"}));

  // The master of "k0" dies; its replica serves the slot (replication is asynchronous, so
  // the value may or may not have made it: WAIT is what makes it certain).
  ASSERT_OK_AND_ASSIGN(std::string slot, redis->Command({"CLUSTER", "KEYSLOT", "k0"}));
  ASSERT_OK_AND_ASSIGN(std::string victim, redis->KillMasterOf(std::stoi(slot)));
  EXPECT_OK(redis->Command({"SET", "k0", "after"}));
  ASSERT_OK_AND_ASSIGN(masters, redis->Masters());
  EXPECT_EQ(masters.size(), 3u);  // the promoted replica
  for (const auto& m : masters) EXPECT_NE(m.first, victim);

  // The old master comes back as a replica; then 100 slots, keys and all, move (keys written
  // before the kill may have died with it: replication is asynchronous).
  ASSERT_OK(redis->StartAgain());
  for (int i = 30; i < 60; ++i) ASSERT_OK(redis->Command({"SET", absl::StrCat("k", i), "v"}));
  ASSERT_OK(redis->MoveSlots(std::stoi(slot), 100));
  ASSERT_OK_AND_ASSIGN(masters, redis->Masters());
  int total = 0;
  for (const auto& m : masters) total += m.second;
  EXPECT_EQ(total, 16384);
  EXPECT_THAT(redis->Command({"GET", "k0"}), IsOkAndHolds("after"));
  for (int i = 30; i < 60; ++i) {
    EXPECT_THAT(redis->Command({"GET", absl::StrCat("k", i)}), IsOkAndHolds("v"));
  }
}

TEST(RedisServerLifecycleTest, RestartWithAppendOnlyKeepsDataOnSamePort) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start({.append_only = true}));
  const int port = redis->port();
  const pid_t first_pid = redis->pid();
  ASSERT_OK(redis->Command({"SET", "survivor", "yes"}));
  ASSERT_OK(redis->Command({"XADD", "hookrelay:stream", "*", "task", "x"}));
  ASSERT_OK(redis->Restart());
  EXPECT_EQ(redis->port(), port);
  EXPECT_NE(redis->pid(), first_pid);
  EXPECT_THAT(redis->Command({"GET", "survivor"}), IsOkAndHolds("yes"));
  EXPECT_THAT(redis->Command({"XLEN", "hookrelay:stream"}), IsOkAndHolds("1"));
}

TEST(RedisServerLifecycleTest, StopMakesCommandsUnavailableUntilStartAgain) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  ASSERT_OK(redis->Stop());
  EXPECT_THAT(redis->Command({"PING"}), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(redis->Stop());  // Stopping twice is fine.
  ASSERT_OK(redis->StartAgain());
  EXPECT_THAT(redis->StartAgain(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(redis->Command({"PING"}), IsOkAndHolds("PONG"));
}

TEST(RedisServerLifecycleTest, DestructorKillsServer) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServer::Start());
  const pid_t pid = redis->pid();
  ASSERT_EQ(kill(pid, 0), 0);
  redis.reset();
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

// ---------------------------------------------------------------------------------------------
// Process.

TEST(ProcessTest, CapturesOutputAndExitCode) {
  ASSERT_OK_AND_ASSIGN(
      auto process, Process::Start({.binary = "sh",
                                    .args = {"-c", "echo to-stdout; echo to-stderr >&2; exit 3"}}));
  EXPECT_THAT(process->Wait(absl::Seconds(10)), IsOkAndHolds(3));
  EXPECT_FALSE(process->Running());
  EXPECT_THAT(process->Output(), AllOf(HasSubstr("to-stdout\n"), HasSubstr("to-stderr\n")));
}

TEST(ProcessTest, PassesArgumentsAndEnvironment) {
  ASSERT_OK_AND_ASSIGN(
      auto process,
      Process::Start({.binary = "/bin/sh",
                      .args = {"-c", "echo \"$0 $HR_TEST_VALUE $HOME\"; exec sleep 600", "arg0"},
                      .env = {{"HR_TEST_VALUE", "from-env"}, {"HOME", "/overridden"}}}));
  EXPECT_TRUE(process->WaitForOutput("arg0 from-env /overridden", absl::Seconds(10)))
      << process->Output();
  EXPECT_TRUE(process->Running());
}

TEST(ProcessTest, SignalKillGives128Plus9) {
  ASSERT_OK_AND_ASSIGN(auto process, Process::Start({.binary = "sleep", .args = {"600"}}));
  EXPECT_TRUE(process->Running());
  EXPECT_THAT(process->Wait(absl::Milliseconds(20)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("still running")));
  process->Signal(SIGKILL);
  EXPECT_THAT(process->Wait(absl::Seconds(10)), IsOkAndHolds(128 + SIGKILL));
  EXPECT_FALSE(process->Running());
}

TEST(ProcessTest, StartFailsForMissingBinary) {
  EXPECT_THAT(Process::Start({.binary = "/nonexistent/delivery-worker"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/delivery-worker")));
  EXPECT_THAT(Process::Start({.binary = "hookrelay-no-such-binary"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not found on PATH")));
}

TEST(ProcessTest, DestructorKillsAndReapsChild) {
  ASSERT_OK_AND_ASSIGN(auto process, Process::Start({.binary = "sleep", .args = {"600"}}));
  const pid_t pid = process->pid();
  ASSERT_EQ(kill(pid, 0), 0);
  process.reset();
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(ProcessTest, BinaryPathIsUnderBuildDir) {
  const char* build_dir = std::getenv("HOOKRELAY_BUILD_DIR");
  const std::string path = BinaryPath("services/worker/delivery-worker");
  EXPECT_TRUE(absl::EndsWith(path, "/services/worker/delivery-worker")) << path;
  if (build_dir != nullptr) {
    EXPECT_TRUE(absl::StartsWith(path, build_dir)) << path;
  }
}

}  // namespace
}  // namespace hookrelay::testing
