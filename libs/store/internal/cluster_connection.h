#pragma once

// A connection to a Redis Cluster: a connection to each master it needs, every command sent
// to the master serving its key's slot, a transaction MULTI…EXEC as one unit; MOVED answers
// update the slot map and the command goes again, ASK answers send it once to the node named
// with ASKING first, TRYAGAIN and CLUSTERDOWN wait a little and retry, a few times. The
// cluster half of RedisConnection (redis_client.h), whose contract it follows. Not
// thread-safe. Internal to libs/store.

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "libs/store/internal/cluster_map.h"
#include "libs/store/internal/node_connection.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store::internal {

class ClusterConnection {
 public:
  ClusterConnection(RedisOptions options, RedisEndpoint endpoint)
      : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

  // Starts from `first`, a connection to one of the cluster's nodes: reads the slot map
  // through it.
  absl::Status Start(std::unique_ptr<NodeConnection> first);

  // RedisConnection::Execute, Send and Receive (without the NOSCRIPT fallback).
  absl::StatusOr<std::vector<RedisReply>> Execute(const Pipeline& p);
  absl::Status Send(const Pipeline& p);
  absl::StatusOr<std::vector<RedisReply>> Receive(size_t count);
  // The socket to wait on for the next reply; -1 to read at once (buffered, or broken).
  int PollFd() const;

 private:
  // The commands of a pipeline grouped for a cluster: a unit is one command, or a transaction
  // from MULTI to its EXEC (all of it must go to one node).
  struct Unit {
    size_t first = 0, last = 0;  // command indexes, inclusive
    int slot = -1;               // of its first keyed command; -1: none
    bool transaction = false;
    bool watched = false;  // a transaction sent to a node that held a WATCH of this connection
    std::string ask;       // an ASK answer's node: send there once, after ASKING
  };

  // The connection to the master at `address`, made when missing or broken.
  absl::StatusOr<NodeConnection*> Node(const std::string& address);
  // A node failed: forget its connection (and the watches on it); the slot map is read again
  // before the next command, as the node may have been replaced by a failover.
  absl::Status Dropped(NodeConnection& node, absl::Status st);
  // Reads the slot map again through any node that answers.
  absl::Status RefreshMap();
  static int SlotOf(const Pipeline& p, size_t i);
  absl::StatusOr<NodeConnection*> NodeOfPipeline(const Pipeline& p);
  // Keeps track of which nodes hold a WATCH of this connection, for commands [from, to).
  void Track(const std::string& address, const Pipeline& p, size_t from, size_t to);
  // A MOVED answer updates the map at once; the others make it be read again soon.
  void NoteRedirects(const std::vector<RedisReply>& replies);
  std::vector<Unit> Units(const Pipeline& p) const;
  // Sends units `todo` to their masters (one pipeline per master, the masters' round trips
  // overlapping) and puts their replies in `out`.
  absl::Status RunUnits(const Pipeline& p, std::vector<Unit>& units,
                        const std::vector<size_t>& todo, std::vector<RedisReply>* out);

  const RedisOptions options_;
  const RedisEndpoint endpoint_;
  // The slot map, a connection per master used, the node of the last command (for keyless
  // ones: UNWATCH, PING), the node of each Send() not yet received, the nodes holding a WATCH.
  std::shared_ptr<ClusterMap> map_;
  absl::flat_hash_map<std::string, std::unique_ptr<NodeConnection>> nodes_;
  std::string last_node_;
  std::deque<std::string> pending_;
  std::set<std::string> watching_;
  bool stale_ = false;
};

}  // namespace hookrelay::store::internal
