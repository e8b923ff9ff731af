#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "hookrelay/v1/registry.grpc.pb.h"
#include "services/hookctl/cli.h"

namespace hookrelay::hookctl {

// What every command gets: the stub, the global options, its own options and its streams.
struct CommandContext {
  v1::WebhookRegistry::StubInterface* stub = nullptr;
  GlobalOptions globals;
  // The command's options by name, as ParseArgs left them.
  std::map<std::string, std::string> options;
  std::ostream* out = nullptr;
  std::istream* in = nullptr;  // read by --payload-file -
};

// One command: its options (by name, see OptionSpecs), a one-line summary and an example.
struct CommandSpec {
  const char* name;
  const char* summary;
  std::vector<const char*> required;
  std::vector<const char*> optional;
  const char* example;
  absl::Status (*run)(CommandContext&);
};

// An option any command may take; `value` names its value ("" for a flag).
struct OptionSpec {
  const char* name;
  const char* value;
  const char* help;
};

// Every command, in the order `hookctl help` lists them.
const std::vector<CommandSpec>& Commands();
const CommandSpec* FindCommand(absl::string_view name);
// Every command option (global options are in cli.cc).
const std::vector<OptionSpec>& CommandOptions();

// Runs `ctx`'s command. Usage errors (IsUsageError) for bad option values; otherwise the
// RPC's status, its message prefixed with the RPC's name.
absl::Status RunCommand(const std::string& command, CommandContext& ctx);

// Command groups, defined in commands_*.cc.
absl::Status CreateWebhook(CommandContext& ctx);
absl::Status GetWebhook(CommandContext& ctx);
absl::Status ListWebhooks(CommandContext& ctx);
absl::Status UpdateWebhook(CommandContext& ctx);
absl::Status DeleteWebhook(CommandContext& ctx);
absl::Status RotateSecret(CommandContext& ctx);
absl::Status TestWebhook(CommandContext& ctx);
absl::Status Publish(CommandContext& ctx);
absl::Status GetEvent(CommandContext& ctx);
absl::Status ListDeliveries(CommandContext& ctx);
absl::Status GetDelivery(CommandContext& ctx);
absl::Status Redeliver(CommandContext& ctx);
absl::Status Recover(CommandContext& ctx);
absl::Status CreateApiKey(CommandContext& ctx);
absl::Status ListApiKeys(CommandContext& ctx);
absl::Status RevokeApiKey(CommandContext& ctx);

}  // namespace hookrelay::hookctl
