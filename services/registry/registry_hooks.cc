// Registry: listing, updating and rotating hooks.
#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "libs/core/ids.h"
#include "libs/match/matcher.h"
#include "libs/signing/request_signer.h"
#include "libs/signing/secret.h"
#include "services/registry/registry.h"

namespace hookrelay::registry {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 200;
constexpr absl::Duration kDefaultGrace = absl::Hours(24);
constexpr absl::Duration kMaxGrace = absl::Hours(24 * 30);
// Previous secrets that keep signing during rotations' grace periods, at most.
constexpr size_t kMaxPreviousSecrets = 3;

absl::StatusOr<int> PageSize(int requested, absl::string_view field) {
  if (requested < 0 || requested > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be between 0 and 200"));
  }
  return requested == 0 ? kDefaultPageSize : requested;
}

bool SubscribesTo(const v1::Webhook& h, const std::string& type) {
  return std::any_of(h.event_types().begin(), h.event_types().end(),
                     [&](const std::string& p) { return match::EventTypeMatches(p, type); });
}

// Copies one field-mask path from `from` into `to`. INVALID_ARGUMENT for paths that are
// unknown or not updatable.
absl::Status ApplyPath(const std::string& path, const v1::Webhook& from, v1::Webhook* to) {
  if (path == "url")
    to->set_url(from.url());
  else if (path == "description")
    to->set_description(from.description());
  else if (path == "enabled")
    to->set_enabled(from.enabled());
  else if (path == "event_types")
    *to->mutable_event_types() = from.event_types();
  else if (path == "filters")
    *to->mutable_filters() = from.filters();
  else if (path == "payload_format")
    to->set_payload_format(from.payload_format());
  else if (path == "payload_template")
    to->set_payload_template(from.payload_template());
  else if (path == "headers")
    *to->mutable_headers() = from.headers();
  else if (path == "retry_policy")
    *to->mutable_retry_policy() = from.retry_policy();
  else if (path == "timeout_ms")
    to->set_timeout_ms(from.timeout_ms());
  else if (path == "metadata")
    *to->mutable_metadata() = from.metadata();
  else if (path == "user_agent")
    to->set_user_agent(from.user_agent());
  else if (path == "content_type")
    to->set_content_type(from.content_type());
  else if (path == "signing.timestamp_source")
    to->mutable_signing()->set_timestamp_source(from.signing().timestamp_source());
  else if (path == "signing.scheme")
    to->mutable_signing()->set_scheme(from.signing().scheme());
  else if (path == "signing.header")
    to->mutable_signing()->set_header(from.signing().header());
  else if (path == "signing.prefix")
    to->mutable_signing()->set_prefix(from.signing().prefix());
  else if (path == "signing.timestamp_header") {
    to->mutable_signing()->set_timestamp_header(from.signing().timestamp_header());
  } else if (path == "signing.timestamp_format") {
    to->mutable_signing()->set_timestamp_format(from.signing().timestamp_format());
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("update_mask: \"", path,
                     "\" is not an updatable field (secrets change through "
                     "RotateWebhookSecret)"));
  }
  return absl::OkStatus();
}

// In nanoseconds, as CreateWebhook stores create_time and update_time: milliseconds would put
// an update in the hook's first millisecond before its creation.
google::protobuf::Timestamp UpdateTime(absl::Time now) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(now));
}

// INVALID_ARGUMENT ("new_secret: ...") unless `secret` can sign under `current`'s scheme: a
// standard hook needs a "whsec_" secret, the other schemes any 16..256 bytes.
absl::Status ValidateNewSecret(const v1::Signing& current, const std::string& secret) {
  v1::Signing probe = current;
  probe.clear_previous_secrets();
  probe.set_secret(secret);
  absl::Status st = signing::ValidateSigning(probe);
  if (st.ok()) st = signing::SecretKeyBytes(secret).status();  // the NONE scheme checks nothing
  if (st.ok()) return st;
  absl::string_view message = st.message();
  if (!absl::ConsumePrefix(&message, "signing.secret")) return st;
  return absl::InvalidArgumentError(absl::StrCat("new_secret", message));
}

// Makes `secret` current; the old current secret keeps signing until `expires`, beside the
// previous ones still within their own grace period: the last kMaxPreviousSecrets of them,
// in the order they were rotated out (each signs every request, so an unbounded list would grow the
// signature header without end).
void RotateSecret(const std::string& secret, absl::Time now, absl::Time expires, v1::Signing* s) {
  std::vector<v1::PreviousSecret> kept;
  for (const v1::PreviousSecret& p : s->previous_secrets()) {
    if (TimeUtil::TimestampToMilliseconds(p.expires_at()) > absl::ToUnixMillis(now)) {
      kept.push_back(p);
    }
  }
  if (!s->secret().empty()) {
    v1::PreviousSecret& old = kept.emplace_back();
    old.set_secret(s->secret());
    *old.mutable_expires_at() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(expires));
  }
  const size_t drop = kept.size() > kMaxPreviousSecrets ? kept.size() - kMaxPreviousSecrets : 0;
  s->clear_previous_secrets();
  for (size_t i = drop; i < kept.size(); ++i) *s->add_previous_secrets() = std::move(kept[i]);
  s->set_secret(secret);
}

}  // namespace

