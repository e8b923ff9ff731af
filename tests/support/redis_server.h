#pragma once

// A private redis-server for one test binary: started on a free loopback port with its data
// in a fresh temp dir, stopped and removed by the destructor.
//
//   static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
//   void SetUp() override { ASSERT_OK(redis_->FlushAll()); }
//   EXPECT_THAT(redis_->Command({"XLEN", "hookrelay:stream"}), IsOkAndHolds("3"));
//
// Thread-safety: FlushAll() and Command() may be called concurrently with each other (each
// opens its own connection); Stop(), StartAgain() and Restart() must not run concurrently with
// any other method.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace hookrelay::testing {

class RedisServer {
 public:
  struct Options {
    // Turns on the append-only file, so that data survives Restart().
    bool append_only = false;
    // A single-node Redis Cluster (cluster mode on, all 16384 slots on this node), which
    // refuses commands that span hash slots. Default: HOOKRELAY_TEST_REDIS=cluster in the
    // environment, so the whole suite can run both ways (tests/run.sh does).
    bool cluster = ClusterFromEnvironment();
  };
  // True when HOOKRELAY_TEST_REDIS=cluster.
  static bool ClusterFromEnvironment();

  // Starts redis-server (from PATH) and waits until it answers PING. Returns NOT_FOUND if
  // there is no redis-server, or an error with the tail of its log if it does not come up
  // within 10 s.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start() { return Start(Options()); }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  // Kills the server and removes its temp dir.
  ~RedisServer();

  int port() const { return port_; }
  // Whether this server runs in cluster mode.
  bool cluster() const { return options_.cluster; }
  // "redis://127.0.0.1:<port>".
  std::string url() const;
  // The server's pid (the last one's after Stop()).
  pid_t pid() const;

  // Runs FLUSHALL.
  absl::Status FlushAll();
  // Stop() then StartAgain(): same port, same dir; with `append_only` the data survives.
  absl::Status Restart();
  // Shuts the server down gracefully (SIGTERM; SIGKILL after 10 s) and waits for it to exit.
  // Returns OK if it is not running.
  absl::Status Stop();
  // Starts the server again after Stop() on the same port and dir and waits until it answers
  // PING. Returns FAILED_PRECONDITION if it is running.
  absl::Status StartAgain();

  // Runs one command and renders the reply as text: strings and statuses as they are,
  // integers in decimal, nil as "(nil)", arrays as their elements joined by "\n". Returns
  // INTERNAL with Redis's message for an error reply, UNAVAILABLE if the server is down.
  absl::StatusOr<std::string> Command(const std::vector<std::string>& argv) const;
  // The key's TTL in seconds: -1 without one, -2 if it does not exist, -3 if Redis failed.
  long long Ttl(const std::string& key) const;

 private:
  RedisServer(Options options, std::string dir) : options_(options), dir_(std::move(dir)) {}

  // Starts redis-server on `port` and waits until it answers PING.
  absl::Status Launch(int port);
  absl::Status WaitUntilReady(size_t log_offset);
  // Cluster mode: assigns every slot to this node (unless its nodes.conf did) and waits
  // until the cluster reports ok.
  absl::Status WaitUntilClusterOk();
  std::string LogPath() const;
  // The log written since `offset`, at most its last few KiB.
  std::string LogTail(size_t offset) const;

  const Options options_;
  const std::string dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
  pid_t last_pid_ = 0;
};

}  // namespace hookrelay::testing
