// hookctl: the command-line client of webhook-registry. See `hookctl --help`.
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "libs/core/flags.h"
#include "services/hookctl/commands.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051", "Registry gRPC address");
ABSL_FLAG(std::string, api_key, "", "API key (normally from HOOKRELAY_API_KEY)");
ABSL_FLAG(bool, json, false, "Print JSON for scripts instead of text");
ABSL_FLAG(bool, tls, false, "Use TLS (system roots) to reach the registry");

int main(int argc, char** argv) {
  // Global flags come before the command; the command's own options follow it.
  int split = 1;
  while (split < argc && std::string(argv[split]).rfind("--", 0) == 0) ++split;
  std::vector<std::string> positional;
  absl::Status st = hookrelay::core::ParseFlagsWithEnvironment(
      split, argv, hookrelay::hookctl::Usage().c_str(), &positional);
  if (!st.ok() || split >= argc) {
    std::cerr << (st.ok() ? hookrelay::hookctl::Usage() : std::string(st.message())) << "\n";
    return 2;
  }
  hookrelay::hookctl::CommandContext ctx;
  st = hookrelay::hookctl::ParseOptions({argv + split + 1, argv + argc}, &ctx.options);
  if (!st.ok()) {
    std::cerr << "hookctl: " << st.message() << "\n";
    return 2;
  }
  auto creds =
      absl::GetFlag(FLAGS_tls) ? grpc::SslCredentials({}) : grpc::InsecureChannelCredentials();
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_address), creds);
  auto stub = hookrelay::v1::WebhookRegistry::NewStub(channel);
  ctx.stub = stub.get();
  ctx.api_key = absl::GetFlag(FLAGS_api_key);
  ctx.json = absl::GetFlag(FLAGS_json);
  ctx.out = &std::cout;
  st = hookrelay::hookctl::RunCommand(argv[split], ctx);
  if (!st.ok()) {
    std::cerr << "hookctl: " << absl::StatusCodeToString(st.code()) << ": " << st.message() << "\n";
    return st.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
