#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace hookrelay::store {

namespace internal {
class ClusterMap;
class NodeConnection;
}  // namespace internal

// Where Redis is: parsed from "redis[s]://[[user]:password@]host:port[,host:port...][/db]".
// Several hosts are seed nodes of a Redis Cluster; "rediss" means TLS.
struct RedisEndpoint {
  std::string host = "127.0.0.1";  // the first node
  int port = 6379;
  std::vector<std::string> nodes;  // every node as "host:port", the first one included
  bool tls = false;
  int db = 0;
  std::string username;
  std::string password;
};
// INVALID_ARGUMENT "redis_url: ..." when the URL does not parse.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

struct RedisOptions {
  std::string url = "redis://127.0.0.1:6379";
  absl::Duration connect_timeout = absl::Seconds(2);
  // Socket timeout of one command; must exceed any BLOCK a caller uses.
  absl::Duration command_timeout = absl::Seconds(10);
  // TLS (rediss://): the CA bundle verifying the server (empty: the system's CAs), a client
  // certificate and key for mutual TLS, and the name to verify and send as SNI (empty: the
  // host of the URL).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string tls_server_name;
  // A Redis Cluster is found out on the first connection (kAuto) or stated.
  enum class Mode { kAuto, kStandalone, kCluster };
  Mode mode = Mode::kAuto;
  // INVALID_ARGUMENT naming the flag for a bad URL, a timeout that is not positive, half a
  // client certificate, or TLS files without rediss://.
  absl::Status Validate() const;
};

// A reply copied out of hiredis.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  // Whether this is a cluster's "come back later / elsewhere" answer (MOVED, ASK, TRYAGAIN,
  // CLUSTERDOWN): the command did not run and may be sent again.
  bool is_redirect() const;
  // OK unless this is an error reply: INTERNAL "redis: <message>", or UNAVAILABLE for a
  // redirect (retry).
  absl::Status ToStatus() const;
};

class RedisScript;

// Commands queued for one round trip. Arguments are copied into one RESP buffer as they
// are added, so callers may pass views of temporaries.
class Pipeline {
 public:
  void Add(std::initializer_list<absl::string_view> argv);
  void Add(absl::Span<const absl::string_view> argv);
  // MULTI, and EXEC closing the transaction; EndTransaction returns the index of EXEC's reply
  // (the array of the queued commands' replies, or nil when a WATCH refused it).
  void BeginTransaction() { Add({"MULTI"}); }
  size_t EndTransaction() {
    Add({"EXEC"});
    return size() - 1;
  }
  void Add(absl::Span<const std::string> argv);
  // EVALSHA of `script`; RedisConnection::Execute() runs it again as EVAL if Redis lost its
  // script cache (so not inside MULTI, where the error would come with EXEC).
  void AddEval(const RedisScript& script, absl::Span<const std::string> keys,
               absl::Span<const std::string> args);
  size_t size() const { return starts_.size(); }
  bool empty() const { return starts_.empty(); }
  void Clear();
  const std::string& buffer() const { return buffer_; }
  // Where command `i` starts in buffer() (a cluster routes each command by its key).
  size_t start(size_t i) const { return starts_[i]; }

 private:
  template <typename Args>
  void AddCommand(const Args& argv);
  void AppendHeader(size_t argc);
  void AppendArg(absl::string_view arg);
  friend class RedisConnection;
  // A script call of the pipeline, as its EVAL fallback: the command's index and argv.
  struct ScriptCall {
    size_t index;
    std::vector<std::string> eval;
  };
  std::string buffer_;
  std::vector<size_t> starts_;
  std::vector<ScriptCall> scripts_;
};

// A Lua script run by SHA with a fallback to EVAL when Redis lost its script cache (after
// a restart).
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha() const { return sha_; }

 private:
  std::string source_;
  std::string sha_;
};

class WakeSignal;

// One connection to Redis: to one server, or to a Redis Cluster (then a connection to each
// master it needs, every command sent to the master serving its key's slot, a transaction
// MULTI…EXEC as one unit; MOVED answers update the slot map and the command goes again, ASK
// answers send it once to the node named with ASKING first, TRYAGAIN and CLUSTERDOWN wait a
// little and retry, a few times). Plain TCP or TLS (rediss://), with an ACL user.
// Not thread-safe: give each thread its own. After an I/O error the connection is dropped and
// the next call reconnects, so a Redis restart or failover costs the callers in flight an
// UNAVAILABLE and nothing more.
class RedisConnection {
 public:
  // UNAVAILABLE if Redis cannot be reached (with the address), INVALID_ARGUMENT for a bad
  // URL, UNAUTHENTICATED for refused credentials, FAILED_PRECONDITION for a TLS failure.
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Connect(const RedisOptions& options);
  ~RedisConnection();

  // One command. Error replies come back as a Status (INTERNAL "redis: ...");
  // UNAVAILABLE on I/O errors.
  absl::StatusOr<RedisReply> Command(std::initializer_list<absl::string_view> argv);
  absl::StatusOr<RedisReply> Command(absl::Span<const std::string> argv);
  // All commands of `pipeline` in one round trip (per node of a cluster); replies in order,
  // error replies kept as kError elements. UNAVAILABLE on I/O errors.
  absl::StatusOr<std::vector<RedisReply>> Execute(const Pipeline& pipeline);
  // Execute() in two halves, so one thread can have commands out on several connections at
  // once: Send() writes the pipeline, Receive() reads `count` replies (those of the commands
  // sent, in order). On a cluster the pipeline's commands must lie on one master (one slot,
  // as a shard's); a redirect answer comes back as it is (the slot map is updated). After an
  // error on either, the connection is dropped and the replies of what was sent are lost.
  absl::Status Send(const Pipeline& pipeline);
  absl::StatusOr<std::vector<RedisReply>> Receive(size_t count);
  // EVALSHA, falling back to EVAL on NOSCRIPT.
  absl::StatusOr<RedisReply> Eval(const RedisScript& script, absl::Span<const std::string> keys,
                                  absl::Span<const std::string> args);
  // PING; for readiness probes.
  absl::Status Ping();
  // Whether this is a connection to a Redis Cluster.
  bool cluster() const;
  // Waits up to `timeout` until at least one of `conns` has a reply to read (or its
  // connection failed, which Receive() then reports) or `wake` (a WakeSignal's, may be null)
  // was signalled. Returns the indexes of the connections that have; empty on timeout or
  // wake.
  static std::vector<size_t> WaitReadable(absl::Span<RedisConnection* const> conns,
                                          const WakeSignal* wake, absl::Duration timeout);

 private:
  class Impl;
  explicit RedisConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Interrupts a RedisConnection::WaitReadable() from another thread. Thread-safe.
class WakeSignal {
 public:
  WakeSignal();
  ~WakeSignal();
  WakeSignal(const WakeSignal&) = delete;
  WakeSignal& operator=(const WakeSignal&) = delete;
  // Makes the current or next wait return; signals coalesce until Clear().
  void Notify() const;
  void Clear() const;

 private:
  friend class RedisConnection;
  class Fd;  // an eventfd, closed by its destructor
  std::unique_ptr<Fd> fd_;
};

}  // namespace hookrelay::store
