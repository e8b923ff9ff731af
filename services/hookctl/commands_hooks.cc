// hookctl: the webhook commands.
#include <algorithm>

#include "services/hookctl/command_util.h"
#include "services/hookctl/commands.h"
#include "services/hookctl/output.h"

namespace hookrelay::hookctl {
namespace {

using Stub = v1::WebhookRegistry::StubInterface;

// TestWebhook waits for a worker's attempt: up to the hook's timeout (at most 30 s) and more.
constexpr absl::Duration kTestTimeout = absl::Seconds(60);

void ShowHook(const CommandContext& ctx, const v1::Webhook& h) { PrintWebhook(*ctx.out, h); }

void ShowHookWithSecret(const CommandContext& ctx, const v1::Webhook& h) {
  PrintWebhook(*ctx.out, h);
  *ctx.out << "(the secret is shown only now: keep it)\n";
}

void ShowTest(const CommandContext& ctx, const v1::TestWebhookResponse& r) {
  *ctx.out << "delivery:    " << r.delivery_id() << "\n"
           << "result:      " << AttemptResult(r.attempt()) << "\nattempt:\n";
  PrintAttempt(*ctx.out, r.attempt());
}

// --rate-limit, --burst and --ordering into `h`, adding their paths to `mask` (if any).
absl::Status DeliveryControls(const CommandContext& ctx, v1::Webhook* h,
                              google::protobuf::FieldMask* mask) {
  if (Has(ctx, "burst") && !Has(ctx, "rate-limit")) {
    return UsageError("--burst: give it with --rate-limit");
  }
  if (Has(ctx, "rate-limit")) {
    absl::StatusOr<int64_t> rate = IntOpt(ctx, "rate-limit", 0);
    if (!rate.ok()) return rate.status();
    absl::StatusOr<int64_t> burst = IntOpt(ctx, "burst", 0);
    if (!burst.ok()) return burst.status();
    if (*rate < 0) return UsageError("--rate-limit: want a number >= 0 (0: no limit)");
    if (*rate > 0) {  // validated by the server (rate_limit.per_second, rate_limit.burst)
      h->mutable_rate_limit()->set_per_second(
          static_cast<int32_t>(std::min<int64_t>(*rate, 1 << 30)));
      h->mutable_rate_limit()->set_burst(static_cast<int32_t>(std::min<int64_t>(*burst, 1 << 30)));
    }
    if (mask != nullptr) mask->add_paths("rate_limit");
  }
  if (Has(ctx, "ordering")) {
    const std::string mode = Opt(ctx, "ordering");
    if (mode == "none") {
      h->set_ordering(v1::ORDERING_UNSPECIFIED);
    } else if (mode == "per-key") {
      h->set_ordering(v1::ORDERING_PER_KEY);
    } else if (mode == "per-key-hold") {
      h->set_ordering(v1::ORDERING_PER_KEY_HOLD_ON_FAILURE);
    } else {
      return UsageError(
          absl::StrCat("--ordering: want none, per-key or per-key-hold, not \"", mode, "\""));
    }
    if (mask != nullptr) mask->add_paths("ordering");
  }
  return absl::OkStatus();
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
  if (absl::Status st = DeliveryControls(ctx, h, nullptr); !st.ok()) return st;
  return CallAndShow(ctx, "CreateWebhook", &Stub::CreateWebhook, req, &ShowHookWithSecret);
}

absl::Status GetWebhook(CommandContext& ctx) {
  return CallAndShow(ctx, "GetWebhook", &Stub::GetWebhook, RefRequest<v1::GetWebhookRequest>(ctx),
                     &ShowHook);
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
  return CallAndShow<v1::ListWebhooksRequest, v1::ListWebhooksResponse>(
      ctx, "ListWebhooks", &Stub::ListWebhooks, req,
      [](const CommandContext& c, const v1::ListWebhooksResponse& r) {
        PrintWebhookTable(*c.out, r);
      });
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
  if (absl::Status st = DeliveryControls(ctx, h, mask); !st.ok()) return st;
  if (mask->paths().empty()) {
    return UsageError(
        "update-webhook: give at least one of --url, --event-types, --description, --enabled, "
        "--rate-limit, --ordering");
  }
  return CallAndShow(ctx, "UpdateWebhook", &Stub::UpdateWebhook, req, &ShowHook);
}

absl::Status DeleteWebhook(CommandContext& ctx) {
  return CallAndShow<v1::DeleteWebhookRequest, v1::DeleteWebhookResponse>(
      ctx, "DeleteWebhook", &Stub::DeleteWebhook, RefRequest<v1::DeleteWebhookRequest>(ctx),
      [](const CommandContext& c, const v1::DeleteWebhookResponse&) {
        *c.out << "deleted " << Opt(c, "id") << "\n";
      });
}

absl::Status RotateSecret(CommandContext& ctx) {
  auto req = RefRequest<v1::RotateWebhookSecretRequest>(ctx);
  absl::StatusOr<int64_t> grace = IntOpt(ctx, "grace-seconds", 0);
  if (!grace.ok()) return grace.status();
  req.set_grace_period_seconds(*grace);
  req.set_new_secret(Opt(ctx, "new-secret"));
  return CallAndShow(ctx, "RotateWebhookSecret", &Stub::RotateWebhookSecret, req,
                     &ShowHookWithSecret);
}

absl::Status TestWebhook(CommandContext& ctx) {
  auto req = RefRequest<v1::TestWebhookRequest>(ctx);
  absl::StatusOr<std::string> payload = ReadPayload(ctx);
  if (!payload.ok()) return payload.status();
  req.set_payload(*payload);
  return CallAndShow(ctx, "TestWebhook", &Stub::TestWebhook, req, &ShowTest, kTestTimeout);
}

}  // namespace hookrelay::hookctl
