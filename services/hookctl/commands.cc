#include "services/hookctl/commands.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace hookrelay::hookctl {
namespace {

using google::protobuf::util::TimeUtil;

absl::StatusOr<std::string> Need(const CommandContext& ctx, const std::string& name) {
  auto it = ctx.options.find(name);
  if (it == ctx.options.end() || it->second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  }
  return it->second;
}

std::string Opt(const CommandContext& ctx, const std::string& name, std::string def = "") {
  auto it = ctx.options.find(name);
  return it == ctx.options.end() ? def : it->second;
}

absl::Status FromGrpc(const grpc::Status& st) {
  if (st.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
}

std::unique_ptr<grpc::ClientContext> NewContext(const CommandContext& ctx) {
  auto c = std::make_unique<grpc::ClientContext>();
  if (!ctx.api_key.empty()) c->AddMetadata("authorization", "Bearer " + ctx.api_key);
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return c;
}

void PrintJson(const CommandContext& ctx, const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, o);
  *ctx.out << json;
}

absl::StatusOr<std::string> ReadPayload(const CommandContext& ctx) {
  if (auto it = ctx.options.find("payload"); it != ctx.options.end()) return it->second;
  std::string file = Opt(ctx, "payload-file", "-");
  std::stringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("--payload-file: cannot read ", file));
    ss << in.rdbuf();
  }
  return ss.str();
}

void PrintWebhook(const CommandContext& ctx, const v1::Webhook& h) {
  if (ctx.json) return PrintJson(ctx, h);
  *ctx.out << "id:          " << h.id() << "\n"
           << "tenant:      " << h.tenant() << "\n"
           << "url:         " << h.url() << "\n"
           << "event_types: " << absl::StrJoin(h.event_types(), ", ") << "\n"
           << "enabled:     " << (h.enabled() ? "yes" : "no")
           << (h.disabled_reason().empty() ? "" : " (" + h.disabled_reason() + ")") << "\n"
           << "format:      " << v1::PayloadFormat_Name(h.payload_format()) << "\n"
           << "signing:     " << v1::SigningScheme_Name(h.signing().scheme()) << "\n"
           << "secret:      " << h.signing().secret() << "\n";
}

absl::Status CreateWebhook(CommandContext& ctx) {
  v1::CreateWebhookRequest req;
  v1::Webhook* h = req.mutable_webhook();
  h->set_tenant(Opt(ctx, "tenant"));
  auto url = Need(ctx, "url");
  if (!url.ok()) return url.status();
  h->set_url(*url);
  for (absl::string_view t : absl::StrSplit(Opt(ctx, "event-types", "*"), ',', absl::SkipEmpty())) {
    h->add_event_types(std::string(t));
  }
  h->set_description(Opt(ctx, "description"));
  v1::Webhook resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->CreateWebhook(c.get(), req, &resp)); !st.ok()) return st;
  PrintWebhook(ctx, resp);
  return absl::OkStatus();
}

absl::Status GetWebhook(CommandContext& ctx) {
  v1::GetWebhookRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  auto id = Need(ctx, "id");
  if (!id.ok()) return id.status();
  req.set_id(*id);
  v1::Webhook resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->GetWebhook(c.get(), req, &resp)); !st.ok()) return st;
  PrintWebhook(ctx, resp);
  return absl::OkStatus();
}

absl::Status DeleteWebhook(CommandContext& ctx) {
  v1::DeleteWebhookRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  auto id = Need(ctx, "id");
  if (!id.ok()) return id.status();
  req.set_id(*id);
  v1::DeleteWebhookResponse resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->DeleteWebhook(c.get(), req, &resp)); !st.ok()) {
    return st;
  }
  if (!ctx.json) *ctx.out << "deleted " << *id << "\n";
  return absl::OkStatus();
}

absl::Status Publish(CommandContext& ctx) {
  v1::PublishEventRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  auto type = Need(ctx, "type");
  if (!type.ok()) return type.status();
  req.set_type(*type);
  auto payload = ReadPayload(ctx);
  if (!payload.ok()) return payload.status();
  req.set_payload(*payload);
  req.set_idempotency_key(Opt(ctx, "idempotency-key"));
  for (absl::string_view kv : absl::StrSplit(Opt(ctx, "attributes"), ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    (*req.mutable_attributes())[p.first] = p.second;
  }
  v1::PublishEventResponse resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->PublishEvent(c.get(), req, &resp)); !st.ok()) {
    return st;
  }
  if (ctx.json) {
    PrintJson(ctx, resp);
    return absl::OkStatus();
  }
  *ctx.out << "event:      " << resp.event_id() << (resp.duplicate() ? " (duplicate)" : "")
           << "\ndeliveries: " << resp.delivery_ids_size() << "\n";
  for (const std::string& id : resp.delivery_ids()) *ctx.out << "  " << id << "\n";
  return absl::OkStatus();
}

