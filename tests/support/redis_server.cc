#include "tests/support/redis_server.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "libs/core/status_macros.h"
#include "tests/support/redis_node.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {
namespace {

constexpr absl::Duration kReadyTimeout = absl::Seconds(10);
constexpr absl::Duration kStopTimeout = absl::Seconds(10);
constexpr absl::Duration kCommandTimeout = absl::Seconds(10);
constexpr int kStartAttempts = 5;

struct ContextFree {
  void operator()(redisContext* context) const { redisFree(context); }
};
struct ReplyFree {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

// Connects to 127.0.0.1:`port`, or to the unix socket at `socket` if it is not empty.
absl::StatusOr<ContextPtr> Connect(int port, const std::string& socket) {
  const timeval timeout = absl::ToTimeval(kCommandTimeout);
  ContextPtr context(socket.empty() ? redisConnectWithTimeout("127.0.0.1", port, timeout)
                                    : redisConnectUnixWithTimeout(socket.c_str(), timeout));
  if (context == nullptr) return absl::ResourceExhaustedError("redis: cannot allocate context");
  if (context->err != 0) {
    return absl::UnavailableError(absl::StrCat("redis 127.0.0.1:", port, ": ", context->errstr));
  }
  if (redisSetTimeout(context.get(), timeout) != REDIS_OK) {
    return absl::InternalError(absl::StrCat("redis: set timeout: ", context->errstr));
  }
  return context;
}

absl::StatusOr<ReplyPtr> Run(redisContext& context, const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("argv: empty command");
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(&context, static_cast<int>(args.size()), args.data(), lengths.data())));
  if (reply == nullptr) {
    return absl::UnavailableError(absl::StrCat("redis ", argv[0], ": ", context.errstr));
  }
  return reply;
}

absl::StatusOr<std::string> Render(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::string(reply.str, reply.len);
    case REDIS_REPLY_INTEGER:
      return absl::StrCat(reply.integer);
    case REDIS_REPLY_NIL:
      return std::string("(nil)");
    case REDIS_REPLY_ERROR:
      return absl::InternalError(std::string(reply.str, reply.len));
    case REDIS_REPLY_ARRAY: {
      std::vector<std::string> elements;
      for (size_t i = 0; i < reply.elements; ++i) {
        HR_ASSIGN_OR_RETURN(std::string element, Render(*reply.element[i]));
        elements.push_back(std::move(element));
      }
      return absl::StrJoin(elements, "\n");
    }
    default:
      return absl::InternalError(absl::StrCat("redis: unexpected reply type ", reply.type));
  }
}

absl::StatusOr<std::string> MakeTempDir() {
  const char* tmp = getenv("TMPDIR");
  std::string dir = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/hookrelay-redis-XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat(dir, ": mkdtemp: ", strerror(errno)));
  }
  return dir;
}

size_t FileSize(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<size_t>(size);
}

// At most the last few KiB of the file written since `offset`.
std::string FileTail(const std::string& path, size_t offset) {
  constexpr size_t kMaxTail = 4096;
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  std::string log = contents.str();
  if (offset > log.size()) offset = log.size();
  offset = std::max(offset, log.size() > kMaxTail ? log.size() - kMaxTail : 0);
  return log.substr(offset);
}

// "MOVED 3999 127.0.0.1:6381" / "ASK ...": the node named, or "" for any other reply.
std::string RedirectTarget(const absl::Status& status, bool* ask) {
  const absl::string_view message = status.message();
  *ask = absl::StartsWith(message, "ASK ");
  if (!*ask && !absl::StartsWith(message, "MOVED ")) return "";
  const size_t space = message.rfind(' ');
  return std::string(message.substr(space + 1));
}

