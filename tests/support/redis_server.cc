#include "tests/support/redis_server.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <sys/time.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "libs/core/status_macros.h"
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

absl::StatusOr<ContextPtr> Connect(int port) {
  const timeval timeout = absl::ToTimeval(kCommandTimeout);
  ContextPtr context(redisConnectWithTimeout("127.0.0.1", port, timeout));
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

}  // namespace

bool RedisServer::ClusterFromEnvironment() {
  const char* mode = getenv("HOOKRELAY_TEST_REDIS");
  return mode != nullptr && std::string(mode) == "cluster";
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(Options options) {
  HR_ASSIGN_OR_RETURN(std::string dir, MakeTempDir());
  std::unique_ptr<RedisServer> server(new RedisServer(options, std::move(dir)));
  absl::Status status;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    const size_t log_offset = FileSize(server->LogPath());
    status = server->Launch(FreeLoopbackPort());
    if (status.ok()) return server;
    // Another process took the port between the probe and redis-server's bind: retry.
    if (!absl::StrContains(server->LogTail(log_offset), "Address already in use")) break;
  }
  return status;
}

RedisServer::~RedisServer() {
  process_.reset();  // SIGKILL: the data goes away with the dir anyway.
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::url() const { return absl::StrCat("redis://127.0.0.1:", port_); }

pid_t RedisServer::pid() const { return process_ != nullptr ? process_->pid() : last_pid_; }

absl::Status RedisServer::FlushAll() { return Command({"FLUSHALL"}).status(); }

absl::Status RedisServer::Restart() {
  HR_RETURN_IF_ERROR(Stop());
  return StartAgain();
}

absl::Status RedisServer::Stop() {
  if (process_ == nullptr) return absl::OkStatus();
  process_->Signal(SIGTERM);
  if (!process_->Wait(kStopTimeout).ok()) {
    process_->Signal(SIGKILL);
    HR_RETURN_IF_ERROR(process_->Wait(kStopTimeout).status());
  }
  process_.reset();
  return absl::OkStatus();
}

absl::Status RedisServer::StartAgain() {
  if (process_ != nullptr && process_->Running()) {
    return absl::FailedPreconditionError(absl::StrCat("redis ", url(), ": already running"));
  }
  return Launch(port_);
}

long long RedisServer::Ttl(const std::string& key) const {
  long long ttl = -3;
  (void)absl::SimpleAtoi(Command({"TTL", key}).value_or("-3"), &ttl);
  return ttl;
}

absl::StatusOr<std::string> RedisServer::Command(const std::vector<std::string>& argv) const {
  HR_ASSIGN_OR_RETURN(ContextPtr context, Connect(port_));
  HR_ASSIGN_OR_RETURN(ReplyPtr reply, Run(*context, argv));
  return Render(*reply);
}

absl::Status RedisServer::Launch(int port) {
  port_ = port;
  const size_t log_offset = FileSize(LogPath());
  Process::Options process_options{
      .binary = "redis-server",
      .args = {"--port", absl::StrCat(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
               options_.append_only ? "yes" : "no", "--dir", dir_, "--hz", "100", "--daemonize",
               "no", "--protected-mode", "no", "--logfile", LogPath()},
      .output_path = LogPath(),
  };
  if (options_.cluster) {
    for (std::string arg : {"--cluster-enabled", "yes", "--cluster-config-file"}) {
      process_options.args.push_back(arg);
    }
    process_options.args.push_back(absl::StrCat(dir_, "/nodes.conf"));
    // The cluster bus: by default port + 10000, which may not exist.
    process_options.args.push_back("--cluster-port");
    process_options.args.push_back(absl::StrCat(FreeLoopbackPort()));
  }
  process_.reset();
  HR_ASSIGN_OR_RETURN(process_, Process::Start(std::move(process_options)));
  last_pid_ = process_->pid();
  absl::Status status = WaitUntilReady(log_offset);
  if (status.ok() && options_.cluster) status = WaitUntilClusterOk();
  if (!status.ok()) process_.reset();
  return status;
}

absl::Status RedisServer::WaitUntilClusterOk() {
  auto info = Command({"CLUSTER", "INFO"});
  if (!info.ok()) return info.status();
  if (absl::StrContains(*info, "cluster_slots_assigned:0")) {
    HR_RETURN_IF_ERROR(Command({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}).status());
  }
  const bool ok = WaitFor(
      [&] {
        auto i = Command({"CLUSTER", "INFO"});
        return i.ok() && absl::StrContains(*i, "cluster_state:ok");
      },
      kReadyTimeout, absl::Milliseconds(10));
  if (ok) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("redis-server on port ", port_,
                                             ": cluster state not ok after ",
                                             absl::FormatDuration(kReadyTimeout)));
}

absl::Status RedisServer::WaitUntilReady(size_t log_offset) {
  bool exited = false;
  const bool ready = WaitFor(
      [&] {
        exited = !process_->Running();
        if (exited) return true;
        absl::StatusOr<std::string> pong = Command({"PING"});
        return pong.ok() && *pong == "PONG";
      },
      kReadyTimeout, absl::Milliseconds(10));
  if (ready && !exited) return absl::OkStatus();
  const std::string reason =
      exited ? absl::StrCat("exited with code ", process_->Wait(absl::ZeroDuration()).value_or(-1))
             : absl::StrCat("not answering PING after ", absl::FormatDuration(kReadyTimeout));
  return absl::UnavailableError(absl::StrCat("redis-server on port ", port_, ": ", reason,
                                             "; log (", LogPath(), "):\n", LogTail(log_offset)));
}

std::string RedisServer::LogPath() const { return absl::StrCat(dir_, "/redis.log"); }

std::string RedisServer::LogTail(size_t offset) const {
  constexpr size_t kMaxTail = 4096;
  std::ifstream file(LogPath(), std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  std::string log = contents.str();
  if (offset > log.size()) offset = log.size();
  offset = std::max(offset, log.size() > kMaxTail ? log.size() - kMaxTail : 0);
  return log.substr(offset);
}

}  // namespace hookrelay::testing