absl::Status GetDelivery(CommandContext& ctx) {
  v1::GetDeliveryRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  auto id = Need(ctx, "id");
  if (!id.ok()) return id.status();
  req.set_id(*id);
  v1::Delivery d;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->GetDelivery(c.get(), req, &d)); !st.ok()) return st;
  if (ctx.json) {
    PrintJson(ctx, d);
    return absl::OkStatus();
  }
  *ctx.out << d.id() << "  " << v1::DeliveryStatus_Name(d.status()) << "  hook " << d.webhook_id()
           << "  event " << d.event_id() << " (" << d.event_type() << ")\n";
  for (const v1::Attempt& a : d.attempts()) {
    *ctx.out << "  #" << a.number() << "  " << TimeUtil::ToString(a.start_time()) << "  HTTP "
             << a.http_status() << "  " << a.duration_us() / 1000.0 << " ms"
             << (a.error().empty() ? "" : "  " + a.error()) << "\n";
  }
  return absl::OkStatus();
}

// Prints one row per hook.
void PrintWebhookTable(const CommandContext& ctx, const v1::ListWebhooksResponse& r) {
  if (ctx.json) return PrintJson(ctx, r);
  *ctx.out << absl::StrFormat("%-30s %-8s %-24s %s\n", "ID", "ENABLED", "EVENT TYPES", "URL");
  for (const v1::Webhook& h : r.webhooks()) {
    *ctx.out << absl::StrFormat("%-30s %-8s %-24s %s\n", h.id(), h.enabled() ? "yes" : "no",
                                absl::StrJoin(h.event_types(), ","), h.url());
  }
  if (!r.next_page_token().empty())
    *ctx.out << "next page: --page-token " << r.next_page_token() << "\n";
}

absl::Status ListWebhooks(CommandContext& ctx) {
  v1::ListWebhooksRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  int size = 0;
  if (!absl::SimpleAtoi(Opt(ctx, "page-size", "50"), &size)) {
    return absl::InvalidArgumentError("--page-size: want a number");
  }
  req.set_page_size(size);
  req.set_page_token(Opt(ctx, "page-token"));
  req.set_event_type(Opt(ctx, "event-type"));
  if (ctx.options.count("enabled")) req.set_enabled(Opt(ctx, "enabled") == "true");
  v1::ListWebhooksResponse resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->ListWebhooks(c.get(), req, &resp)); !st.ok()) return st;
  PrintWebhookTable(ctx, resp);
  return absl::OkStatus();
}

absl::Status UpdateWebhook(CommandContext& ctx) {
  v1::UpdateWebhookRequest req;
  v1::Webhook* h = req.mutable_webhook();
  h->set_tenant(Opt(ctx, "tenant"));
  auto id = Need(ctx, "id");
  if (!id.ok()) return id.status();
  h->set_id(*id);
  auto* paths = req.mutable_update_mask();
  if (ctx.options.count("url")) h->set_url(Opt(ctx, "url")), paths->add_paths("url");
  if (ctx.options.count("description")) {
    h->set_description(Opt(ctx, "description"));
    paths->add_paths("description");
  }
  if (ctx.options.count("enabled")) {
    h->set_enabled(Opt(ctx, "enabled") == "true");
    paths->add_paths("enabled");
  }
  if (ctx.options.count("event-types")) {
    for (absl::string_view t : absl::StrSplit(Opt(ctx, "event-types"), ',', absl::SkipEmpty())) {
      h->add_event_types(std::string(t));
    }
    paths->add_paths("event_types");
  }
  v1::Webhook resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->UpdateWebhook(c.get(), req, &resp)); !st.ok()) return st;
  PrintWebhook(ctx, resp);
  return absl::OkStatus();
}

absl::Status RotateSecret(CommandContext& ctx) {
  v1::RotateWebhookSecretRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  auto id = Need(ctx, "id");
  if (!id.ok()) return id.status();
  req.set_id(*id);
  int64_t grace = 0;
  if (!absl::SimpleAtoi(Opt(ctx, "grace-seconds", "0"), &grace)) {
    return absl::InvalidArgumentError("--grace-seconds: want a number");
  }
  req.set_grace_period_seconds(grace);
  v1::Webhook resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->RotateWebhookSecret(c.get(), req, &resp)); !st.ok()) {
    return st;
  }
  PrintWebhook(ctx, resp);
  return absl::OkStatus();
}