// INFO commandstats of several nodes as one: "cmdstat_<command>:calls=<sum>," per command.
absl::StatusOr<std::string> SumCommandStats(absl::StatusOr<std::string> stats) {
  if (!stats.ok()) return stats;
  std::map<std::string, long long> calls;
  for (absl::string_view line :
       absl::StrSplit(*stats, absl::ByAnyChar("\r\n"), absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&line, "cmdstat_")) continue;
    const size_t colon = line.find(":calls=");
    if (colon == absl::string_view::npos) continue;
    absl::string_view n = line.substr(colon + 7);
    long long value = 0;
    if (absl::SimpleAtoi(n.substr(0, n.find(',')), &value))
      calls[std::string(line.substr(0, colon))] += value;
  }
  std::string out = "# Commandstats\r\n";
  for (const auto& [command, n] : calls)
    absl::StrAppend(&out, "cmdstat_", command, ":calls=", n, ",\r\n");
  return out;
}

}  // namespace

int RedisServer::MastersFromEnvironment() {
  const char* mode = getenv("HOOKRELAY_TEST_REDIS");
  if (mode == nullptr) return 0;
  if (std::string(mode) == "cluster") return 3;
  if (std::string(mode) == "cluster1") return 1;
  return 0;
}

RedisServer::RedisServer(Options options, std::string dir)
    : options_(options), dir_(std::move(dir)) {}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(Options options) {
  if (options.tls && options.masters > 0) {
    return absl::InvalidArgumentError("RedisServer: TLS is for a standalone server only");
  }
  HR_ASSIGN_OR_RETURN(std::string dir, MakeTempDir());
  std::unique_ptr<RedisServer> server(new RedisServer(options, std::move(dir)));
  const int count = options.masters > 1 ? options.masters * (1 + options.replicas) : 1;
  for (int i = 0; i < count; ++i) {
    auto node = std::make_unique<Node>();
    node->dir = absl::StrCat(server->dir_, "/node", i);
    if (mkdir(node->dir.c_str(), 0700) != 0) {
      return absl::InternalError(absl::StrCat(node->dir, ": mkdir: ", strerror(errno)));
    }
    server->nodes_.push_back(std::move(node));
  }
  if (options.tls) HR_RETURN_IF_ERROR(server->MakeCertificates());
  HR_RETURN_IF_ERROR(server->StartNodes());
  if (server->cluster()) HR_RETURN_IF_ERROR(server->FormCluster());
  return server;
}

absl::Status RedisServer::StartNodes() {
  for (auto& node : nodes_) {
    absl::Status status;
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
      const size_t log_offset = FileSize(node->log_path());
      node->port = FreeLoopbackPort();
      node->bus_port = FreeLoopbackPort();
      status = Launch(*node);
      if (status.ok()) break;
      // Another process took the port between the probe and redis-server's bind: retry.
      if (!absl::StrContains(FileTail(node->log_path(), log_offset), "Address already in use")) {
        return status;
      }
    }
    HR_RETURN_IF_ERROR(status);
  }
  return absl::OkStatus();
}

