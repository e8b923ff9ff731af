#include "libs/store/internal/cluster_map.h"

#include <algorithm>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/store/hash_slot.h"
#include "libs/store/internal/node_connection.h"

namespace hookrelay::store::internal {
namespace {

// The index of `address` in `masters`, added at the end when missing.
int IndexOf(const std::string& address, std::vector<std::string>* masters) {
  auto it = std::find(masters->begin(), masters->end(), address);
  if (it != masters->end()) return static_cast<int>(it - masters->begin());
  masters->push_back(address);
  return static_cast<int>(masters->size() - 1);
}

}  // namespace

bool SplitAddress(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = address.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::SimpleAtoi(address.substr(colon + 1), port) && *port > 0 && *port < 65536;
}

std::shared_ptr<ClusterMap> ClusterMap::For(const std::vector<std::string>& seeds) {
  static std::mutex mu;
  static auto* maps = new std::map<std::string, std::weak_ptr<ClusterMap>>();
  const std::string key = absl::StrJoin(seeds, ",");
  std::lock_guard<std::mutex> lock(mu);
  std::weak_ptr<ClusterMap>& slot = (*maps)[key];
  if (auto existing = slot.lock()) return existing;
  std::shared_ptr<ClusterMap> map(new ClusterMap(seeds));
  slot = map;
  return map;
}

std::string ClusterMap::NodeFor(int slot) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (slot < 0 || slot >= static_cast<int>(slot_master_.size())) return "";
  const int m = slot_master_[static_cast<size_t>(slot)];
  return m < 0 ? "" : masters_[static_cast<size_t>(m)];
}

std::string ClusterMap::AnyNode() const {
  std::lock_guard<std::mutex> lock(mu_);
  return masters_.empty() ? seeds_.front() : masters_.front();
}

std::vector<std::string> ClusterMap::Candidates() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out = masters_;
  out.insert(out.end(), seeds_.begin(), seeds_.end());
  return out;
}

void ClusterMap::Moved(int slot, const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (slot < 0 || slot >= kHashSlots) return;
  if (slot_master_.empty()) slot_master_.assign(kHashSlots, -1);
  slot_master_[static_cast<size_t>(slot)] = IndexOf(address, &masters_);
}

absl::Status ClusterMap::Refresh(NodeConnection& conn, absl::Duration min_interval) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Now() - last_refresh_ < min_interval && !masters_.empty()) return absl::OkStatus();
  }
  Pipeline p;
  p.Add({"CLUSTER", "SLOTS"});
  auto replies = conn.Execute(p);
  if (!replies.ok()) return replies.status();
  const RedisReply& slots = (*replies)[0];
  if (slots.is_error()) return slots.ToStatus();
  std::string conn_host;
  int conn_port = 0;
  SplitAddress(conn.address(), &conn_host, &conn_port);
  std::vector<std::string> masters;
  std::vector<int> slot_master(kHashSlots, -1);
  for (const RedisReply& range : slots.elements) {
    if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) continue;
    const RedisReply& master = range.elements[2];
    const std::string host = master.elements[0].str.empty() || master.elements[0].str == "?"
                                 ? conn_host
                                 : master.elements[0].str;
    const std::string address = absl::StrCat(host, ":", master.elements[1].integer);
    const int index = IndexOf(address, &masters);
    for (long long s = range.elements[0].integer; s <= range.elements[1].integer; ++s) {
      if (s >= 0 && s < kHashSlots) slot_master[static_cast<size_t>(s)] = index;
    }
  }
  if (masters.empty()) return absl::UnavailableError("redis: the cluster serves no slot yet");
  std::lock_guard<std::mutex> lock(mu_);
  masters_ = std::move(masters);
  slot_master_ = std::move(slot_master);
  last_refresh_ = absl::Now();
  return absl::OkStatus();
}

}  // namespace hookrelay::store::internal
