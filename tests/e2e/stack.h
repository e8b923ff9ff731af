#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hookrelay/v1/registry.grpc.pb.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace hookrelay::testing {

// The real services as processes for end-to-end tests: one webhook-registry and any number
// of delivery-workers against a RedisServer, each on ports it picked itself (port 0; the
// ports are read from their "listening" log lines).
class Stack {
 public:
  struct Options {
    std::string admin_key = "e2e-admin-key-0123456789";
    std::vector<std::string> registry_args;
    std::vector<std::string> worker_args = {"--allow_cidrs=127.0.0.0/8", "--allow_http"};
    // HOOKRELAY_REDIS_URL of both services; empty: the RedisServer's url().
    std::string redis_url;
    // Arguments both services get (e.g. --redis_ca_file=...).
    std::vector<std::string> redis_args;
  };

  static absl::StatusOr<std::unique_ptr<Stack>> Start(const RedisServer& redis, Options options);
  static absl::StatusOr<std::unique_ptr<Stack>> Start(const RedisServer& redis) {
    return Start(redis, Options());
  }

  // Starts one more worker; returns its index.
  absl::StatusOr<size_t> StartWorker();
  Process& registry() { return *registry_; }
  Process& worker(size_t i) { return *workers_[i]; }
  int grpc_port() const { return grpc_port_; }
  // Metrics port of the registry / of worker i.
  int registry_metrics_port() const { return registry_metrics_port_; }
  int worker_metrics_port(size_t i) const { return worker_metrics_ports_[i]; }

  v1::WebhookRegistry::Stub& stub() { return *stub_; }
  // A client context carrying the admin key and a 10 s deadline.
  std::unique_ptr<grpc::ClientContext> Context() const;

 private:
  Stack(const RedisServer& redis, Options options) : redis_(redis), options_(std::move(options)) {}

  std::string RedisUrl() const {
    return options_.redis_url.empty() ? redis_.url() : options_.redis_url;
  }

  const RedisServer& redis_;
  const Options options_;
  std::unique_ptr<Process> registry_;
  std::vector<std::unique_ptr<Process>> workers_;
  int grpc_port_ = 0;
  int registry_metrics_port_ = 0;
  std::vector<int> worker_metrics_ports_;
  std::unique_ptr<v1::WebhookRegistry::Stub> stub_;
};

// The integer after `"<key>":` in a process's JSON log output, or NOT_FOUND within `timeout`.
absl::StatusOr<int> WaitForLoggedPort(const Process& p, const std::string& key,
                                      absl::Duration timeout);

}  // namespace hookrelay::testing