RedisServer::~RedisServer() {
  nodes_.clear();  // SIGKILL: the data goes away with the dir anyway.
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

int RedisServer::port() const { return nodes_.front()->port; }

std::string RedisServer::url() const {
  std::vector<std::string> addresses;
  for (const auto& node : nodes_) addresses.push_back(node->address());
  return absl::StrCat(options_.tls ? "rediss://" : "redis://", absl::StrJoin(addresses, ","));
}

pid_t RedisServer::pid() const {
  const Node& node = *nodes_.front();
  return node.process != nullptr ? node.process->pid() : node.last_pid;
}

std::string RedisServer::ca_file() const { return absl::StrCat(dir_, "/ca.crt"); }
std::string RedisServer::client_cert_file() const { return absl::StrCat(dir_, "/client.crt"); }
std::string RedisServer::client_key_file() const { return absl::StrCat(dir_, "/client.key"); }
std::string RedisServer::other_ca_file() const { return absl::StrCat(dir_, "/other-ca.crt"); }

absl::Status RedisServer::FlushAll() {
  for (const auto& node : nodes_) {
    if (!node->running()) continue;
    auto done = NodeCommand(*node, {"FLUSHALL"});
    // A replica refuses writes; its master's FLUSHALL reaches it.
    if (!done.ok() && !absl::StartsWith(done.status().message(), "READONLY")) {
      return done.status();
    }
  }
  return absl::OkStatus();
}

absl::Status RedisServer::Restart() {
  HR_RETURN_IF_ERROR(Stop());
  return StartAgain();
}

absl::Status RedisServer::Stop() {
  for (auto& node : nodes_) {
    if (node->process == nullptr) continue;
    node->process->Signal(SIGTERM);
    if (!node->process->Wait(kStopTimeout).ok()) {
      node->process->Signal(SIGKILL);
      HR_RETURN_IF_ERROR(node->process->Wait(kStopTimeout).status());
    }
    node->process.reset();
  }
  return absl::OkStatus();
}

absl::Status RedisServer::StartAgain() {
  bool started = false;
  for (auto& node : nodes_) {
    if (node->running()) continue;
    HR_RETURN_IF_ERROR(Launch(*node));
    started = true;
  }
  if (!started) {
    return absl::FailedPreconditionError(absl::StrCat("redis ", url(), ": already running"));
  }
  return cluster() ? WaitUntilClusterOk(absl::Seconds(30)) : absl::OkStatus();
}

long long RedisServer::Ttl(const std::string& key) const {
  long long ttl = -3;
  (void)absl::SimpleAtoi(Command({"TTL", key}).value_or("-3"), &ttl);
  return ttl;
}

absl::StatusOr<std::string> RedisServer::NodeCommand(const Node& node,
                                                     const std::vector<std::string>& argv) const {
  HR_ASSIGN_OR_RETURN(ContextPtr context,
                      Connect(node.port, options_.tls ? node.socket_path() : ""));
  HR_ASSIGN_OR_RETURN(ReplyPtr reply, Run(*context, argv));
  return Render(*reply);
}

absl::StatusOr<std::string> RedisServer::Command(const std::vector<std::string>& argv) const {
  if (nodes_.size() > 1 && !argv.empty()) {
    // A node's own view: asked of every master and merged.
    if (absl::EqualsIgnoreCase(argv[0], "KEYS")) return OfEveryMaster(argv, "\n");
    if (argv.size() == 2 && absl::EqualsIgnoreCase(argv[0], "INFO") &&
        absl::EqualsIgnoreCase(argv[1], "commandstats")) {
      return SumCommandStats(OfEveryMaster(argv, "\r\n"));
    }
    // A node's settings, clients and scripts: every node's.
    for (const char* local : {"CONFIG", "CLIENT", "SCRIPT", "ACL"}) {
      if (!absl::EqualsIgnoreCase(argv[0], local)) continue;
      HR_RETURN_IF_ERROR(CommandOnEveryNode(argv));
      return NodeCommand(*LiveNode(), argv);
    }
  }
  const Node* node = LiveNode();
  if (node == nullptr) return absl::UnavailableError("redis: no node is running");
  const absl::Time deadline = absl::Now() + kCommandTimeout;
  for (int redirects = 0;;) {
    HR_ASSIGN_OR_RETURN(ContextPtr context,
                        Connect(node->port, options_.tls ? node->socket_path() : ""));
    HR_ASSIGN_OR_RETURN(ReplyPtr reply, Run(*context, argv));
    absl::StatusOr<std::string> result = Render(*reply);
    if (result.ok() || !cluster()) return result;
    // A cluster in the middle of a failover or a slot move: follow it, or wait a moment.
    bool ask = false;
    const std::string target = RedirectTarget(result.status(), &ask);
    const absl::string_view message = result.status().message();
    if (target.empty() && !absl::StartsWith(message, "CLUSTERDOWN") &&
        !absl::StartsWith(message, "TRYAGAIN")) {
      return result;
    }
    if (++redirects > 50 || absl::Now() > deadline) return result;
    if (target.empty()) {
      absl::SleepFor(absl::Milliseconds(50));
      continue;
    }
    node = NodeAt(target);
    if (node == nullptr) return absl::InternalError(absl::StrCat("redis: unknown node ", target));
    if (ask) {
      HR_ASSIGN_OR_RETURN(ContextPtr asked, Connect(node->port, ""));
      HR_ASSIGN_OR_RETURN(ReplyPtr ok, Run(*asked, {"ASKING"}));
      HR_ASSIGN_OR_RETURN(ReplyPtr asked_reply, Run(*asked, argv));
      return Render(*asked_reply);
    }
  }
}

absl::StatusOr<std::string> RedisServer::OfEveryMaster(const std::vector<std::string>& argv,
                                                       absl::string_view separator) const {
  std::vector<std::string> keys;
  for (const auto& node : nodes_) {
    if (!node->running()) continue;
    HR_ASSIGN_OR_RETURN(std::string role, NodeCommand(*node, {"INFO", "replication"}));
    if (!absl::StrContains(role, "role:master")) continue;
    HR_ASSIGN_OR_RETURN(std::string some, NodeCommand(*node, argv));
    if (!some.empty()) keys.push_back(std::move(some));
  }
  return absl::StrJoin(keys, separator);
}

absl::Status RedisServer::CommandOnEveryNode(const std::vector<std::string>& argv) const {
  for (const auto& node : nodes_) {
    if (node->running()) HR_RETURN_IF_ERROR(NodeCommand(*node, argv).status());
  }
  return absl::OkStatus();
}

const RedisServer::Node* RedisServer::LiveNode() const {
  for (const auto& node : nodes_) {
    if (node->process != nullptr) return node.get();
  }
  return nodes_.front().get();
}

const RedisServer::Node* RedisServer::NodeAt(const std::string& address) const {
  for (const auto& node : nodes_) {
    if (node->address() == address) return node.get();
  }
  return nullptr;
}

absl::Status RedisServer::Launch(Node& node) {
  const size_t log_offset = FileSize(node.log_path());
  Process::Options process_options{
      .binary = "redis-server",
      .args = {"--port",
               absl::StrCat(node.port),
               "--bind",
               "127.0.0.1",
               "--save",
               "",
               "--appendonly",
               options_.append_only ? "yes" : "no",
               "--dir",
               node.dir,
               "--hz",
               "100",
               "--daemonize",
               "no",
               "--protected-mode",
               "no",
               "--logfile",
               node.log_path(),
               "--repl-diskless-sync",
               "yes",
               "--repl-diskless-sync-delay",
               "0"},
      .output_path = node.log_path(),
  };
  auto& args = process_options.args;
  if (options_.tls) {
    args[1] = "0";  // no plain port
    args.insert(args.end(), {"--tls-port", absl::StrCat(node.port), "--tls-cert-file",
                             dir_ + "/server.crt", "--tls-key-file", dir_ + "/server.key",
                             "--tls-ca-cert-file", ca_file(), "--tls-auth-clients", "yes",
                             "--unixsocket", node.socket_path(), "--unixsocketperm", "700"});
  }
  if (cluster()) {
    args.insert(args.end(),
                {"--cluster-enabled", "yes", "--cluster-config-file", node.dir + "/nodes.conf",
                 "--cluster-port", absl::StrCat(node.bus_port), "--cluster-node-timeout",
                 absl::StrCat(absl::ToInt64Milliseconds(options_.node_timeout))});
  }
  node.process.reset();
  HR_ASSIGN_OR_RETURN(node.process, Process::Start(std::move(process_options)));
  node.last_pid = node.process->pid();
  absl::Status status = WaitUntilReady(node, log_offset);
  if (!status.ok()) node.process.reset();
  return status;
}

absl::Status RedisServer::WaitUntilReady(Node& node, size_t log_offset) {
  bool exited = false;
  const bool ready = WaitFor(
      [&] {
        exited = !node.process->Running();
        if (exited) return true;
        absl::StatusOr<std::string> pong = NodeCommand(node, {"PING"});
        return pong.ok() && *pong == "PONG";
      },
      kReadyTimeout, absl::Milliseconds(10));
  if (ready && !exited) return absl::OkStatus();
  const std::string reason =
      exited
          ? absl::StrCat("exited with code ", node.process->Wait(absl::ZeroDuration()).value_or(-1))
          : absl::StrCat("not answering PING after ", absl::FormatDuration(kReadyTimeout));
  return absl::UnavailableError(absl::StrCat("redis-server on port ", node.port, ": ", reason,
                                             "; log (", node.log_path(), "):\n",
                                             FileTail(node.log_path(), log_offset)));
}

}  // namespace hookrelay::testing