absl::StatusOr<v1::ListWebhooksResponse> Registry::ListWebhooks(
    const v1::ListWebhooksRequest& req) {
  if (absl::Status st = ValidateTenant(req.tenant(), "tenant"); !st.ok()) return st;
  auto size = PageSize(req.page_size(), "page_size");
  if (!size.ok()) return size.status();
  std::string after;
  if (!req.page_token().empty() && (!absl::WebSafeBase64Unescape(req.page_token(), &after) ||
                                    !core::IsValidId(after, core::kWebhookIdPrefix))) {
    return absl::InvalidArgumentError("page_token: not a token from ListWebhooks");
  }
  if (!req.event_type().empty()) {
    absl::Status st = match::ValidateEventType(req.event_type(), "event_type");
    if (!st.ok()) return st;
  }
  auto all = hooks_.LoadTenant(req.tenant());
  if (!all.ok()) return all.status();
  std::vector<v1::Webhook>& hooks = all->hooks;
  std::sort(hooks.begin(), hooks.end(),
            [](const v1::Webhook& a, const v1::Webhook& b) { return a.id() < b.id(); });
  v1::ListWebhooksResponse resp;
  for (v1::Webhook& h : hooks) {
    if (!after.empty() && h.id() <= after) continue;
    if (req.has_enabled() && h.enabled() != req.enabled()) continue;
    if (!req.event_type().empty() && !SubscribesTo(h, req.event_type())) continue;
    if (resp.webhooks_size() == *size) {
      resp.set_next_page_token(
          absl::WebSafeBase64Escape(resp.webhooks(resp.webhooks_size() - 1).id()));
      break;
    }
    *resp.add_webhooks() = MaskSecrets(std::move(h));
  }
  return resp;
}

absl::Status Registry::ValidateHookRef(const std::string& tenant, const std::string& id,
                                       absl::string_view field_prefix) {
  if (absl::Status st = ValidateTenant(tenant, absl::StrCat(field_prefix, "tenant")); !st.ok()) {
    return st;
  }
  if (!core::IsValidId(id, core::kWebhookIdPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat(field_prefix, "id: not a valid wh_ id"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Webhook> Registry::LoadForUpdate(const std::string& tenant,
                                                    const std::string& id) {
  if (absl::Status st = ValidateHookRef(tenant, id, "webhook."); !st.ok()) return st;
  return hooks_.Get(tenant, id);
}

absl::StatusOr<v1::Webhook> Registry::UpdateWebhook(const v1::UpdateWebhookRequest& req) {
  if (req.update_mask().paths().empty()) {
    return absl::InvalidArgumentError("update_mask: name at least one field to update");
  }
  auto ref = ValidateHookRef(req.webhook().tenant(), req.webhook().id(), "webhook.");
  if (!ref.ok()) return ref;
  // Compare-and-set: a concurrent change makes the store read the hook again and this apply
  // the mask again on top of it, so neither change is lost.
  auto hook = hooks_.Update(req.webhook().tenant(), req.webhook().id(), [&](v1::Webhook& h) {
    for (const std::string& path : req.update_mask().paths()) {
      if (absl::Status st = ApplyPath(path, req.webhook(), &h); !st.ok()) return st;
    }
    if (h.enabled()) h.clear_disabled_reason();
    if (absl::Status st = ValidateWebhook(h, options_.limits, "webhook"); !st.ok()) return st;
    *h.mutable_update_time() = UpdateTime(clock_.Now());
    return absl::OkStatus();
  });
  if (!hook.ok()) return hook.status();
  return MaskSecrets(*std::move(hook));
}

absl::StatusOr<v1::Webhook> Registry::RotateWebhookSecret(
    const v1::RotateWebhookSecretRequest& req) {
  if (absl::Status st = ValidateHookRef(req.tenant(), req.id(), "webhook."); !st.ok()) return st;
  const absl::Duration grace =
      req.grace_period_seconds() == 0 ? kDefaultGrace : absl::Seconds(req.grace_period_seconds());
  if (grace < absl::ZeroDuration() || grace > kMaxGrace) {
    return absl::InvalidArgumentError("grace_period_seconds: must be between 0 and 30 days");
  }
  std::string secret = req.new_secret();
  if (secret.empty()) {
    auto generated = signing::GenerateSecret();
    if (!generated.ok()) return generated.status();
    secret = *generated;
  }
  // Compare-and-set: a rotation is never lost to a concurrent update, nor undoes one.
  auto hook = hooks_.Update(req.tenant(), req.id(), [&](v1::Webhook& h) {
    if (!req.new_secret().empty()) {
      if (absl::Status st = ValidateNewSecret(h.signing(), secret); !st.ok()) return st;
    }
    const absl::Time now = clock_.Now();
    RotateSecret(secret, now, now + grace, h.mutable_signing());
    *h.mutable_update_time() = UpdateTime(now);
    return absl::OkStatus();
  });
  if (!hook.ok()) return hook.status();
  v1::Webhook shown = MaskSecrets(*hook);
  shown.mutable_signing()->set_secret(secret);  // the one time the new secret is shown
  return shown;
}

}  // namespace hookrelay::registry
