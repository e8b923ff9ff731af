// RedisConnection: one Redis server, or a Redis Cluster routed by slot.

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/store/hash_slot.h"
#include "libs/store/internal/cluster_map.h"
#include "libs/store/internal/command_route.h"
#include "libs/store/internal/node_connection.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store {
namespace {

using internal::ClusterMap;
using internal::NodeConnection;

constexpr int kMaxRedirects = 5;

// Whether the server at `url` runs in cluster mode, found out once per URL and process.
absl::StatusOr<bool> DetectCluster(const std::string& url, NodeConnection& conn) {
  static std::mutex mu;
  static auto* known = new std::map<std::string, bool>();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = known->find(url); it != known->end()) return it->second;
  }
  // CLUSTER SLOTS, which cluster mode needs anyway, rather than INFO: an ACL user limited
  // to what hookrelay needs (README) may not run INFO.
  Pipeline p;
  p.Add({"CLUSTER", "SLOTS"});
  std::vector<RedisReply> replies;
  if (absl::Status st = conn.Send(p.buffer()); !st.ok()) return st;
  if (absl::Status st = conn.Receive(1, &replies); !st.ok()) return st;
  const RedisReply& r = replies[0];
  const bool cluster = !r.is_error();
  if (r.is_error() && !absl::StrContains(r.str, "cluster support disabled")) {
    if (absl::StartsWith(r.str, "NOPERM")) {
      return absl::PermissionDeniedError(absl::StrCat(
          "redis: the ACL user may not run CLUSTER SLOTS, which tells a cluster from a "
          "standalone Redis: grant +cluster|slots or set --redis_cluster=on|off (",
          r.str, ")"));
    }
    return r.ToStatus();
  }
  std::lock_guard<std::mutex> lock(mu);
  (*known)[url] = cluster;
  return cluster;
}

// A cluster's answer naming another node: "MOVED <slot> <host:port>" or "ASK ...".
bool ParseRedirect(const RedisReply& r, absl::string_view kind, int* slot, std::string* address) {
  if (!r.is_error() || !absl::StartsWith(r.str, kind)) return false;
  std::vector<std::string> parts = absl::StrSplit(r.str, ' ');
  return parts.size() == 3 && absl::SimpleAtoi(parts[1], slot) && ((*address = parts[2]), true);
}

// The commands of a pipeline grouped for a cluster: a unit is one command, or a transaction
// from MULTI to its EXEC (all of it must go to one node).
struct Unit {
  size_t first = 0, last = 0;  // command indexes, inclusive
  int slot = -1;               // of its first keyed command; -1: none
  bool transaction = false;
  bool watched = false;  // a transaction sent to a node that held a WATCH of this connection
  std::string ask;       // an ASK answer's node: send there once, after ASKING
};

}  // namespace

class RedisConnection::Impl {
 public:
  Impl(RedisOptions options, RedisEndpoint endpoint)
      : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

  // Connects to the first reachable node and, in auto mode, finds out whether it is a cluster.
  absl::Status Open() {
    absl::Status last;
    for (const std::string& address : endpoint_.nodes) {
      auto conn = NodeConnection::Connect(NodeOptions(address));
      if (!conn.ok()) {
        last = conn.status();
        if (!absl::IsUnavailable(last)) return last;  // credentials or TLS: no point going on
        continue;
      }
      bool cluster = options_.mode == RedisOptions::Mode::kCluster;
      if (options_.mode == RedisOptions::Mode::kAuto) {
        auto detected = DetectCluster(options_.url, **conn);
        if (!detected.ok()) return detected.status();
        cluster = *detected;
      }
      if (!cluster) {
        node_ = *std::move(conn);
        return absl::OkStatus();
      }
      map_ = ClusterMap::For(endpoint_.nodes);
      if (absl::Status st = map_->Refresh(**conn); !st.ok()) return st;
      last_node_ = address;
      nodes_[address] = *std::move(conn);
      return absl::OkStatus();
    }
    return last;
  }

  bool cluster() const { return map_ != nullptr; }

  absl::StatusOr<std::vector<RedisReply>> Execute(const Pipeline& p) {
    if (p.empty()) return std::vector<RedisReply>();
    if (cluster()) return ExecuteCluster(p);
    if (absl::Status st = Send(p); !st.ok()) return st;
    return Receive(p.size());
  }

