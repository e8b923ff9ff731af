#include "services/hookctl/cli.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "services/hookctl/commands.h"

namespace hookrelay::hookctl {
namespace {

constexpr absl::string_view kUsagePayload = "hookrelay.hookctl/usage";

const std::vector<OptionSpec>& GlobalSpecs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {"address", "HOST:PORT",
       "registry gRPC address (default 127.0.0.1:50051, or HOOKRELAY_ADDRESS)"},
      {"api-key", "KEY", "API key (default: HOOKRELAY_API_KEY)"},
      {"json", "", "print the response as JSON (protobuf field names) for scripts"},
      {"tls", "", "reach the registry over TLS, verified with the system's root CAs"},
      {"timeout", "DURATION", "deadline of the call, e.g. 10s (default 30s)"},
      {"help", "", "this help; `hookctl help COMMAND` for one command"},
  };
  return *specs;
}

const OptionSpec* FindOption(const std::vector<OptionSpec>& specs, absl::string_view name) {
  auto it =
      std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& o) { return name == o.name; });
  return it == specs.end() ? nullptr : &*it;
}

bool Accepts(const CommandSpec& c, absl::string_view name) {
  auto is = [&](const char* n) { return name == n; };
  return std::any_of(c.required.begin(), c.required.end(), is) ||
         std::any_of(c.optional.begin(), c.optional.end(), is);
}

std::string Hint(absl::string_view command) {
  return command.empty() ? "Run 'hookctl help' for the commands and their options."
                         : absl::StrCat("Run 'hookctl help ", command, "' for its options.");
}

absl::StatusOr<bool> ParseBool(absl::string_view name, absl::string_view v) {
  if (v == "true") return true;
  if (v == "false") return false;
  return UsageError(absl::StrCat("--", name, ": want true or false, not \"", v, "\""));
}

absl::Status SetGlobal(absl::string_view name, const std::string& value, GlobalOptions* g) {
  if (name == "address") {
    g->address = value;
  } else if (name == "api-key") {
    g->api_key = value;
  } else if (name == "json" || name == "tls") {
    absl::StatusOr<bool> b = ParseBool(name, value);
    if (!b.ok()) return b.status();
    (name == "json" ? g->json : g->tls) = *b;
  } else if (name == "timeout") {
    if (!absl::ParseDuration(value, &g->timeout) || g->timeout <= absl::ZeroDuration()) {
      return UsageError(
          absl::StrCat("--timeout: want a positive duration like 10s, not \"", value, "\""));
    }
  }
  return absl::OkStatus();
}

// One "--name[=value]" at args[*i] (advancing *i past a separate value) into `inv`; command
// options are checked against the command later, when it is known.
absl::Status TakeOption(const std::vector<std::string>& args, size_t* i, Invocation* inv) {
  absl::string_view arg = args[*i];
  if (arg == "-h") arg = "--help";
  absl::ConsumePrefix(&arg, "--");
  const size_t eq = arg.find('=');
  const std::string name = absl::StrReplaceAll(arg.substr(0, eq), {{"_", "-"}});
  const OptionSpec* global = FindOption(GlobalSpecs(), name);
  const OptionSpec* spec = global != nullptr ? global : FindOption(CommandOptions(), name);
  if (spec == nullptr) return UsageError(absl::StrCat("unknown option --", name));
  std::string value;
  if (eq != absl::string_view::npos) {
    value = std::string(arg.substr(eq + 1));
  } else if (spec->value[0] == '\0') {
    value = "true";
  } else if (*i + 1 >= args.size() || absl::StartsWith(args[*i + 1], "--")) {
    return UsageError(absl::StrCat("--", name, ": missing value ", spec->value, " (write --", name,
                                   "=VALUE for a value that starts with --)"));
  } else {
    value = args[++*i];
  }
  if (name == "help") {
    absl::StatusOr<bool> b = ParseBool(name, value);
    if (!b.ok()) return b.status();
    inv->help = inv->help || *b;
  } else if (global != nullptr) {
    return SetGlobal(name, value, &inv->globals);
  } else {
    inv->options[name] = value;
  }
  return absl::OkStatus();
}

