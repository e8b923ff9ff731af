// hookctl: the event, delivery and API key commands.
#include "absl/strings/ascii.h"
#include "services/hookctl/command_util.h"
#include "services/hookctl/commands.h"
#include "services/hookctl/output.h"

namespace hookrelay::hookctl {
namespace {

using Stub = v1::WebhookRegistry::StubInterface;

}  // namespace

absl::Status Publish(CommandContext& ctx) {
  v1::PublishEventRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_type(Opt(ctx, "type"));
  absl::StatusOr<std::string> payload = ReadPayload(ctx);
  if (!payload.ok()) return payload.status();
  if (!Has(ctx, "payload") && !Has(ctx, "payload-file")) {
    return UsageError("publish: give the payload with --payload JSON or --payload-file FILE|-");
  }
  req.set_payload(*payload);
  req.set_idempotency_key(Opt(ctx, "idempotency-key"));
  if (absl::Status st = MapOpt(ctx, "attributes", req.mutable_attributes()); !st.ok()) return st;
  if (Has(ctx, "occurred-at")) {
    auto at = TimeOpt(ctx, "occurred-at");
    if (!at.ok()) return at.status();
    *req.mutable_occurred_at() = *at;
  }
  v1::PublishEventResponse resp;
  if (absl::Status st = Call(ctx, "PublishEvent", &Stub::PublishEvent, req, &resp); !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  *ctx.out << "event:       " << resp.event_id()
           << (resp.duplicate() ? "  (duplicate: the first event with this idempotency key)" : "")
           << "\ndeliveries:  " << resp.delivery_ids_size() << "\n";
  for (const std::string& id : resp.delivery_ids()) *ctx.out << "  " << id << "\n";
  return absl::OkStatus();
}

absl::Status GetEvent(CommandContext& ctx) {
  v1::GetEventRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_id(Opt(ctx, "id"));
  v1::Event resp;
  if (absl::Status st = Call(ctx, "GetEvent", &Stub::GetEvent, req, &resp); !st.ok()) return st;
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  PrintEvent(*ctx.out, resp);
  return absl::OkStatus();
}

absl::Status ListDeliveries(CommandContext& ctx) {
  v1::ListDeliveriesRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_webhook_id(Opt(ctx, "webhook"));
  req.set_event_id(Opt(ctx, "event"));
  if (req.webhook_id().empty() == req.event_id().empty()) {
    return UsageError("list-deliveries: give one of --webhook wh_ID or --event evt_ID");
  }
  absl::StatusOr<int64_t> size = IntOpt(ctx, "page-size", 0);
  if (!size.ok()) return size.status();
  req.set_page_size(static_cast<int32_t>(*size));
  req.set_page_token(Opt(ctx, "page-token"));
  if (Has(ctx, "status")) {
    v1::DeliveryStatus status;
    if (!v1::DeliveryStatus_Parse("DELIVERY_STATUS_" + absl::AsciiStrToUpper(Opt(ctx, "status")),
                                  &status) ||
        status == v1::DELIVERY_STATUS_UNSPECIFIED) {
      return UsageError("--status: pending, succeeded, retry_scheduled, failed or cancelled");
    }
    req.set_status(status);
  }
  v1::ListDeliveriesResponse resp;
  if (absl::Status st = Call(ctx, "ListDeliveries", &Stub::ListDeliveries, req, &resp); !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  PrintDeliveryTable(*ctx.out, resp);
  return absl::OkStatus();
}

absl::Status GetDelivery(CommandContext& ctx) {
  v1::GetDeliveryRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_id(Opt(ctx, "id"));
  v1::Delivery d;
  if (absl::Status st = Call(ctx, "GetDelivery", &Stub::GetDelivery, req, &d); !st.ok()) return st;
  if (ctx.globals.json) return PrintJson(*ctx.out, d), absl::OkStatus();
  PrintDelivery(*ctx.out, d);
  return absl::OkStatus();
}

absl::Status Redeliver(CommandContext& ctx) {
  v1::RedeliverDeliveryRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_id(Opt(ctx, "id"));
  v1::Delivery resp;
  if (absl::Status st = Call(ctx, "RedeliverDelivery", &Stub::RedeliverDelivery, req, &resp);
      !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  *ctx.out << "re-enqueued " << resp.id() << " (attempt " << resp.attempt_count() + 1 << ")\n";
  return absl::OkStatus();
}

absl::Status Recover(CommandContext& ctx) {
  v1::RecoverWebhookRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_id(Opt(ctx, "id"));
  if (Has(ctx, "since")) {
    auto since = TimeOpt(ctx, "since");
    if (!since.ok()) return since.status();
    *req.mutable_since() = *since;
  }
  v1::RecoverWebhookResponse resp;
  if (absl::Status st = Call(ctx, "RecoverWebhook", &Stub::RecoverWebhook, req, &resp); !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  *ctx.out << "re-enqueued " << resp.delivery_ids_size() << " failed deliveries\n";
  for (const std::string& id : resp.delivery_ids()) *ctx.out << "  " << id << "\n";
  return absl::OkStatus();
}

absl::Status CreateApiKey(CommandContext& ctx) {
  v1::CreateApiKeyRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  v1::ApiKeyRole role;
  if (!v1::ApiKeyRole_Parse("API_KEY_ROLE_" + absl::AsciiStrToUpper(Opt(ctx, "role", "tenant")),
                            &role) ||
      role == v1::API_KEY_ROLE_UNSPECIFIED) {
    return UsageError("--role: admin, tenant or publisher");
  }
  req.set_role(role);
  req.set_description(Opt(ctx, "description"));
  v1::ApiKey resp;
  if (absl::Status st = Call(ctx, "CreateApiKey", &Stub::CreateApiKey, req, &resp); !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  *ctx.out << "id:          " << resp.id()
           << "\nrole:        " << absl::AsciiStrToLower(Opt(ctx, "role", "tenant"))
           << "\ntenant:      " << (resp.tenant().empty() ? "*" : resp.tenant())
           << "\nkey:         " << resp.key() << "   (shown only now: keep it)\n";
  return absl::OkStatus();
}

absl::Status ListApiKeys(CommandContext& ctx) {
  v1::ListApiKeysRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  absl::StatusOr<int64_t> size = IntOpt(ctx, "page-size", 0);
  if (!size.ok()) return size.status();
  req.set_page_size(static_cast<int32_t>(*size));
  req.set_page_token(Opt(ctx, "page-token"));
  v1::ListApiKeysResponse resp;
  if (absl::Status st = Call(ctx, "ListApiKeys", &Stub::ListApiKeys, req, &resp); !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  PrintApiKeys(*ctx.out, resp);
  return absl::OkStatus();
}

absl::Status RevokeApiKey(CommandContext& ctx) {
  v1::RevokeApiKeyRequest req;
  req.set_id(Opt(ctx, "id"));
  v1::RevokeApiKeyResponse resp;
  if (absl::Status st = Call(ctx, "RevokeApiKey", &Stub::RevokeApiKey, req, &resp); !st.ok()) {
    return st;
  }
  if (ctx.globals.json) return PrintJson(*ctx.out, resp), absl::OkStatus();
  *ctx.out << "revoked " << req.id() << "\n";
  return absl::OkStatus();
}

}  // namespace hookrelay::hookctl
