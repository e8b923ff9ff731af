// ClusterConnection: commands routed by slot over connections to a Redis Cluster's masters.

#include "libs/store/internal/cluster_connection.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/store/hash_slot.h"
#include "libs/store/internal/command_route.h"

namespace hookrelay::store::internal {
namespace {

constexpr int kMaxRedirects = 5;

// The hash slot of a parsed command's key; -1 for a keyless command.
int SlotOfCommand(const std::vector<absl::string_view>& argv) {
  auto key = RouteKey(argv);
  return key.has_value() ? HashSlot(*key) : -1;
}

// A cluster's answer naming another node: "MOVED <slot> <host:port>" or "ASK ...".
bool ParseRedirect(const RedisReply& r, absl::string_view kind, int* slot, std::string* address) {
  if (!r.is_error() || !absl::StartsWith(r.str, kind)) return false;
  std::vector<std::string> parts = absl::StrSplit(r.str, ' ');
  return parts.size() == 3 && absl::SimpleAtoi(parts[1], slot) && ((*address = parts[2]), true);
}

}  // namespace

absl::Status ClusterConnection::Start(std::unique_ptr<NodeConnection> first) {
  map_ = ClusterMap::For(endpoint_.nodes);
  if (absl::Status st = map_->Refresh(*first); !st.ok()) return st;
  last_node_ = first->address();
  nodes_[last_node_] = std::move(first);
  return absl::OkStatus();
}

absl::Status ClusterConnection::Send(const Pipeline& p) {
  if (p.empty()) return absl::OkStatus();
  auto node = NodeOfPipeline(p);
  if (!node.ok()) return node.status();
  if (absl::Status st = (*node)->Send(p.buffer()); !st.ok()) return Dropped(**node, st);
  pending_.push_back((*node)->address());
  Track((*node)->address(), p, 0, p.size());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RedisReply>> ClusterConnection::Receive(size_t count) {
  std::vector<RedisReply> out;
  if (count == 0) return out;
  if (pending_.empty()) return absl::FailedPreconditionError("redis: nothing was sent");
  auto it = nodes_.find(pending_.front());
  pending_.pop_front();
  if (it == nodes_.end()) return absl::UnavailableError("redis: connection lost");
  if (absl::Status st = it->second->Receive(count, &out); !st.ok()) {
    return Dropped(*it->second, st);
  }
  NoteRedirects(out);
  return out;
}

int ClusterConnection::PollFd() const {
  if (pending_.empty()) return -1;
  auto it = nodes_.find(pending_.front());
  return it == nodes_.end() ? -1 : it->second->PollFd();
}

absl::StatusOr<NodeConnection*> ClusterConnection::Node(const std::string& address) {
  auto it = nodes_.find(address);
  if (it != nodes_.end() && !it->second->broken()) return it->second.get();
  auto conn = NodeConnection::Connect(NodeOptionsFor(options_, endpoint_, address));
  if (!conn.ok()) {
    nodes_.erase(address);
    return conn.status();
  }
  watching_.erase(address);
  auto& slot = nodes_[address];
  slot = *std::move(conn);
  return slot.get();
}

absl::Status ClusterConnection::Dropped(NodeConnection& node, absl::Status st) {
  const std::string address = node.address();
  nodes_.erase(address);
  watching_.erase(address);
  pending_.clear();
  stale_ = true;
  return st;
}

absl::Status ClusterConnection::RefreshMap() {
  absl::Status last = absl::UnavailableError("redis: no cluster node answers");
  for (const std::string& address : map_->Candidates()) {
    auto node = Node(address);
    if (!node.ok()) {
      last = node.status();
      continue;
    }
    last = map_->Refresh(**node, absl::ZeroDuration());
    if (last.ok()) {
      stale_ = false;
      return last;
    }
  }
  return last;
}

int ClusterConnection::SlotOf(const Pipeline& p, size_t i) {
  size_t end = 0;
  return SlotOfCommand(ParseCommand(p.buffer(), p.start(i), &end));
}

absl::StatusOr<NodeConnection*> ClusterConnection::NodeOfPipeline(const Pipeline& p) {
  if (stale_) {
    if (absl::Status st = RefreshMap(); !st.ok()) return st;
  }
  int slot = -1;
  for (size_t i = 0; i < p.size() && slot < 0; ++i) slot = SlotOf(p, i);
  std::string address = slot >= 0 ? map_->NodeFor(slot) : last_node_;
  if (address.empty()) address = map_->AnyNode();
  last_node_ = address;
  return Node(address);
}

void ClusterConnection::Track(const std::string& address, const Pipeline& p, size_t from,
                              size_t to) {
  for (size_t i = from; i < to; ++i) {
    size_t end = 0;
    auto argv = ParseCommand(p.buffer(), p.start(i), &end);
    if (IsCommand(argv, "WATCH")) watching_.insert(address);
    if (IsCommand(argv, "EXEC") || IsCommand(argv, "DISCARD") || IsCommand(argv, "UNWATCH")) {
      watching_.erase(address);
    }
  }
}

void ClusterConnection::NoteRedirects(const std::vector<RedisReply>& replies) {
  for (const RedisReply& r : replies) {
    int slot = 0;
    std::string address;
    if (ParseRedirect(r, "MOVED ", &slot, &address)) {
      map_->Moved(slot, address);
    } else if (r.is_redirect()) {
      stale_ = true;
    }
  }
}

std::vector<ClusterConnection::Unit> ClusterConnection::Units(const Pipeline& p) const {
  std::vector<Unit> units;
  for (size_t i = 0; i < p.size(); ++i) {
    size_t end = 0;
    auto argv = ParseCommand(p.buffer(), p.start(i), &end);
    Unit u{.first = i, .last = i};
    if (IsCommand(argv, "MULTI")) {
      u.transaction = true;
      for (size_t j = i + 1; j < p.size(); ++j) {
        auto inner = ParseCommand(p.buffer(), p.start(j), &end);
        if (u.slot < 0) u.slot = SlotOfCommand(inner);
        u.last = j;
        if (IsCommand(inner, "EXEC") || IsCommand(inner, "DISCARD")) break;
      }
      i = u.last;
    } else {
      u.slot = SlotOfCommand(argv);
    }
    units.push_back(u);
  }
  return units;
}

absl::StatusOr<std::vector<RedisReply>> ClusterConnection::Execute(const Pipeline& p) {
  if (stale_) {
    if (absl::Status st = RefreshMap(); !st.ok()) return st;
  }
  std::vector<Unit> units = Units(p);
  std::vector<RedisReply> out(p.size());
  std::vector<size_t> todo(units.size());
  for (size_t u = 0; u < units.size(); ++u) todo[u] = u;
  for (int round = 0; !todo.empty(); ++round) {
    if (absl::Status st = RunUnits(p, units, todo, &out); !st.ok()) return st;
    std::vector<size_t> again;
    bool wait = false;
    for (size_t u : todo) {
      Unit& unit = units[u];
      for (size_t i = unit.first; i <= unit.last; ++i) {
        const RedisReply& r = out[i];
        int slot = 0;
        std::string address;
        if (!r.is_redirect()) continue;
        if (ParseRedirect(r, "MOVED ", &slot, &address)) {
          map_->Moved(slot, address);
        } else if (ParseRedirect(r, "ASK ", &slot, &address)) {
          unit.ask = address;
        } else {
          wait = true;  // TRYAGAIN, CLUSTERDOWN
          stale_ = true;
        }
        if (unit.watched) {
          // A transaction that relied on a WATCH cannot move: the watch stayed behind. Its
          // EXEC answers the redirect, which callers take as UNAVAILABLE (retry).
          out[unit.last] = r;
          unit.ask.clear();
        } else {
          again.push_back(u);
        }
        break;
      }
    }
    if (again.empty() || round + 1 >= kMaxRedirects) break;
    if (wait) absl::SleepFor(absl::Milliseconds(50) * (1 << round));
    if (stale_) (void)RefreshMap();
    todo = std::move(again);
  }
  return out;
}

absl::Status ClusterConnection::RunUnits(const Pipeline& p, std::vector<Unit>& units,
                                         const std::vector<size_t>& todo,
                                         std::vector<RedisReply>* out) {
  // The node of each unit: its slot's master; a keyless unit goes with the next keyed one
  // (a transaction's MULTI with its commands), else with the one before it (a WAIT after an
  // EXEC), else to the last node used.
  std::vector<std::string> node_of(units.size());
  std::string next;
  for (size_t k = todo.size(); k-- > 0;) {
    const Unit& u = units[todo[k]];
    std::string address = !u.ask.empty() ? u.ask : u.slot >= 0 ? map_->NodeFor(u.slot) : next;
    if (!address.empty()) next = address;
    node_of[todo[k]] = address;
  }
  std::string previous;
  for (size_t u : todo) {
    if (node_of[u].empty()) node_of[u] = previous;
    if (node_of[u].empty()) node_of[u] = last_node_.empty() ? map_->AnyNode() : last_node_;
    previous = node_of[u];
  }
  // Per node, in the pipeline's order: its units' bytes and where their replies go.
  std::map<std::string, std::pair<std::string, std::vector<size_t>>> plan;
  for (size_t u : todo) {
    const Unit& unit = units[u];
    auto& [bytes, cmds] = plan[node_of[u]];
    if (!unit.ask.empty()) {
      bytes.append("*1\r\n$6\r\nASKING\r\n");
      cmds.push_back(static_cast<size_t>(-1));  // its reply is dropped
    }
    const size_t end = unit.last + 1 < p.size() ? p.start(unit.last + 1) : p.buffer().size();
    bytes.append(p.buffer(), p.start(unit.first), end - p.start(unit.first));
    for (size_t i = unit.first; i <= unit.last; ++i) cmds.push_back(i);
    units[u].watched = units[u].transaction && watching_.count(node_of[u]) > 0;
  }
  std::vector<NodeConnection*> sent;
  for (auto& [address, work] : plan) {
    auto node = Node(address);
    if (!node.ok()) {
      stale_ = true;
      return node.status();
    }
    if (absl::Status st = (*node)->Send(work.first); !st.ok()) return Dropped(**node, st);
    sent.push_back(*node);
    last_node_ = address;
  }
  size_t k = 0;
  for (auto& [address, work] : plan) {
    std::vector<RedisReply> replies;
    NodeConnection* node = sent[k++];
    if (absl::Status st = node->Receive(work.second.size(), &replies); !st.ok()) {
      return Dropped(*node, st);
    }
    for (size_t r = 0; r < replies.size(); ++r) {
      if (work.second[r] != static_cast<size_t>(-1)) (*out)[work.second[r]] = std::move(replies[r]);
    }
  }
  for (size_t u : todo) {
    units[u].ask.clear();
    Track(node_of[u], p, units[u].first, units[u].last + 1);
  }
  return absl::OkStatus();
}

}  // namespace hookrelay::store::internal
