#pragma once

// Which master serves each of a Redis Cluster's 16384 hash slots, read with CLUSTER SLOTS
// and read again when a node answers MOVED or fails. One map per cluster, shared by every
// connection of the process (each refresh helps all). Thread-safe. Internal to libs/store.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store::internal {

class NodeConnection;

class ClusterMap {
 public:
  // The map of the cluster `seeds` (host:port, the addresses it starts from) belong to.
  static std::shared_ptr<ClusterMap> For(const std::vector<std::string>& seeds);

  // The address ("host:port") of the master serving `slot`, or empty before the first
  // refresh or when no master serves it.
  std::string NodeFor(int slot) const;
  // Any known master, else the first seed.
  std::string AnyNode() const;
  // Reads the slot map through `conn` (a node of the cluster). At most one refresh runs per
  // `min_interval`; a refresh asked for meanwhile returns at once. `host_of_conn` replaces an
  // empty announced address.
  absl::Status Refresh(NodeConnection& conn, absl::Duration min_interval = absl::Milliseconds(100));
  // Updates one slot from a MOVED answer.
  void Moved(int slot, const std::string& address);
  // The known masters and the seeds, to try when the map must be read again.
  std::vector<std::string> Candidates() const;

 private:
  explicit ClusterMap(std::vector<std::string> seeds) : seeds_(std::move(seeds)) {}

  const std::vector<std::string> seeds_;
  mutable std::mutex mu_;
  std::vector<std::string> masters_;  // index → address
  std::vector<int> slot_master_;      // slot → index in masters_, -1 unserved
  absl::Time last_refresh_ = absl::InfinitePast();
};

// Splits "host:port". False when malformed.
bool SplitAddress(const std::string& address, std::string* host, int* port);

}  // namespace hookrelay::store::internal
