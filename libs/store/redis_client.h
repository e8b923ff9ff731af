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

// Where Redis is: parsed from "redis://[[user]:password@]host:port[/db]".
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
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
  // OK unless this is an error reply (then INTERNAL "redis: <message>").
  absl::Status ToStatus() const;
};

// Commands queued for one round trip. Arguments are copied into one RESP buffer as they
// are added, so callers may pass views of temporaries.
class Pipeline {
 public:
  void Add(std::initializer_list<absl::string_view> argv);
  void Add(absl::Span<const absl::string_view> argv);
  void Add(absl::Span<const std::string> argv);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void Clear();
  const std::string& buffer() const { return buffer_; }

 private:
  template <typename Args>
  void AddCommand(const Args& argv);
  void AppendHeader(size_t argc);
  void AppendArg(absl::string_view arg);
  std::string buffer_;
  size_t count_ = 0;
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

// One synchronous connection. Not thread-safe: give each thread its own. After an I/O
// error the connection is dropped and the next call reconnects, so a Redis restart costs
// the callers in flight an UNAVAILABLE and nothing more.
class RedisConnection {
 public:
  // UNAVAILABLE if Redis cannot be reached (with the address), INVALID_ARGUMENT for a bad URL.
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Connect(const RedisOptions& options);
  ~RedisConnection();

  // One command. Error replies come back as a Status (INTERNAL "redis: ...");
  // UNAVAILABLE on I/O errors.
  absl::StatusOr<RedisReply> Command(std::initializer_list<absl::string_view> argv);
  absl::StatusOr<RedisReply> Command(absl::Span<const std::string> argv);
  // All commands of `pipeline` in one round trip; replies in order, error replies kept as
  // kError elements. UNAVAILABLE on I/O errors.
  absl::StatusOr<std::vector<RedisReply>> Execute(const Pipeline& pipeline);
  // EVALSHA, falling back to EVAL on NOSCRIPT.
  absl::StatusOr<RedisReply> Eval(const RedisScript& script, absl::Span<const std::string> keys,
                                  absl::Span<const std::string> args);
  // PING; for readiness probes.
  absl::Status Ping();

 private:
  class Impl;
  explicit RedisConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookrelay::store
