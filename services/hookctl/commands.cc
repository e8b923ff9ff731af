#include "services/hookctl/commands.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "services/hookctl/command_util.h"

namespace hookrelay::hookctl {

const std::vector<OptionSpec>& CommandOptions() {
  static const auto* options = new std::vector<OptionSpec>{
      {"tenant", "T", "the tenant (a tenant key may leave it out: its own)"},
      {"id", "ID", "the object's id (wh_..., evt_..., dlv_... or key_...)"},
      {"url", "URL", "the https URL deliveries are POSTed to (may hold {{data.x}})"},
      {"event-types", "LIST",
       "comma-separated event types: exact, '*', or prefixes like 'review.*'"},
      {"description", "TEXT", "a note for people"},
      {"enabled", "true|false", "enable or disable the hook (enabling clears disabled_reason)"},
      {"event-type", "TYPE", "only hooks that would receive this event type"},
      {"page-size", "N", "items per page (default 50; larger than 200 counts as 200)"},
      {"page-token", "TOKEN", "the next_page_token of the previous page"},
      {"grace-seconds", "N",
       "how long the old secret keeps signing beside the new one (default 86400)"},
      {"new-secret", "SECRET", "use this secret instead of a generated one"},
      {"type", "TYPE", "the event type, e.g. review.created"},
      {"payload", "JSON", "the JSON payload"},
      {"payload-file", "FILE", "read the JSON payload from FILE ('-': standard input)"},
      {"attributes", "k=v,...", "attributes hooks' filters match on"},
      {"idempotency-key", "KEY", "a retry with the same key and request returns the first event"},
      {"occurred-at", "TIME", "when the event happened, RFC 3339 (default: now)"},
      {"webhook", "wh_ID", "the hook whose deliveries to list (newest first)"},
      {"event", "evt_ID", "the event whose deliveries to list"},
      {"status", "STATUS", "pending, succeeded, retry_scheduled, failed or cancelled"},
      {"since", "TIME", "only deliveries created at or after this RFC 3339 time"},
      {"role", "ROLE", "admin, tenant or publisher (default tenant)"},
      {"rate-limit", "N",
       "at most N requests per second to the hook, across all workers (0: no limit)"},
      {"burst", "N", "with --rate-limit: requests that may go at once (default 1)"},
      {"ordering", "MODE",
       "none, per-key (a failed delivery releases its key) or per-key-hold (it holds the "
       "key until redelivered)"},
      {"ordering-key", "KEY", "ordered hooks get the events of one key one at a time, in order"},
  };
  return *options;
}

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {"create-webhook",
       "Create a webhook; shows its signing secret, only this once",
       {"url"},
       {"tenant", "event-types", "description", "rate-limit", "burst", "ordering"},
       "hookctl create-webhook --tenant acme --url https://example.com/hooks --event-types "
       "'review.*'",
       CreateWebhook},
      {"get-webhook",
       "Show a webhook (secrets masked)",
       {"id"},
       {"tenant"},
       "hookctl get-webhook --tenant acme --id wh_01JEX4MP1E0000000000000000",
       GetWebhook},
      {"list-webhooks",
       "List webhooks, oldest first",
       {},
       {"tenant", "enabled", "event-type", "page-size", "page-token"},
       "hookctl list-webhooks --tenant acme --enabled false",
       ListWebhooks},
      {"update-webhook",
       "Change a webhook's URL, event types, description, enabled flag, rate limit or ordering",
       {"id"},
       {"tenant", "url", "event-types", "description", "enabled", "rate-limit", "burst",
        "ordering"},
       "hookctl update-webhook --tenant acme --id wh_01JEX4MP1E0000000000000000 --enabled true",
       UpdateWebhook},
      {"delete-webhook",
       "Delete a webhook; its queued deliveries end cancelled",
       {"id"},
       {"tenant"},
       "hookctl delete-webhook --tenant acme --id wh_01JEX4MP1E0000000000000000",
       DeleteWebhook},
      {"rotate-secret",
       "Give a webhook a new signing secret; the old one signs beside it a while",
       {"id"},
       {"tenant", "grace-seconds", "new-secret"},
       "hookctl rotate-secret --tenant acme --id wh_01JEX4MP1E0000000000000000 --grace-seconds "
       "3600",
       RotateSecret},
      {"test-webhook",
       "Send a webhook.test ping to one webhook and show the attempt",
       {"id"},
       {"tenant", "payload", "payload-file"},
       "hookctl test-webhook --tenant acme --id wh_01JEX4MP1E0000000000000000",
       TestWebhook},
      {"publish",
       "Publish an event to every webhook it matches",
       {"type"},
       {"tenant", "payload", "payload-file", "attributes", "idempotency-key", "occurred-at",
        "ordering-key"},
       "echo '{\"review\":{\"id\":42}}' | hookctl publish --tenant acme --type review.created "
       "--payload-file -",
       Publish},
      {"get-event",
       "Show a published event",
       {"id"},
       {"tenant"},
       "hookctl get-event --tenant acme --id evt_01JEX4MP1E0000000000000000",
       GetEvent},
      {"list-deliveries",
       "List the deliveries of a webhook (newest first) or of an event",
       {},
       {"tenant", "webhook", "event", "status", "page-size", "page-token"},
       "hookctl list-deliveries --tenant acme --webhook wh_01JEX4MP1E0000000000000000 --status "
       "failed",
       ListDeliveries},
      {"get-delivery",
       "Show a delivery and every attempt",
       {"id"},
       {"tenant"},
       "hookctl get-delivery --tenant acme --id dlv_01JEX4MP1E0000000000000000",
       GetDelivery},
      {"redeliver",
       "Send a delivery again (same id, next attempt)",
       {"id"},
       {"tenant"},
       "hookctl redeliver --tenant acme --id dlv_01JEX4MP1E0000000000000000",
       Redeliver},
      {"recover",
       "Send a webhook's failed deliveries again",
       {"id"},
       {"tenant", "since"},
       "hookctl recover --tenant acme --id wh_01JEX4MP1E0000000000000000 --since "
       "2026-01-02T00:00:00Z",
       Recover},
      {"create-api-key",
       "Create an API key (admin); shows the key, only this once",
       {},
       {"role", "tenant", "description"},
       "hookctl create-api-key --role publisher --tenant acme --description 'checkout service'",
       CreateApiKey},
      {"list-api-keys",
       "List API keys (admin)",
       {},
       {"tenant", "page-size", "page-token"},
       "hookctl list-api-keys --tenant acme",
       ListApiKeys},
      {"revoke-api-key",
       "Revoke an API key (admin)",
       {"id"},
       {},
       "hookctl revoke-api-key --id key_01JEX4MP1E0000000000000000",
       RevokeApiKey},
  };
  return *commands;
}

