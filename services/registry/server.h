#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hookrelay::registry {

struct ServerOptions {
  std::string grpc_address = "0.0.0.0:50051";
  std::string tls_cert_file;  // both set: TLS; both empty: plaintext
  std::string tls_key_file;
  absl::Status Validate() const;
};

// What grpc.health.v1 reports: SERVING for "" (the whole server) and `service_name` while
// `ready` returns OK, NOT_SERVING while it fails (e.g. Redis is unreachable: load balancers
// and readiness probes then stop sending calls that would fail). `ready` runs at start and
// then every `interval`; a change is logged. Without `ready`, always SERVING.
struct HealthOptions {
  std::string service_name;
  std::function<absl::Status()> ready;
  absl::Duration interval = absl::Seconds(1);
};

// The gRPC server hosting one service plus grpc.health.v1 and server reflection.
class GrpcServer {
 public:
  // UNAVAILABLE if the address cannot be bound; INVALID_ARGUMENT for unreadable TLS files.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(const ServerOptions& options,
                                                           grpc::Service* service,
                                                           HealthOptions health = {});
  ~GrpcServer();
  int port() const { return port_; }
  // Stops accepting, lets RPCs in progress finish until `deadline`, then cancels them.
  void Shutdown(absl::Duration deadline);

 private:
  void KeepAwake();
  // Runs health_.ready every health_.interval and reports the result (see HealthOptions).
  void WatchHealth();
  void ReportHealth(bool serving);
  void StopThreads();

  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  // See KeepAwake() in server.cc.
  std::unique_ptr<grpc::GenericStub> self_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread awake_;
  HealthOptions health_;
  bool serving_ = true;  // what was reported last; used by the health thread only
  std::thread health_thread_;
};

}  // namespace hookrelay::registry
