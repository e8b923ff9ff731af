#pragma once

#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "hookrelay/v1/registry.grpc.pb.h"

namespace hookrelay::hookctl {

// What every command gets: the stub, the caller's key, parsed options and where to print.
struct CommandContext {
  v1::WebhookRegistry::StubInterface* stub = nullptr;
  std::string api_key;
  bool json = false;
  // --name=value options after the command name (flags of the command itself).
  std::map<std::string, std::string> options;
  std::ostream* out = nullptr;
};

// Runs `command` ("create-webhook", "publish", ...). INVALID_ARGUMENT for an unknown
// command or a missing option; otherwise the RPC's status.
absl::Status RunCommand(const std::string& command, CommandContext& ctx);

// The usage text listing every command and its options.
std::string Usage();

// Splits "--name=value" / "--name value" / "--flag" arguments into options; INVALID_ARGUMENT
// for a stray positional argument.
absl::Status ParseOptions(const std::vector<std::string>& args,
                          std::map<std::string, std::string>* options);

}  // namespace hookrelay::hookctl
