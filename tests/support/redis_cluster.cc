// RedisServer's cluster and TLS parts: forming a cluster of masters and replicas, failing a
// master over, moving slots, and the certificates of a TLS server.

#include <csignal>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/status_macros.h"
#include "tests/support/redis_node.h"
#include "tests/support/redis_server.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

constexpr absl::Duration kFormTimeout = absl::Seconds(60);

// One line of CLUSTER NODES: "<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch>
// <link> <slot ranges>...".
struct ClusterNode {
  std::string id;
  std::string address;  // "ip:port"
  bool master = false;
  bool failed = false;
  std::vector<std::pair<int, int>> slots;  // inclusive ranges

  int slot_count() const {
    int n = 0;
    for (auto [first, last] : slots) n += last - first + 1;
    return n;
  }
  bool serves(int slot) const {
    for (auto [first, last] : slots) {
      if (slot >= first && slot <= last) return true;
    }
    return false;
  }
};

std::vector<ClusterNode> ParseClusterNodes(absl::string_view text) {
  std::vector<ClusterNode> nodes;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 8) continue;
    ClusterNode node{.id = std::string(f[0])};
    node.address = std::string(f[1].substr(0, f[1].find('@')));
    node.master = absl::StrContains(f[2], "master");
    node.failed = absl::StrContains(f[2], "fail") && !absl::StrContains(f[2], "fail?");
    for (size_t i = 8; i < f.size(); ++i) {
      if (absl::StartsWith(f[i], "[")) continue;  // a slot being migrated or imported
      std::pair<absl::string_view, absl::string_view> range = absl::StrSplit(f[i], '-');
      int first = 0, last = 0;
      if (!absl::SimpleAtoi(range.first, &first)) continue;
      if (range.second.empty() || !absl::SimpleAtoi(range.second, &last)) last = first;
      node.slots.emplace_back(first, last);
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

}  // namespace

