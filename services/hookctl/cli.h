#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hookrelay::hookctl {

// The options every command takes, before or after the command name.
struct GlobalOptions {
  std::string address = "127.0.0.1:50051";
  std::string api_key;
  bool json = false;
  bool tls = false;
  absl::Duration timeout = absl::Seconds(30);
};

// A parsed command line: run `command` with `options`, or print help (for `command`, or
// the general help when it is empty).
struct Invocation {
  bool help = false;
  std::string command;
  GlobalOptions globals;
  // The command's own options by name ("tenant" for --tenant); flags hold "true".
  std::map<std::string, std::string> options;
};

// Parses argv[1..] strictly: global options anywhere, one command, then only options the
// command knows, each given as --name=value or --name value (flags without a value). Option
// names may use '_' for '-'. `-h`, `--help` and `help [COMMAND]` ask for help. `defaults`
// holds the globals' values from the environment. Errors are usage errors (IsUsageError):
// an unknown command or option, a missing value, a stray argument, a missing required option.
absl::StatusOr<Invocation> ParseArgs(const std::vector<std::string>& args, GlobalOptions defaults);

// The general help (every command with an example) or one command's help (usage, options,
// example); NOT_FOUND for an unknown command.
std::string GeneralHelp();
absl::StatusOr<std::string> CommandHelp(absl::string_view command);

// An INVALID_ARGUMENT marked as a mistake on the command line (exit 2 with a usage hint),
// as opposed to an error the registry answered.
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

}  // namespace hookrelay::hookctl
