#pragma once

// One connection to one Redis node, plain TCP or TLS, with hiredis as the RESP reader only:
// we own the socket and the TLS session (Debian's hiredis 0.14 has no TLS). Internal to
// libs/store: RedisConnection (standalone or cluster) and Subscriber are built on it.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store::internal {

// The TLS settings of a connection (rediss://).
struct TlsConfig {
  std::string ca_file;    // PEM CA bundle that verifies the server; empty: the system's
  std::string cert_file;  // client certificate and key, for mutual TLS (both or neither)
  std::string key_file;
  std::string server_name;  // SNI and the name verified; empty: the host connected to
};

class NodeConnection {
 public:
  struct Options {
    std::string host;
    int port = 6379;
    bool tls = false;
    TlsConfig tls_config;
    std::string username;
    std::string password;
    int db = 0;
    absl::Duration connect_timeout = absl::Seconds(2);
    absl::Duration command_timeout = absl::Seconds(10);
  };

  // Connects, shakes hands (TLS), authenticates and selects the database. UNAVAILABLE when
  // the node cannot be reached, UNAUTHENTICATED for refused credentials,
  // FAILED_PRECONDITION for a TLS setup or verification failure (with OpenSSL's reason).
  static absl::StatusOr<std::unique_ptr<NodeConnection>> Connect(const Options& options);
  ~NodeConnection();

  // Writes `bytes` (RESP commands) whole. UNAVAILABLE on an I/O error or timeout; the
  // connection is then broken for good.
  absl::Status Send(absl::string_view bytes);
  // Reads `count` replies into `out` (appended). UNAVAILABLE as Send.
  absl::Status Receive(size_t count, std::vector<RedisReply>* out);
  // Send and Receive of all of `p`'s replies; error replies stay elements.
  absl::StatusOr<std::vector<RedisReply>> Execute(const Pipeline& p);
  // The socket to poll for the next reply, or -1 when one may already be buffered (read from
  // the socket or decrypted) and Receive should be called without waiting.
  int PollFd() const;
  bool broken() const { return broken_; }
  // "host:port", for messages.
  const std::string& address() const { return address_; }

 private:
  class Transport;
  explicit NodeConnection(std::unique_ptr<Transport> transport, std::string address);
  absl::Status Fail(absl::string_view what);
  absl::Status Setup(const Options& options);

  std::unique_ptr<Transport> transport_;
  const std::string address_;
  struct ReaderFree {
    void operator()(void* r) const;
  };
  std::unique_ptr<void, ReaderFree> reader_;  // a hiredis redisReader
  std::string read_buffer_;
  bool broken_ = false;
};

// The options of a connection to the node at `address` ("host:port") of `endpoint`.
NodeConnection::Options NodeOptionsFor(const RedisOptions& options, const RedisEndpoint& endpoint,
                                       const std::string& address);

}  // namespace hookrelay::store::internal
