#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace prometheus {
class Registry;
}
namespace httplib {
class Server;
}

namespace hookrelay::telemetry {

// The operator endpoints of a service on one HTTP port:
//   GET /metrics  Prometheus text format of `registry`
//   GET /healthz  200 while the process runs (liveness)
//   GET /readyz   200 when `ready()` returns OK, else 503 with the reason (readiness)
// Serves on its own thread. Thread-safe.
class AdminServer {
 public:
  using ReadyCheck = std::function<absl::Status()>;

  // `address` is "host:port" (port 0 picks a free one). Returns UNAVAILABLE if the address
  // cannot be bound, INVALID_ARGUMENT if it does not parse.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const std::string& address, std::shared_ptr<prometheus::Registry> registry, ReadyCheck ready);
  ~AdminServer();

  int port() const { return port_; }
  void Stop();

 private:
  AdminServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Splits "host:port" / "[v6]:port". INVALID_ARGUMENT naming `field` on failure.
absl::Status SplitHostPort(const std::string& address, const std::string& field, std::string* host,
                           int* port);

}  // namespace hookrelay::telemetry