absl::Status TestWebhook(CommandContext& ctx) {
  v1::TestWebhookRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  auto id = Need(ctx, "id");
  if (!id.ok()) return id.status();
  req.set_id(*id);
  req.set_payload(Opt(ctx, "payload"));
  v1::TestWebhookResponse resp;
  auto c = NewContext(ctx);
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (absl::Status st = FromGrpc(ctx.stub->TestWebhook(c.get(), req, &resp)); !st.ok()) return st;
  if (ctx.json) {
    PrintJson(ctx, resp);
    return absl::OkStatus();
  }
  const v1::Attempt& a = resp.attempt();
  *ctx.out << "delivery: " << resp.delivery_id() << "\nHTTP " << a.http_status() << " in "
           << a.duration_us() / 1000.0 << " ms"
           << (a.error().empty() ? "" : "  error: " + a.error()) << "\n"
           << (a.response_body().empty() ? "" : "response: " + a.response_body() + "\n");
  return absl::OkStatus();
}

absl::Status ListDeliveries(CommandContext& ctx) {
  v1::ListDeliveriesRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_webhook_id(Opt(ctx, "webhook"));
  req.set_event_id(Opt(ctx, "event"));
  req.set_page_token(Opt(ctx, "page-token"));
  if (ctx.options.count("status")) {
    v1::DeliveryStatus status;
    if (!v1::DeliveryStatus_Parse("DELIVERY_STATUS_" + absl::AsciiStrToUpper(Opt(ctx, "status")),
                                  &status)) {
      return absl::InvalidArgumentError(
          "--status: pending, succeeded, retry_scheduled, failed "
          "or cancelled");
    }
    req.set_status(status);
  }
  v1::ListDeliveriesResponse resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->ListDeliveries(c.get(), req, &resp)); !st.ok()) {
    return st;
  }
  if (ctx.json) {
    PrintJson(ctx, resp);
    return absl::OkStatus();
  }
  *ctx.out << absl::StrFormat("%-31s %-32s %-8s %-5s %s\n", "ID", "STATUS", "ATTEMPTS", "HTTP",
                              "EVENT TYPE");
  for (const v1::Delivery& d : resp.deliveries()) {
    *ctx.out << absl::StrFormat("%-31s %-32s %-8d %-5d %s\n", d.id(),
                                v1::DeliveryStatus_Name(d.status()), d.attempt_count(),
                                d.last_http_status(), d.event_type());
  }
  if (!resp.next_page_token().empty()) {
    *ctx.out << "next page: --page-token " << resp.next_page_token() << "\n";
  }
  return absl::OkStatus();
}

absl::Status Redeliver(CommandContext& ctx) {
  v1::RedeliverDeliveryRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  auto id = Need(ctx, "id");
  if (!id.ok()) return id.status();
  req.set_id(*id);
  v1::Delivery resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->RedeliverDelivery(c.get(), req, &resp)); !st.ok()) {
    return st;
  }
  if (ctx.json) return PrintJson(ctx, resp), absl::OkStatus();
  *ctx.out << "re-enqueued " << resp.id() << "\n";
  return absl::OkStatus();
}

absl::Status Recover(CommandContext& ctx) {
  v1::RecoverWebhookRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  auto id = Need(ctx, "id");
  if (!id.ok()) return id.status();
  req.set_id(*id);
  if (ctx.options.count("since")) {
    google::protobuf::Timestamp since;
    if (!TimeUtil::FromString(Opt(ctx, "since"), &since)) {
      return absl::InvalidArgumentError("--since: want RFC 3339, e.g. 2026-01-02T15:04:05Z");
    }
    *req.mutable_since() = since;
  }
  v1::RecoverWebhookResponse resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->RecoverWebhook(c.get(), req, &resp)); !st.ok()) {
    return st;
  }
  if (ctx.json) return PrintJson(ctx, resp), absl::OkStatus();
  *ctx.out << "re-enqueued " << resp.delivery_ids_size() << " failed deliveries\n";
  return absl::OkStatus();
}