absl::Status RedisServer::FormCluster() {
  HR_ASSIGN_OR_RETURN(std::string info, NodeCommand(*nodes_.front(), {"CLUSTER", "INFO"}));
  if (absl::StrContains(info, "cluster_slots_assigned:0")) {
    if (nodes_.size() == 1) {
      HR_RETURN_IF_ERROR(
          NodeCommand(*nodes_.front(), {"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}).status());
    } else {
      std::vector<std::string> args = {"--cluster", "create"};
      for (const auto& node : nodes_) args.push_back(node->address());
      args.insert(args.end(),
                  {"--cluster-replicas", absl::StrCat(options_.replicas), "--cluster-yes"});
      HR_RETURN_IF_ERROR(RunTool("redis-cli", std::move(args), kFormTimeout));
    }
  }
  return WaitUntilClusterOk(kFormTimeout);
}

// Every live node says the cluster is ok, knows every other node, and every replica's link
// to its master is up (so a failover has a replica with the data to promote).
absl::Status RedisServer::WaitUntilClusterOk(absl::Duration timeout) {
  std::string last;
  const bool ok = WaitFor(
      [&] {
        for (const auto& node : nodes_) {
          if (!node->running()) continue;
          auto info = NodeCommand(*node, {"CLUSTER", "INFO"});
          auto replication = NodeCommand(*node, {"INFO", "replication"});
          if (!info.ok() || !replication.ok()) {
            last = absl::StrCat(node->address(), ": ",
                                (info.ok() ? replication : info).status().ToString());
            return false;
          }
          if (!absl::StrContains(*info, "cluster_state:ok") ||
              !absl::StrContains(*info, absl::StrCat("cluster_known_nodes:", nodes_.size())) ||
              (absl::StrContains(*replication, "role:slave") &&
               !absl::StrContains(*replication, "master_link_status:up"))) {
            last = absl::StrCat(node->address(), ":\n", *info);
            return false;
          }
          // Gossip has told it every replica's role: no master without slots.
          auto nodes = NodeCommand(*node, {"CLUSTER", "NODES"});
          if (!nodes.ok()) return false;
          for (const ClusterNode& n : ParseClusterNodes(*nodes)) {
            if (n.master && !n.failed && n.slot_count() == 0) {
              last =
                  absl::StrCat(node->address(), " sees ", n.address, " as a master without slots");
              return false;
            }
          }
        }
        return true;
      },
      timeout, absl::Milliseconds(20));
  if (ok) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("redis cluster not ok after ", absl::FormatDuration(timeout), ": ", last));
}

absl::StatusOr<std::vector<std::pair<std::string, int>>> RedisServer::Masters() const {
  HR_ASSIGN_OR_RETURN(std::string text, NodeCommand(*LiveNode(), {"CLUSTER", "NODES"}));
  std::vector<std::pair<std::string, int>> masters;
  for (const ClusterNode& node : ParseClusterNodes(text)) {
    if (node.master && !node.failed && node.slot_count() > 0) {
      masters.emplace_back(node.address, node.slot_count());
    }
  }
  return masters;
}

absl::StatusOr<std::string> RedisServer::KillMasterOf(int slot) {
  HR_ASSIGN_OR_RETURN(std::string text, NodeCommand(*LiveNode(), {"CLUSTER", "NODES"}));
  std::string victim;
  for (const ClusterNode& node : ParseClusterNodes(text)) {
    if (node.master && !node.failed && node.serves(slot)) victim = node.address;
  }
  Node* node = const_cast<Node*>(NodeAt(victim));
  if (node == nullptr) return absl::NotFoundError(absl::StrCat("no master serves slot ", slot));
  node->process->Signal(SIGKILL);
  HR_RETURN_IF_ERROR(node->process->Wait(absl::Seconds(10)).status());
  node->process.reset();
  // A replica takes over once the others agree the master failed (cluster-node-timeout).
  const bool promoted = WaitFor(
      [&] {
        auto now = NodeCommand(*LiveNode(), {"CLUSTER", "NODES"});
        if (!now.ok()) return false;
        for (const ClusterNode& n : ParseClusterNodes(*now)) {
          if (n.master && !n.failed && n.serves(slot) && n.address != victim) return true;
        }
        return false;
      },
      absl::Seconds(30), absl::Milliseconds(20));
  if (!promoted) {
    return absl::DeadlineExceededError(absl::StrCat("no replica took over from ", victim));
  }
  const bool ok = WaitFor(
      [&] {
        auto info = NodeCommand(*LiveNode(), {"CLUSTER", "INFO"});
        return info.ok() && absl::StrContains(*info, "cluster_state:ok");
      },
      absl::Seconds(30), absl::Milliseconds(20));
  if (!ok) return absl::DeadlineExceededError("cluster not ok after the failover");
  return victim;
}

absl::Status RedisServer::MoveSlots(int slot, int count) {
  HR_ASSIGN_OR_RETURN(std::string text, NodeCommand(*LiveNode(), {"CLUSTER", "NODES"}));
  std::string from, to;
  for (const ClusterNode& node : ParseClusterNodes(text)) {
    if (!node.master || node.failed) continue;
    if (node.serves(slot)) {
      from = node.id;
    } else if (to.empty() && node.slot_count() > 0) {
      to = node.id;
    }
  }
  if (from.empty() || to.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("no two masters to move slot ", slot));
  }
  HR_RETURN_IF_ERROR(RunTool(
      "redis-cli",
      {"--cluster", "reshard", LiveNode()->address(), "--cluster-from", from, "--cluster-to", to,
       "--cluster-slots", absl::StrCat(count), "--cluster-yes", "--cluster-pipeline", "100"},
      absl::Seconds(120)));
  return WaitUntilClusterOk(absl::Seconds(30));
}

absl::Status RedisServer::MakeCertificates() {
  const std::string ec = "ec", curve = "ec_paramgen_curve:prime256v1";
  auto ca = [&](const std::string& name, const std::string& cn) {
    return RunTool(
        "openssl",
        {"req", "-x509", "-newkey", ec, "-pkeyopt", curve, "-nodes", "-days", "2", "-subj",
         "/CN=" + cn, "-keyout", dir_ + "/" + name + ".key", "-out", dir_ + "/" + name + ".crt"},
        absl::Seconds(30));
  };
  // A key and a certificate signed by the CA, with `san` as its subjectAltName.
  auto leaf = [&](const std::string& name, const std::string& cn, const std::string& san) {
    const std::string base = dir_ + "/" + name;
    HR_RETURN_IF_ERROR(
        RunTool("openssl",
                {"req", "-newkey", ec, "-pkeyopt", curve, "-nodes", "-subj", "/CN=" + cn, "-addext",
                 "subjectAltName=" + san, "-keyout", base + ".key", "-out", base + ".csr"},
                absl::Seconds(30)));
    return RunTool(
        "openssl",
        {"x509", "-req", "-in", base + ".csr", "-CA", ca_file(), "-CAkey", dir_ + "/ca.key",
         "-CAcreateserial", "-days", "2", "-copy_extensions", "copyall", "-out", base + ".crt"},
        absl::Seconds(30));
  };
  HR_RETURN_IF_ERROR(ca("ca", "hookrelay test CA"));
  HR_RETURN_IF_ERROR(ca("other-ca", "some other CA"));
  HR_RETURN_IF_ERROR(leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1"));
  return leaf("client", "hookrelay", "DNS:hookrelay");
}

absl::Status RedisServer::RunTool(const std::string& binary, std::vector<std::string> args,
                                  absl::Duration timeout) const {
  const std::string line = absl::StrCat(binary, " ", absl::StrJoin(args, " "));
  HR_ASSIGN_OR_RETURN(auto process, Process::Start({.binary = binary, .args = std::move(args)}));
  absl::StatusOr<int> code = process->Wait(timeout);
  if (code.ok() && *code == 0) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(line, ": ", code.ok() ? absl::StrCat("exit code ", *code) : "timed out", "\n",
                   process->Output()));
}

}  // namespace hookrelay::testing