  absl::Status Send(const Pipeline& p) {
    if (p.empty()) return absl::OkStatus();
    auto node = cluster() ? NodeOfPipeline(p) : Standalone();
    if (!node.ok()) return node.status();
    if (absl::Status st = (*node)->Send(p.buffer()); !st.ok()) return Dropped(**node, st);
    if (cluster()) {
      pending_.emplace_back((*node)->address(), p.size());
      Track((*node)->address(), p, 0, p.size());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<RedisReply>> Receive(size_t count) {
    std::vector<RedisReply> out;
    if (count == 0) return out;
    NodeConnection* node = node_.get();
    if (cluster()) {
      if (pending_.empty()) return absl::FailedPreconditionError("redis: nothing was sent");
      auto it = nodes_.find(pending_.front().first);
      pending_.pop_front();
      node = it == nodes_.end() ? nullptr : it->second.get();
    }
    if (node == nullptr) return absl::UnavailableError("redis: connection lost");
    if (absl::Status st = node->Receive(count, &out); !st.ok()) return Dropped(*node, st);
    if (cluster()) NoteRedirects(out);
    return out;
  }

  // The socket to wait on for the next reply; -1 to read at once (buffered, or broken).
  int PollFd() const {
    if (!cluster()) return node_ == nullptr ? -1 : node_->PollFd();
    if (pending_.empty()) return -1;
    auto it = nodes_.find(pending_.front().first);
    return it == nodes_.end() ? -1 : it->second->PollFd();
  }

 private:
  NodeConnection::Options NodeOptions(const std::string& address) const {
    return internal::NodeOptionsFor(options_, endpoint_, address);
  }

  absl::StatusOr<NodeConnection*> Standalone() {
    if (node_ == nullptr || node_->broken()) {
      node_.reset();
      if (absl::Status st = Open(); !st.ok()) return st;
      if (cluster()) return absl::UnavailableError("redis: the server became a cluster; reconnect");
    }
    return node_.get();
  }

  // The connection to the master at `address`, made when missing or broken.
  absl::StatusOr<NodeConnection*> Node(const std::string& address) {
    auto it = nodes_.find(address);
    if (it != nodes_.end() && !it->second->broken()) return it->second.get();
    auto conn = NodeConnection::Connect(NodeOptions(address));
    if (!conn.ok()) {
      nodes_.erase(address);
      return conn.status();
    }
    watching_.erase(address);
    auto& slot = nodes_[address];
    slot = *std::move(conn);
    return slot.get();
  }

  // A node failed: forget its connection (and the watches on it); the slot map is read again
  // before the next command, as the node may have been replaced by a failover.
  absl::Status Dropped(NodeConnection& node, absl::Status st) {
    if (!cluster()) {
      node_.reset();
      return st;
    }
    const std::string address = node.address();
    nodes_.erase(address);
    watching_.erase(address);
    pending_.clear();
    stale_ = true;
    return st;
  }

  // Reads the slot map again through any node that answers.
  absl::Status RefreshMap() {
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

  static int SlotOf(const Pipeline& p, size_t i) {
    size_t end = 0;
    auto argv = internal::ParseCommand(p.buffer(), p.start(i), &end);
    auto key = internal::RouteKey(argv);
    return key.has_value() ? HashSlot(*key) : -1;
  }

  absl::StatusOr<NodeConnection*> NodeOfPipeline(const Pipeline& p) {
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

  // Keeps track of which nodes hold a WATCH of this connection, for commands [from, to).
  void Track(const std::string& address, const Pipeline& p, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      size_t end = 0;
      auto argv = internal::ParseCommand(p.buffer(), p.start(i), &end);
      if (internal::IsCommand(argv, "WATCH")) watching_.insert(address);
      if (internal::IsCommand(argv, "EXEC") || internal::IsCommand(argv, "DISCARD") ||
          internal::IsCommand(argv, "UNWATCH")) {
        watching_.erase(address);
      }
    }
  }

  // A MOVED answer updates the map at once; the others make it be read again soon.
  void NoteRedirects(const std::vector<RedisReply>& replies) {
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

  std::vector<Unit> Units(const Pipeline& p) const;
  absl::StatusOr<std::vector<RedisReply>> ExecuteCluster(const Pipeline& p);
  absl::Status RunUnits(const Pipeline& p, std::vector<Unit>& units,
                        const std::vector<size_t>& todo, std::vector<RedisReply>* out);

  const RedisOptions options_;
  const RedisEndpoint endpoint_;
  std::unique_ptr<NodeConnection> node_;  // standalone
  // Cluster: the slot map, a connection per master used, the node of the last command (for
  // keyless ones: UNWATCH, PING), the Send()s not yet received, the nodes holding a WATCH.
  std::shared_ptr<ClusterMap> map_;
  absl::flat_hash_map<std::string, std::unique_ptr<NodeConnection>> nodes_;
  std::string last_node_;
  std::deque<std::pair<std::string, size_t>> pending_;
  std::set<std::string> watching_;
  bool stale_ = false;
};

std::vector<Unit> RedisConnection::Impl::Units(const Pipeline& p) const {
  std::vector<Unit> units;
  for (size_t i = 0; i < p.size(); ++i) {
    size_t end = 0;
    auto argv = internal::ParseCommand(p.buffer(), p.start(i), &end);
    Unit u{.first = i, .last = i};
    if (internal::IsCommand(argv, "MULTI")) {
      u.transaction = true;
      for (size_t j = i + 1; j < p.size(); ++j) {
        auto inner = internal::ParseCommand(p.buffer(), p.start(j), &end);
        if (u.slot < 0) u.slot = SlotOf(p, j);
        u.last = j;
        if (internal::IsCommand(inner, "EXEC") || internal::IsCommand(inner, "DISCARD")) break;
      }
      i = u.last;
    } else {
      auto key = internal::RouteKey(argv);
      u.slot = key.has_value() ? HashSlot(*key) : -1;
    }
    units.push_back(u);
  }
  return units;
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Impl::ExecuteCluster(const Pipeline& p) {
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

// Sends units `todo` to their masters (one pipeline per master, the masters' round trips
// overlapping) and puts their replies in `out`.
absl::Status RedisConnection::Impl::RunUnits(const Pipeline& p, std::vector<Unit>& units,
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

RedisConnection::RedisConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisConnection::~RedisConnection() = default;

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const RedisOptions& options) {
  absl::Status valid = options.Validate();
  if (!valid.ok()) return valid;
  auto endpoint = ParseRedisUrl(options.url);
  if (!endpoint.ok()) return endpoint.status();
  auto impl = std::make_unique<Impl>(options, *std::move(endpoint));
  if (absl::Status st = impl->Open(); !st.ok()) return st;
  return std::unique_ptr<RedisConnection>(new RedisConnection(std::move(impl)));
}

bool RedisConnection::cluster() const { return impl_->cluster(); }

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Execute(const Pipeline& pipeline) {
  auto replies = impl_->Execute(pipeline);
  if (!replies.ok()) return replies;
  // Scripts Redis no longer knew (it restarted, or SCRIPT FLUSH): run each once more by source.
  for (const Pipeline::ScriptCall& call : pipeline.scripts_) {
    RedisReply& reply = (*replies)[call.index];
    if (!reply.is_error() || !absl::StartsWith(reply.str, "NOSCRIPT")) continue;
    Pipeline again;
    again.Add(absl::MakeConstSpan(call.eval));
    auto r = impl_->Execute(again);
    if (!r.ok()) return r.status();
    reply = std::move((*r)[0]);
  }
  return replies;
}

absl::Status RedisConnection::Send(const Pipeline& pipeline) { return impl_->Send(pipeline); }

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Receive(size_t count) {
  return impl_->Receive(count);
}

namespace {

// The one reply of a single-command pipeline, with an error reply as a Status.
absl::StatusOr<RedisReply> SingleReply(absl::StatusOr<std::vector<RedisReply>> replies) {
  if (!replies.ok()) return replies.status();
  RedisReply& reply = (*replies)[0];
  if (reply.is_error()) return reply.ToStatus();
  return std::move(reply);
}

}  // namespace

absl::StatusOr<RedisReply> RedisConnection::Command(std::initializer_list<absl::string_view> argv) {
  Pipeline p;
  p.Add(argv);
  return SingleReply(impl_->Execute(p));
}

absl::StatusOr<RedisReply> RedisConnection::Command(absl::Span<const std::string> argv) {
  Pipeline p;
  p.Add(argv);
  return SingleReply(impl_->Execute(p));
}

absl::StatusOr<RedisReply> RedisConnection::Eval(const RedisScript& script,
                                                 absl::Span<const std::string> keys,
                                                 absl::Span<const std::string> args) {
  Pipeline p;
  p.AddEval(script, keys, args);
  return SingleReply(Execute(p));
}

absl::Status RedisConnection::Ping() { return Command({"PING"}).status(); }

class WakeSignal::Fd {
 public:
  Fd() : fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  const int fd;
};

WakeSignal::WakeSignal() : fd_(std::make_unique<Fd>()) {}
WakeSignal::~WakeSignal() = default;

void WakeSignal::Notify() const {
  const uint64_t one = 1;
  (void)!write(fd_->fd, &one, sizeof(one));
}

void WakeSignal::Clear() const {
  uint64_t value = 0;
  (void)!read(fd_->fd, &value, sizeof(value));
}

std::vector<size_t> RedisConnection::WaitReadable(absl::Span<RedisConnection* const> conns,
                                                  const WakeSignal* wake, absl::Duration timeout) {
  std::vector<size_t> ready;
  std::vector<pollfd> fds;
  std::vector<size_t> index;  // of each polled connection in `conns`
  for (size_t i = 0; i < conns.size(); ++i) {
    const int fd = conns[i]->impl_->PollFd();
    if (fd < 0) {
      ready.push_back(i);
    } else {
      fds.push_back({fd, POLLIN, 0});
      index.push_back(i);
    }
  }
  if (wake != nullptr) fds.push_back({wake->fd_->fd, POLLIN, 0});
  const int wait_ms = ready.empty() ? static_cast<int>(absl::ToInt64Milliseconds(timeout)) : 0;
  int n = ::poll(fds.data(), fds.size(), std::max(0, wait_ms));
  while (n < 0 && errno == EINTR) n = ::poll(fds.data(), fds.size(), 0);
  for (size_t k = 0; n > 0 && k < index.size(); ++k) {
    if (fds[k].revents != 0) ready.push_back(index[k]);
  }
  return ready;
}

}  // namespace hookrelay::store
