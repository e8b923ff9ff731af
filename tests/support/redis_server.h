#pragma once

// A private Redis for one test binary: one redis-server, or a whole Redis Cluster of masters
// and replicas, on free loopback ports with their data in a fresh temp dir; stopped and
// removed by the destructor.
//
//   static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
//   void SetUp() override { ASSERT_OK(redis_->FlushAll()); }
//   EXPECT_THAT(redis_->Command({"XLEN", "hookrelay:stream"}), IsOkAndHolds("3"));
//
// HOOKRELAY_TEST_REDIS in the environment picks the default shape, so the whole suite runs
// every way (tests/run.sh does): unset: standalone; "cluster": 3 masters × 1 replica;
// "cluster1": a single node holding every slot.
//
// Thread-safety: FlushAll() and Command() may be called concurrently with each other (each
// opens its own connection); the methods that start or stop nodes must not run concurrently
// with any other method.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/support/process.h"

namespace hookrelay::testing {

class RedisServer {
 public:
  struct Options {
    // Turns on the append-only file, so that data survives Restart().
    bool append_only = false;
    // 0: one standalone redis-server. 1: a single-node Redis Cluster (all 16384 slots on one
    // node). M > 1: M masters with `replicas` replicas each, made by `redis-cli --cluster
    // create` (even slot ranges). A cluster refuses commands that span hash slots.
    int masters = MastersFromEnvironment();
    int replicas = 1;
    // cluster-node-timeout: how long a master may be silent before its replica takes over.
    absl::Duration node_timeout = absl::Seconds(2);
    // TLS only (standalone): the TCP port speaks TLS and requires a client certificate; the
    // plain port is off. Certificates come from `openssl` into the temp dir (ca_file() ...).
    // The harness's own commands go over a unix socket.
    bool tls = false;
  };
  // The number of masters HOOKRELAY_TEST_REDIS asks for (see above).
  static int MastersFromEnvironment();

  // Starts the server(s) and waits until every node answers PING and a cluster reports ok.
  // Returns NOT_FOUND if there is no redis-server, or an error with the tail of its log if it
  // does not come up in time.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start() { return Start(Options()); }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  // Kills every node and removes the temp dir.
  ~RedisServer();

  // The first node's port.
  int port() const;
  // Whether this is a Redis Cluster (of one node or more).
  bool cluster() const { return options_.masters > 0; }
  // "redis://127.0.0.1:<port>"; for a cluster every node, comma-separated (seed nodes);
  // "rediss://" with TLS.
  std::string url() const;
  // The first node's pid (the last one's after Stop()).
  pid_t pid() const;

  // TLS: the CA that signed the server's and the client's certificates, the client's
  // certificate and key, and a CA that signed nothing here (for "wrong CA" tests).
  std::string ca_file() const;
  std::string client_cert_file() const;
  std::string client_key_file() const;
  std::string other_ca_file() const;

  // Runs FLUSHALL on every master.
  absl::Status FlushAll();
  // Stop() then StartAgain(): same ports, same dirs; with `append_only` the data survives.
  absl::Status Restart();
  // Shuts every node down gracefully (SIGTERM; SIGKILL after 10 s) and waits for them to exit.
  absl::Status Stop();
  // Starts the nodes again after Stop() and waits until they answer (and a cluster is ok).
  // Returns FAILED_PRECONDITION if one is running.
  absl::Status StartAgain();

  // Runs one command and renders the reply as text: strings and statuses as they are,
  // integers in decimal, nil as "(nil)", arrays as their elements joined by "\n". On a
  // cluster it goes to a live node and follows MOVED/ASK. Returns INTERNAL with Redis's
  // message for an error reply, UNAVAILABLE if the server is down. On a cluster of several
  // nodes, KEYS and INFO commandstats ask every master (the counts summed), and CONFIG,
  // CLIENT, SCRIPT and ACL run on every node.
  absl::StatusOr<std::string> Command(const std::vector<std::string>& argv) const;
  // Runs a keyless command (ACL SETUSER, CONFIG SET, ...) on every live node.
  absl::Status CommandOnEveryNode(const std::vector<std::string>& argv) const;
  // The key's TTL in seconds: -1 without one, -2 if it does not exist, -3 if Redis failed.
  long long Ttl(const std::string& key) const;

  // Cluster chaos. Kills (SIGKILL) the master serving `slot` and waits until its replica
  // has taken over and the cluster is ok again; returns the killed node's "host:port".
  absl::StatusOr<std::string> KillMasterOf(int slot);
  // Moves `count` slots from the master serving `slot` to another live master while clients
  // keep working (redis-cli --cluster reshard), and waits until the cluster agrees.
  absl::Status MoveSlots(int slot, int count);
  // Each live master's "host:port" with the number of slots it serves.
  absl::StatusOr<std::vector<std::pair<std::string, int>>> Masters() const;

 private:
  struct Node;

  RedisServer(Options options, std::string dir);

  absl::Status StartNodes();
  // Starts node `i` on its port and waits until it answers PING.
  absl::Status Launch(Node& node);
  absl::Status WaitUntilReady(Node& node, size_t log_offset);
  // Cluster: assigns the slots (one node: ADDSLOTSRANGE; several: redis-cli --cluster create)
  // unless the nodes.conf files did, and waits until every live node reports ok.
  absl::Status FormCluster();
  absl::Status WaitUntilClusterOk(absl::Duration timeout);
  absl::Status MakeCertificates();
  // Runs a tool (redis-cli, openssl) to completion; INTERNAL with its output if it fails.
  absl::Status RunTool(const std::string& binary, std::vector<std::string> args,
                       absl::Duration timeout) const;
  absl::StatusOr<std::string> NodeCommand(const Node& node,
                                          const std::vector<std::string>& argv) const;
  // The command's answer from every live master, joined by `separator`.
  absl::StatusOr<std::string> OfEveryMaster(const std::vector<std::string>& argv,
                                            absl::string_view separator) const;
  const Node* LiveNode() const;
  const Node* NodeAt(const std::string& address) const;

  const Options options_;
  const std::string dir_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace hookrelay::testing
