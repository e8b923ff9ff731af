#include "tests/e2e/stack.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {

absl::StatusOr<int> WaitForLoggedPort(const Process& p, const std::string& key,
                                      absl::Duration timeout) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  int port = 0;
  const bool found = WaitFor(
      [&] {
        const std::string out = p.Output();
        const size_t at = out.find(needle);
        if (at == std::string::npos) return false;
        const size_t start = at + needle.size();
        const size_t end = out.find_first_not_of("0123456789", start);
        return absl::SimpleAtoi(out.substr(start, end - start), &port);
      },
      timeout);
  if (!found) {
    return absl::NotFoundError(absl::StrCat("no ", key, " logged; output:\n", p.Output()));
  }
  return port;
}

absl::StatusOr<std::unique_ptr<Stack>> Stack::Start(const RedisServer& redis, Options options) {
  std::unique_ptr<Stack> s(new Stack(redis, std::move(options)));
  Process::Options reg{
      .binary = BinaryPath("services/registry/webhook-registry"),
      .args = {"--grpc_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0", "--allow_http"},
      .env = {{"HOOKRELAY_REDIS_URL", s->RedisUrl()},
              {"HOOKRELAY_ADMIN_API_KEY", s->options_.admin_key}}};
  reg.args.insert(reg.args.end(), s->options_.redis_args.begin(), s->options_.redis_args.end());
  reg.args.insert(reg.args.end(), s->options_.registry_args.begin(),
                  s->options_.registry_args.end());
  auto registry = Process::Start(reg);
  if (!registry.ok()) return registry.status();
  s->registry_ = *std::move(registry);
  auto grpc_port = WaitForLoggedPort(*s->registry_, "grpc_port", absl::Seconds(20));
  if (!grpc_port.ok()) return grpc_port.status();
  s->grpc_port_ = *grpc_port;
  s->registry_metrics_port_ = *WaitForLoggedPort(*s->registry_, "metrics_port", absl::Seconds(1));
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", s->grpc_port_),
                                     grpc::InsecureChannelCredentials());
  s->stub_ = v1::WebhookRegistry::NewStub(channel);
  auto first = s->StartWorker();
  if (!first.ok()) return first.status();
  return s;
}

absl::StatusOr<size_t> Stack::StartWorker() {
  Process::Options w{.binary = BinaryPath("services/worker/delivery-worker"),
                     .args = {"--metrics_address=127.0.0.1:0"},
                     .env = {{"HOOKRELAY_REDIS_URL", RedisUrl()}}};
  w.args.insert(w.args.end(), options_.redis_args.begin(), options_.redis_args.end());
  w.args.insert(w.args.end(), options_.worker_args.begin(), options_.worker_args.end());
  auto worker = Process::Start(w);
  if (!worker.ok()) return worker.status();
  auto port = WaitForLoggedPort(**worker, "metrics_port", absl::Seconds(20));
  if (!port.ok()) return port.status();
  workers_.push_back(*std::move(worker));
  worker_metrics_ports_.push_back(*port);
  return workers_.size() - 1;
}

std::unique_ptr<grpc::ClientContext> Stack::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", options_.admin_key));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

}  // namespace hookrelay::testing
