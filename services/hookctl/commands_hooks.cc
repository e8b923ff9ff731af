// hookctl: the webhook commands.
#include "services/hookctl/command_util.h"
#include "services/hookctl/commands.h"
#include "services/hookctl/output.h"

namespace hookrelay::hookctl {
namespace {

using Stub = v1::WebhookRegistry::StubInterface;

// TestWebhook waits for a worker's attempt: up to the hook's timeout (at most 30 s) and more.
constexpr absl::Duration kTestTimeout = absl::Seconds(60);

void Show(const CommandContext& ctx, const v1::Webhook& h) {
  if (ctx.globals.json) return PrintJson(*ctx.out, h);
  PrintWebhook(*ctx.out, h);
}

}  // namespace

absl::Status CreateWebhook(CommandContext& ctx) {
  v1::CreateWebhookRequest req;
  v1::Webhook* h = req.mutable_webhook();
  h->set_tenant(Opt(ctx, "tenant"));
  h->set_url(Opt(ctx, "url"));
  for (std::string& t : ListOpt(ctx, "event-types")) h->add_event_types(std::move(t));
  if (h->event_types().empty()) h->add_event_types("*");
  h->set_description(Opt(ctx, "description"));
  v1::Webhook resp;
  if (absl::Status st = Call(ctx, "CreateWebhook", &Stub::CreateWebhook, req, &resp); !st.ok()) {
    return st;
  }
  Show(ctx, resp);
  if (!ctx.globals.json) *ctx.out << "(the secret is shown only now: keep it)\n";
  return absl::OkStatus();
}

absl::Status GetWebhook(CommandContext& ctx) {
  v1::GetWebhookRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_id(Opt(ctx, "id"));
  v1::Webhook resp;
  if (absl::Status st = Call(ctx, "GetWebhook", &Stub::GetWebhook, req, &resp); !st.ok()) {
    return st;
  }
  Show(ctx, resp);
  return absl::OkStatus();
}

absl::Status ListWebhooks(CommandContext& ctx) {
  v1::ListWebhooksRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  absl::StatusOr<int64_t> size = IntOpt(ctx, "page-size", 0);
  if (!size.ok()) return size.status();
  req.set_page_size(static_cast<int32_t>(*size));
  req.set_page_token(Opt(ctx, "page-token"));
  req.set_event_type(Opt(ctx, "event-type"));
  if (Has(ctx, "enabled")) {
    absl::StatusOr<bool> enabled = BoolOpt(ctx, "enabled");
    if (!enabled.ok()) return enabled.status();
    req.set_enabled(*enabled);
  }
  v1::ListWebhooksResponse resp;
  if (absl::Status st = Call(ctx, "ListWebhooks", &Stub::ListWebhooks, req, &resp); !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  PrintWebhookTable(*ctx.out, resp);
  return absl::OkStatus();
}

absl::Status UpdateWebhook(CommandContext& ctx) {
  v1::UpdateWebhookRequest req;
  v1::Webhook* h = req.mutable_webhook();
  h->set_tenant(Opt(ctx, "tenant"));
  h->set_id(Opt(ctx, "id"));
  auto* mask = req.mutable_update_mask();
  if (Has(ctx, "url")) h->set_url(Opt(ctx, "url")), mask->add_paths("url");
  if (Has(ctx, "description")) {
    h->set_description(Opt(ctx, "description"));
    mask->add_paths("description");
  }
  if (Has(ctx, "enabled")) {
    absl::StatusOr<bool> enabled = BoolOpt(ctx, "enabled");
    if (!enabled.ok()) return enabled.status();
    h->set_enabled(*enabled);
    mask->add_paths("enabled");
  }
  if (Has(ctx, "event-types")) {
    for (std::string& t : ListOpt(ctx, "event-types")) h->add_event_types(std::move(t));
    mask->add_paths("event_types");
  }
  if (mask->paths().empty()) {
    return UsageError(
        "update-webhook: give at least one of --url, --event-types, --description, "
        "--enabled");
  }
  v1::Webhook resp;
  if (absl::Status st = Call(ctx, "UpdateWebhook", &Stub::UpdateWebhook, req, &resp); !st.ok()) {
    return st;
  }
  Show(ctx, resp);
  return absl::OkStatus();
}

absl::Status DeleteWebhook(CommandContext& ctx) {
  v1::DeleteWebhookRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_id(Opt(ctx, "id"));
  v1::DeleteWebhookResponse resp;
  if (absl::Status st = Call(ctx, "DeleteWebhook", &Stub::DeleteWebhook, req, &resp); !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  *ctx.out << "deleted " << req.id() << "\n";
  return absl::OkStatus();
}

absl::Status RotateSecret(CommandContext& ctx) {
  v1::RotateWebhookSecretRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_id(Opt(ctx, "id"));
  absl::StatusOr<int64_t> grace = IntOpt(ctx, "grace-seconds", 0);
  if (!grace.ok()) return grace.status();
  req.set_grace_period_seconds(*grace);
  req.set_new_secret(Opt(ctx, "new-secret"));
  v1::Webhook resp;
  if (absl::Status st = Call(ctx, "RotateWebhookSecret", &Stub::RotateWebhookSecret, req, &resp);
      !st.ok()) {
    return st;
  }
  Show(ctx, resp);
  if (!ctx.globals.json) *ctx.out << "(the new secret is shown only now: keep it)\n";
  return absl::OkStatus();
}

absl::Status TestWebhook(CommandContext& ctx) {
  v1::TestWebhookRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_id(Opt(ctx, "id"));
  absl::StatusOr<std::string> payload = ReadPayload(ctx);
  if (!payload.ok()) return payload.status();
  req.set_payload(*payload);
  v1::TestWebhookResponse resp;
  if (absl::Status st = Call(ctx, "TestWebhook", &Stub::TestWebhook, req, &resp, kTestTimeout);
      !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  *ctx.out << "delivery:    " << resp.delivery_id() << "\n"
           << "result:      " << AttemptResult(resp.attempt()) << "\n"
           << "attempt:\n";
  PrintAttempt(*ctx.out, resp.attempt());
  return absl::OkStatus();
}

}  // namespace hookrelay::hookctl
