// RedisConnection: one Redis server, or a Redis Cluster routed by slot.

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/store/internal/cluster_connection.h"
#include "libs/store/internal/node_connection.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store {
namespace {

using internal::ClusterConnection;
using internal::NodeConnection;

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
  auto replies = conn.Execute(p);
  if (!replies.ok()) return replies.status();
  const RedisReply& r = (*replies)[0];
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

}  // namespace

// A standalone server's connection, or a ClusterConnection.
class RedisConnection::Impl {
 public:
  Impl(RedisOptions options, RedisEndpoint endpoint)
      : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

  // Connects to the first reachable node and, in auto mode, finds out whether it is a cluster.
  absl::Status Open() {
    absl::Status last;
    for (const std::string& address : endpoint_.nodes) {
      auto conn = NodeConnection::Connect(internal::NodeOptionsFor(options_, endpoint_, address));
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
      auto c = std::make_unique<ClusterConnection>(options_, endpoint_);
      if (absl::Status st = c->Start(*std::move(conn)); !st.ok()) return st;
      cluster_ = std::move(c);
      return absl::OkStatus();
    }
    return last;
  }

  bool cluster() const { return cluster_ != nullptr; }

  absl::StatusOr<std::vector<RedisReply>> Execute(const Pipeline& p) {
    if (p.empty()) return std::vector<RedisReply>();
    if (cluster()) return cluster_->Execute(p);
    if (absl::Status st = Send(p); !st.ok()) return st;
    return Receive(p.size());
  }

  absl::Status Send(const Pipeline& p) {
    if (cluster()) return cluster_->Send(p);
    if (p.empty()) return absl::OkStatus();
    auto node = Standalone();
    if (!node.ok()) return node.status();
    if (absl::Status st = (*node)->Send(p.buffer()); !st.ok()) return Dropped(st);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<RedisReply>> Receive(size_t count) {
    if (cluster()) return cluster_->Receive(count);
    std::vector<RedisReply> out;
    if (count == 0) return out;
    if (node_ == nullptr) return absl::UnavailableError("redis: connection lost");
    if (absl::Status st = node_->Receive(count, &out); !st.ok()) return Dropped(st);
    return out;
  }

  // The socket to wait on for the next reply; -1 to read at once (buffered, or broken).
  int PollFd() const {
    if (cluster()) return cluster_->PollFd();
    return node_ == nullptr ? -1 : node_->PollFd();
  }

 private:
  absl::StatusOr<NodeConnection*> Standalone() {
    if (node_ == nullptr || node_->broken()) {
      node_.reset();
      if (absl::Status st = Open(); !st.ok()) return st;
      if (cluster()) return absl::UnavailableError("redis: the server became a cluster; reconnect");
    }
    return node_.get();
  }

  // The server failed: the next command connects again.
  absl::Status Dropped(absl::Status st) {
    node_.reset();
    return st;
  }

  const RedisOptions options_;
  const RedisEndpoint endpoint_;
  std::unique_ptr<NodeConnection> node_;        // standalone
  std::unique_ptr<ClusterConnection> cluster_;  // or a cluster
};

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