const CommandSpec* FindCommand(absl::string_view name) {
  const std::vector<CommandSpec>& all = Commands();
  auto it =
      std::find_if(all.begin(), all.end(), [&](const CommandSpec& c) { return name == c.name; });
  return it == all.end() ? nullptr : &*it;
}

absl::Status RunCommand(const std::string& command, CommandContext& ctx) {
  const CommandSpec* c = FindCommand(command);
  if (c == nullptr) return UsageError(absl::StrCat("unknown command \"", command, "\""));
  return c->run(ctx);
}

std::string Opt(const CommandContext& ctx, absl::string_view name, absl::string_view def) {
  auto it = ctx.options.find(std::string(name));
  return it == ctx.options.end() ? std::string(def) : it->second;
}

bool Has(const CommandContext& ctx, absl::string_view name) {
  return ctx.options.count(std::string(name)) > 0;
}

absl::StatusOr<int64_t> IntOpt(const CommandContext& ctx, absl::string_view name, int64_t def) {
  if (!Has(ctx, name)) return def;
  int64_t v = 0;
  if (!absl::SimpleAtoi(Opt(ctx, name), &v)) {
    return UsageError(
        absl::StrCat("--", name, ": want a whole number, not \"", Opt(ctx, name), "\""));
  }
  return v;
}

absl::StatusOr<bool> BoolOpt(const CommandContext& ctx, absl::string_view name) {
  const std::string v = Opt(ctx, name);
  if (v == "true" || v == "false") return v == "true";
  return UsageError(absl::StrCat("--", name, ": want true or false, not \"", v, "\""));
}

absl::StatusOr<google::protobuf::Timestamp> TimeOpt(const CommandContext& ctx,
                                                    absl::string_view name) {
  google::protobuf::Timestamp ts;
  if (!google::protobuf::util::TimeUtil::FromString(Opt(ctx, name), &ts)) {
    return UsageError(
        absl::StrCat("--", name, ": want an RFC 3339 time like 2026-01-02T15:04:05Z"));
  }
  return ts;
}

std::vector<std::string> ListOpt(const CommandContext& ctx, absl::string_view name) {
  return absl::StrSplit(Opt(ctx, name), ',', absl::SkipEmpty());
}

absl::Status MapOpt(const CommandContext& ctx, absl::string_view name,
                    google::protobuf::Map<std::string, std::string>* out) {
  for (absl::string_view kv : absl::StrSplit(Opt(ctx, name), ',', absl::SkipEmpty())) {
    const size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) {
      return UsageError(absl::StrCat("--", name, ": want k=v,... (\"", kv, "\" has no '=')"));
    }
    (*out)[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPayload(const CommandContext& ctx) {
  if (Has(ctx, "payload") && Has(ctx, "payload-file")) {
    return UsageError("--payload, --payload-file: give one, not both");
  }
  if (!Has(ctx, "payload-file")) return Opt(ctx, "payload");
  const std::string file = Opt(ctx, "payload-file");
  std::stringstream ss;
  if (file == "-") {
    ss << (ctx.in != nullptr ? ctx.in->rdbuf() : std::cin.rdbuf());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return UsageError(absl::StrCat("--payload-file: cannot read ", file));
    ss << in.rdbuf();
  }
  return ss.str();
}

absl::Status RpcError(const CommandContext& ctx, absl::string_view rpc, const grpc::Status& st) {
  std::string hint;
  if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
    hint = absl::StrCat(" (is the registry running at ", ctx.globals.address,
                        "? --address or HOOKRELAY_ADDRESS name it)");
  } else if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    hint = " (set HOOKRELAY_API_KEY or --api-key)";
  }
  const auto code = static_cast<absl::StatusCode>(st.error_code());
  return absl::Status(code, absl::StrCat(rpc, ": ", absl::StatusCodeToString(code), ": ",
                                         st.error_message(), hint));
}

}  // namespace hookrelay::hookctl
