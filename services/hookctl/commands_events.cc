// hookctl: the event, delivery and API key commands.
#include "absl/strings/ascii.h"
#include "services/hookctl/command_util.h"
#include "services/hookctl/commands.h"
#include "services/hookctl/output.h"

namespace hookrelay::hookctl {
namespace {

using Stub = v1::WebhookRegistry::StubInterface;

void ShowPublished(const CommandContext& ctx, const v1::PublishEventResponse& r) {
  *ctx.out << "event:       " << r.event_id()
           << (r.duplicate() ? "  (duplicate: the first event with this idempotency key)" : "")
           << "\ndeliveries:  " << r.delivery_ids_size() << "\n";
  for (const std::string& id : r.delivery_ids()) *ctx.out << "  " << id << "\n";
}

void ShowRecovered(const CommandContext& ctx, const v1::RecoverWebhookResponse& r) {
  *ctx.out << "re-enqueued " << r.delivery_ids_size() << " failed deliveries\n";
  for (const std::string& id : r.delivery_ids()) *ctx.out << "  " << id << "\n";
}

void ShowKey(const CommandContext& ctx, const v1::ApiKey& k) {
  *ctx.out << "id:          " << k.id()
           << "\nrole:        " << absl::AsciiStrToLower(Opt(ctx, "role", "tenant"))
           << "\ntenant:      " << (k.tenant().empty() ? "*" : k.tenant())
           << "\nkey:         " << k.key() << "   (shown only now: keep it)\n";
}

}  // namespace

absl::Status Publish(CommandContext& ctx) {
  if (!Has(ctx, "payload") && !Has(ctx, "payload-file")) {
    return UsageError("publish: give the payload with --payload JSON or --payload-file FILE|-");
  }
  v1::PublishEventRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_type(Opt(ctx, "type"));
  absl::StatusOr<std::string> payload = ReadPayload(ctx);
  if (!payload.ok()) return payload.status();
  req.set_payload(*payload);
  req.set_idempotency_key(Opt(ctx, "idempotency-key"));
  req.set_ordering_key(Opt(ctx, "ordering-key"));
  if (absl::Status st = MapOpt(ctx, "attributes", req.mutable_attributes()); !st.ok()) return st;
  if (Has(ctx, "occurred-at")) {
    auto at = TimeOpt(ctx, "occurred-at");
    if (!at.ok()) return at.status();
    *req.mutable_occurred_at() = *at;
  }
  return CallAndShow(ctx, "PublishEvent", &Stub::PublishEvent, req, &ShowPublished);
}

absl::Status GetEvent(CommandContext& ctx) {
  return CallAndShow<v1::GetEventRequest, v1::Event>(
      ctx, "GetEvent", &Stub::GetEvent, RefRequest<v1::GetEventRequest>(ctx),
      [](const CommandContext& c, const v1::Event& e) { PrintEvent(*c.out, e); });
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
  return CallAndShow<v1::ListDeliveriesRequest, v1::ListDeliveriesResponse>(
      ctx, "ListDeliveries", &Stub::ListDeliveries, req,
      [](const CommandContext& c, const v1::ListDeliveriesResponse& r) {
        PrintDeliveryTable(*c.out, r);
      });
}

absl::Status GetDelivery(CommandContext& ctx) {
  return CallAndShow<v1::GetDeliveryRequest, v1::Delivery>(
      ctx, "GetDelivery", &Stub::GetDelivery, RefRequest<v1::GetDeliveryRequest>(ctx),
      [](const CommandContext& c, const v1::Delivery& d) { PrintDelivery(*c.out, d); });
}

absl::Status Redeliver(CommandContext& ctx) {
  return CallAndShow<v1::RedeliverDeliveryRequest, v1::Delivery>(
      ctx, "RedeliverDelivery", &Stub::RedeliverDelivery,
      RefRequest<v1::RedeliverDeliveryRequest>(ctx),
      [](const CommandContext& c, const v1::Delivery& d) {
        *c.out << "re-enqueued " << d.id() << " (attempt " << d.attempt_count() + 1 << ")\n";
      });
}

absl::Status Recover(CommandContext& ctx) {
  auto req = RefRequest<v1::RecoverWebhookRequest>(ctx);
  if (Has(ctx, "since")) {
    auto since = TimeOpt(ctx, "since");
    if (!since.ok()) return since.status();
    *req.mutable_since() = *since;
  }
  return CallAndShow(ctx, "RecoverWebhook", &Stub::RecoverWebhook, req, &ShowRecovered);
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
  return CallAndShow(ctx, "CreateApiKey", &Stub::CreateApiKey, req, &ShowKey);
}

absl::Status ListApiKeys(CommandContext& ctx) {
  v1::ListApiKeysRequest req;
  req.set_tenant(Opt(ctx, "tenant"));
  absl::StatusOr<int64_t> size = IntOpt(ctx, "page-size", 0);
  if (!size.ok()) return size.status();
  req.set_page_size(static_cast<int32_t>(*size));
  req.set_page_token(Opt(ctx, "page-token"));
  return CallAndShow<v1::ListApiKeysRequest, v1::ListApiKeysResponse>(
      ctx, "ListApiKeys", &Stub::ListApiKeys, req,
      [](const CommandContext& c, const v1::ListApiKeysResponse& r) { PrintApiKeys(*c.out, r); });
}

absl::Status RevokeApiKey(CommandContext& ctx) {
  v1::RevokeApiKeyRequest req;
  req.set_id(Opt(ctx, "id"));
  return CallAndShow<v1::RevokeApiKeyRequest, v1::RevokeApiKeyResponse>(
      ctx, "RevokeApiKey", &Stub::RevokeApiKey, req,
      [](const CommandContext& c, const v1::RevokeApiKeyResponse&) {
        *c.out << "revoked " << Opt(c, "id") << "\n";
      });
}

}  // namespace hookrelay::hookctl
