// hookctl: the command-line client of webhook-registry. See `hookctl help`.
// HOOKRELAY_ADDRESS and HOOKRELAY_API_KEY give --address and --api-key their defaults.
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <iostream>

#include "services/hookctl/cli.h"
#include "services/hookctl/commands.h"

namespace hr = hookrelay;

int main(int argc, char** argv) {
  hr::hookctl::GlobalOptions defaults;
  if (const char* address = std::getenv("HOOKRELAY_ADDRESS"); address != nullptr && *address) {
    defaults.address = address;
  }
  if (const char* key = std::getenv("HOOKRELAY_API_KEY"); key != nullptr) defaults.api_key = key;
  auto inv = hr::hookctl::ParseArgs({argv + 1, argv + argc}, defaults);
  if (!inv.ok()) {
    std::cerr << "hookctl: " << inv.status().message() << "\n";
    return 2;
  }
  if (inv->help) {
    auto help =
        inv->command.empty() ? hr::hookctl::GeneralHelp() : hr::hookctl::CommandHelp(inv->command);
    std::cout << help.value_or("");
    return 0;
  }
  hr::hookctl::CommandContext ctx;
  ctx.globals = inv->globals;
  ctx.options = std::move(inv->options);
  ctx.out = &std::cout;
  ctx.in = &std::cin;
  auto creds = ctx.globals.tls ? grpc::SslCredentials({}) : grpc::InsecureChannelCredentials();
  auto stub = hr::v1::WebhookRegistry::NewStub(grpc::CreateChannel(ctx.globals.address, creds));
  ctx.stub = stub.get();
  const absl::Status st = hr::hookctl::RunCommand(inv->command, ctx);
  if (!st.ok()) {
    std::cerr << "hookctl: " << st.message() << "\n";
    if (hr::hookctl::IsUsageError(st)) {
      std::cerr << "Run 'hookctl help " << inv->command << "' for its options.\n";
      return 2;
    }
    return 1;
  }
  return 0;
}