absl::Status CreateApiKey(CommandContext& ctx) {
  v1::CreateApiKeyRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  v1::ApiKeyRole role;
  if (!v1::ApiKeyRole_Parse("API_KEY_ROLE_" + absl::AsciiStrToUpper(Opt(ctx, "role", "tenant")),
                            &role)) {
    return absl::InvalidArgumentError("--role: admin, tenant or publisher");
  }
  req.set_role(role);
  req.set_description(Opt(ctx, "description"));
  v1::ApiKey resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->CreateApiKey(c.get(), req, &resp)); !st.ok()) return st;
  if (ctx.json) return PrintJson(ctx, resp), absl::OkStatus();
  *ctx.out << "id:   " << resp.id() << "\nrole: " << v1::ApiKeyRole_Name(resp.role())
           << "\nkey:  " << resp.key() << "   (shown only now)\n";
  return absl::OkStatus();
}

absl::Status ListApiKeys(CommandContext& ctx) {
  v1::ListApiKeysRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  v1::ListApiKeysResponse resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->ListApiKeys(c.get(), req, &resp)); !st.ok()) return st;
  if (ctx.json) return PrintJson(ctx, resp), absl::OkStatus();
  for (const v1::ApiKey& k : resp.keys()) {
    *ctx.out << absl::StrFormat("%-30s %-22s %-20s %s\n", k.id(), v1::ApiKeyRole_Name(k.role()),
                                k.tenant(), k.description());
  }
  return absl::OkStatus();
}

absl::Status RevokeApiKey(CommandContext& ctx) {
  v1::RevokeApiKeyRequest req;
  auto id = Need(ctx, "id");
  if (!id.ok()) return id.status();
  req.set_id(*id);
  v1::RevokeApiKeyResponse resp;
  auto c = NewContext(ctx);
  if (absl::Status st = FromGrpc(ctx.stub->RevokeApiKey(c.get(), req, &resp)); !st.ok()) return st;
  if (!ctx.json) *ctx.out << "revoked " << *id << "\n";
  return absl::OkStatus();
}

struct Command {
  const char* name;
  const char* help;
  std::function<absl::Status(CommandContext&)> run;
};

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"create-webhook", "--tenant T --url U [--event-types a,b.*] [--description D]",
       CreateWebhook},
      {"get-webhook", "--tenant T --id wh_...", GetWebhook},
      {"delete-webhook", "--tenant T --id wh_...", DeleteWebhook},
      {"publish",
       "--tenant T --type X [--payload JSON | --payload-file F|-] [--attributes k=v,...] "
       "[--idempotency-key K]",
       Publish},
      {"get-delivery", "--tenant T --id dlv_...", GetDelivery},
      {"list-webhooks",
       "--tenant T [--enabled true|false] [--event-type X] [--page-size N] [--page-token P]",
       ListWebhooks},
      {"update-webhook",
       "--tenant T --id wh_... [--url U] [--event-types a,b] [--enabled true|false] "
       "[--description D]",
       UpdateWebhook},
      {"rotate-secret", "--tenant T --id wh_... [--grace-seconds N]", RotateSecret},
      {"test-webhook", "--tenant T --id wh_... [--payload JSON]", TestWebhook},
      {"list-deliveries",
       "--tenant T (--webhook wh_... | --event evt_...) [--status failed] [--page-token P]",
       ListDeliveries},
      {"redeliver", "--tenant T --id dlv_...", Redeliver},
      {"recover", "--tenant T --id wh_... [--since 2026-01-02T15:04:05Z]", Recover},
      {"create-api-key", "--role admin|tenant|publisher [--tenant T] [--description D]",
       CreateApiKey},
      {"list-api-keys", "[--tenant T]", ListApiKeys},
      {"revoke-api-key", "--id key_...", RevokeApiKey},
  };
  return *commands;
}

}  // namespace

std::string Usage() {
  std::string out =
      "usage: hookctl [--address host:port] [--json] [--tls] <command> [options]\n"
      "The API key comes from HOOKRELAY_API_KEY (or --api_key).\n\ncommands:\n";
  for (const Command& c : Commands()) absl::StrAppend(&out, "  ", c.name, " ", c.help, "\n");
  return out;
}

absl::Status ParseOptions(const std::vector<std::string>& args,
                          std::map<std::string, std::string>* options) {
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view a = args[i];
    if (!absl::ConsumePrefix(&a, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", a, "\""));
    }
    const size_t eq = a.find('=');
    if (eq != absl::string_view::npos) {
      (*options)[std::string(a.substr(0, eq))] = std::string(a.substr(eq + 1));
    } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
      (*options)[std::string(a)] = args[++i];
    } else {
      (*options)[std::string(a)] = "true";
    }
  }
  return absl::OkStatus();
}

absl::Status RunCommand(const std::string& command, CommandContext& ctx) {
  for (const Command& c : Commands()) {
    if (command == c.name) return c.run(ctx);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command \"", command, "\"\n", Usage()));
}

}  // namespace hookrelay::hookctl