// Checks the options against the command: each known to it, the required ones present.
absl::Status CheckOptions(const Invocation& inv) {
  const CommandSpec* c = FindCommand(inv.command);
  if (c == nullptr) return UsageError(absl::StrCat("unknown command \"", inv.command, "\""));
  for (const auto& [name, value] : inv.options) {
    if (!Accepts(*c, name)) {
      return UsageError(absl::StrCat("unknown option --", name, " for ", c->name));
    }
  }
  if (inv.help) return absl::OkStatus();
  for (const char* name : c->required) {
    if (!inv.options.count(name)) {
      return UsageError(absl::StrCat(c->name, ": --", name, " is required"));
    }
  }
  return absl::OkStatus();
}

std::string OptionLine(const OptionSpec& o) {
  const std::string left = absl::StrCat("--", o.name, o.value[0] == '\0' ? "" : " ", o.value);
  return absl::StrFormat("  %-26s %s\n", left, o.help);
}

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status st = absl::InvalidArgumentError(message);
  st.SetPayload(kUsagePayload, absl::Cord("1"));
  return st;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

absl::StatusOr<Invocation> ParseArgs(const std::vector<std::string>& args, GlobalOptions defaults) {
  Invocation inv;
  inv.globals = std::move(defaults);
  bool help_command = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    absl::Status st;
    if (absl::StartsWith(a, "--") || a == "-h") {
      st = TakeOption(args, &i, &inv);
    } else if (inv.command.empty() && !help_command && a == "help") {
      help_command = inv.help = true;
    } else if (inv.command.empty()) {
      inv.command = a;
    } else {
      st = UsageError(absl::StrCat("unexpected argument \"", a, "\"",
                                   absl::StartsWith(a, "-") ? " (options start with --)" : ""));
    }
    if (!st.ok()) {
      return UsageError(absl::StrCat(st.message(), "\n", Hint(inv.command)));
    }
  }
  if (inv.command.empty()) {
    if (inv.help) return inv;
    return UsageError(absl::StrCat("no command given\n", Hint("")));
  }
  if (absl::Status st = CheckOptions(inv); !st.ok()) {
    const bool known = FindCommand(inv.command) != nullptr;
    return UsageError(absl::StrCat(st.message(), "\n", Hint(known ? inv.command : "")));
  }
  return inv;
}

std::string GeneralHelp() {
  std::string out =
      "usage: hookctl [global options] COMMAND [options]\n\n"
      "hookctl is the command-line client of webhook-registry. Options go before or after\n"
      "the command, as --name VALUE or --name=VALUE.\n\nGlobal options:\n";
  for (const OptionSpec& o : GlobalSpecs()) absl::StrAppend(&out, OptionLine(o));
  absl::StrAppend(&out, "\nCommands:\n");
  for (const CommandSpec& c : Commands()) {
    absl::StrAppend(&out, absl::StrFormat("  %-16s %s\n", c.name, c.summary), "      e.g. ",
                    c.example, "\n");
  }
  absl::StrAppend(&out,
                  "\nExit status: 0 on success, 1 when the registry refused or failed the call, "
                  "2 for a mistake on the command line.\n");
  return out;
}

absl::StatusOr<std::string> CommandHelp(absl::string_view command) {
  const CommandSpec* c = FindCommand(command);
  if (c == nullptr) return absl::NotFoundError(absl::StrCat("unknown command \"", command, "\""));
  std::string usage = absl::StrCat("usage: hookctl ", c->name);
  auto spec = [](const char* name) {  // every name a command lists is in CommandOptions()
    const OptionSpec* o = FindOption(CommandOptions(), name);
    return o != nullptr ? *o : OptionSpec{name, "VALUE", ""};
  };
  for (const char* name : c->required) absl::StrAppend(&usage, " --", name, " ", spec(name).value);
  if (!c->optional.empty()) absl::StrAppend(&usage, " [options]");
  std::string out = absl::StrCat(usage, "\n\n", c->summary, ".\n\nOptions:\n");
  for (const auto* names : {&c->required, &c->optional}) {
    for (const char* name : *names) absl::StrAppend(&out, OptionLine(spec(name)));
  }
  absl::StrAppend(&out, "\nExample:\n  ", c->example,
                  "\n\nGlobal options (--address, --api-key, --json, --tls, --timeout) work "
                  "here too; see 'hookctl help'.\n");
  return out;
}

}  // namespace hookrelay::hookctl
