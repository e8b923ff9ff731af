// Registry: listing, updating and rotating hooks.
#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "libs/core/ids.h"
#include "libs/core/status_macros.h"
#include "libs/match/matcher.h"
#include "libs/signing/request_signer.h"
#include "libs/signing/secret.h"
#include "services/registry/registry.h"

namespace hookrelay::registry {
namespace {

using google::protobuf::util::TimeUtil;

constexpr absl::Duration kDefaultGrace = absl::Hours(24);
constexpr absl::Duration kMaxGrace = absl::Hours(24 * 30);
// Previous secrets that keep signing during rotations' grace periods, at most.
constexpr size_t kMaxPreviousSecrets = 3;

bool SubscribesTo(const v1::Webhook& h, const std::string& type) {
  return std::any_of(h.event_types().begin(), h.event_types().end(),
                     [&](const std::string& p) { return match::EventTypeMatches(p, type); });
}

// A Webhook field UpdateWebhook may replace: its update_mask path, how to copy it, and
// whether a request populates it (for a request without a mask).
struct Updatable {
  absl::string_view path;
  void (*copy)(const v1::Webhook& from, v1::Webhook* to);
  bool (*populated)(const v1::Webhook& h);
};

// Every updatable path. Secrets change only through RotateWebhookSecret; id, tenant,
// disabled_reason and the times are the server's.
const std::vector<Updatable>& UpdatablePaths() {
  using W = v1::Webhook;
  static const auto* paths = new std::vector<Updatable>{
      {"url", [](const W& f, W* t) { t->set_url(f.url()); },
       [](const W& h) { return !h.url().empty(); }},
      {"description", [](const W& f, W* t) { t->set_description(f.description()); },
       [](const W& h) { return !h.description().empty(); }},
      {"enabled", [](const W& f, W* t) { t->set_enabled(f.enabled()); },
       [](const W& h) { return h.enabled(); }},
      {"event_types", [](const W& f, W* t) { *t->mutable_event_types() = f.event_types(); },
       [](const W& h) { return h.event_types_size() > 0; }},
      {"filters", [](const W& f, W* t) { *t->mutable_filters() = f.filters(); },
       [](const W& h) { return h.filters_size() > 0; }},
      {"payload_format", [](const W& f, W* t) { t->set_payload_format(f.payload_format()); },
       [](const W& h) { return h.payload_format() != v1::PAYLOAD_FORMAT_UNSPECIFIED; }},
      {"payload_template", [](const W& f, W* t) { t->set_payload_template(f.payload_template()); },
       [](const W& h) { return !h.payload_template().empty(); }},
      {"headers", [](const W& f, W* t) { *t->mutable_headers() = f.headers(); },
       [](const W& h) { return h.headers_size() > 0; }},
      {"retry_policy", [](const W& f, W* t) { *t->mutable_retry_policy() = f.retry_policy(); },
       [](const W& h) { return h.has_retry_policy(); }},
      {"timeout_ms", [](const W& f, W* t) { t->set_timeout_ms(f.timeout_ms()); },
       [](const W& h) { return h.timeout_ms() != 0; }},
      {"metadata", [](const W& f, W* t) { *t->mutable_metadata() = f.metadata(); },
       [](const W& h) { return h.metadata_size() > 0; }},
      {"user_agent", [](const W& f, W* t) { t->set_user_agent(f.user_agent()); },
       [](const W& h) { return !h.user_agent().empty(); }},
      {"content_type", [](const W& f, W* t) { t->set_content_type(f.content_type()); },
       [](const W& h) { return !h.content_type().empty(); }},
      {"rate_limit",  // in the mask without a value: the limit is removed
       [](const W& f, W* t) {
         if (f.has_rate_limit()) {
           *t->mutable_rate_limit() = f.rate_limit();
         } else {
           t->clear_rate_limit();
         }
       },
       [](const W& h) { return h.has_rate_limit(); }},
      {"ordering", [](const W& f, W* t) { t->set_ordering(f.ordering()); },
       [](const W& h) { return h.ordering() != v1::ORDERING_UNSPECIFIED; }},
      {"signing.timestamp_source",
       [](const W& f, W* t) {
         t->mutable_signing()->set_timestamp_source(f.signing().timestamp_source());
       },
       [](const W& h) {
         return h.signing().timestamp_source() != v1::Signing::TIMESTAMP_SOURCE_UNSPECIFIED;
       }},
      {"signing.scheme",
       [](const W& f, W* t) { t->mutable_signing()->set_scheme(f.signing().scheme()); },
       [](const W& h) { return h.signing().scheme() != v1::SIGNING_SCHEME_UNSPECIFIED; }},
      {"signing.header",
       [](const W& f, W* t) { t->mutable_signing()->set_header(f.signing().header()); },
       [](const W& h) { return !h.signing().header().empty(); }},
      {"signing.prefix",
       [](const W& f, W* t) { t->mutable_signing()->set_prefix(f.signing().prefix()); },
       [](const W& h) { return !h.signing().prefix().empty(); }},
      {"signing.timestamp_header",
       [](const W& f, W* t) {
         t->mutable_signing()->set_timestamp_header(f.signing().timestamp_header());
       },
       [](const W& h) { return !h.signing().timestamp_header().empty(); }},
      {"signing.timestamp_format",
       [](const W& f, W* t) {
         t->mutable_signing()->set_timestamp_format(f.signing().timestamp_format());
       },
       [](const W& h) {
         return h.signing().timestamp_format() != v1::Signing::TIMESTAMP_FORMAT_UNSPECIFIED;
       }},
  };
  return *paths;
}

// The fields an UpdateWebhook request replaces (AIP-134): the paths of its update_mask, all
// of them for "*", or, without a mask, those the request's webhook populates (a field set
// to its default, e.g. `enabled: false`, then needs a mask). INVALID_ARGUMENT for an unknown
// or read-only path, or when nothing would change.
absl::StatusOr<std::vector<const Updatable*>> FieldsToUpdate(const v1::UpdateWebhookRequest& req) {
  const std::vector<Updatable>& all = UpdatablePaths();
  std::vector<const Updatable*> out;
  const auto& paths = req.update_mask().paths();
  if (paths.size() == 1 && paths[0] == "*") {
    for (const Updatable& u : all) out.push_back(&u);
    return out;
  }
  for (const std::string& path : paths) {
    auto it =
        std::find_if(all.begin(), all.end(), [&](const Updatable& u) { return u.path == path; });
    if (it == all.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask: \"", absl::CEscape(path.substr(0, 64)),
          "\" is not an updatable field (\"*\" replaces them all alone; secrets change "
          "through RotateWebhookSecret)"));
    }
    out.push_back(&*it);
  }
  if (paths.empty()) {
    if (!req.webhook().signing().secret().empty()) {
      return absl::InvalidArgumentError(
          "webhook.signing.secret: changes only through RotateWebhookSecret");
    }
    for (const Updatable& u : all) {
      if (u.populated(req.webhook())) out.push_back(&u);
    }
    if (out.empty()) {
      return absl::InvalidArgumentError(
          "update_mask: the webhook sets no field to update; name the fields in update_mask "
          "(needed to set one to its default, e.g. enabled: false)");
    }
  }
  return out;
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
  HR_RETURN_IF_ERROR(ValidateTenant(req.tenant(), "tenant"));
  HR_ASSIGN_OR_RETURN(const int size, CoercePageSize(req.page_size()));
  if (!req.event_type().empty()) {
    HR_RETURN_IF_ERROR(match::ValidateEventType(req.event_type(), "event_type"));
  }
  const PageScope scope{
      .method = "ListWebhooks",
      .tenant = req.tenant(),
      .filters = absl::StrCat(req.has_enabled() ? (req.enabled() ? "1" : "0") : "-", " ",
                              req.event_type())};
  HR_ASSIGN_OR_RETURN(const std::string after, page_tokens_.Open(scope, req.page_token()));
  HR_ASSIGN_OR_RETURN(store::TenantHooks all, hooks_.LoadTenant(req.tenant()));
  std::vector<v1::Webhook>& hooks = all.hooks;
  std::sort(hooks.begin(), hooks.end(),
            [](const v1::Webhook& a, const v1::Webhook& b) { return a.id() < b.id(); });
  v1::ListWebhooksResponse resp;
  for (v1::Webhook& h : hooks) {
    if (!after.empty() && h.id() <= after) continue;  // keyset: ids after the last returned
    if (req.has_enabled() && h.enabled() != req.enabled()) continue;
    if (!req.event_type().empty() && !SubscribesTo(h, req.event_type())) continue;
    if (resp.webhooks_size() == size) {  // another one follows the full page
      HR_ASSIGN_OR_RETURN(*resp.mutable_next_page_token(),
                          page_tokens_.Make(scope, resp.webhooks(size - 1).id()));
      break;
    }
    *resp.add_webhooks() = MaskSecrets(std::move(h));
  }
  return resp;
}

absl::Status Registry::ValidateHookRef(const std::string& tenant, const std::string& id,
                                       absl::string_view parent) {
  const std::string prefix = parent.empty() ? "" : absl::StrCat(parent, ".");
  HR_RETURN_IF_ERROR(ValidateTenant(tenant, prefix + "tenant"));
  if (!core::IsValidId(id, core::kWebhookIdPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "id: not a valid wh_ id"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Webhook> Registry::LoadForUpdate(const std::string& tenant,
                                                    const std::string& id,
                                                    absl::string_view parent) {
  HR_RETURN_IF_ERROR(ValidateHookRef(tenant, id, parent));
  return hooks_.Get(tenant, id);
}

absl::StatusOr<v1::Webhook> Registry::UpdateWebhook(const v1::UpdateWebhookRequest& req) {
  HR_ASSIGN_OR_RETURN(const std::vector<const Updatable*> fields, FieldsToUpdate(req));
  HR_RETURN_IF_ERROR(ValidateHookRef(req.webhook().tenant(), req.webhook().id(), "webhook"));
  // Compare-and-set: a concurrent change makes the store read the hook again and this apply
  // the fields again on top of it, so neither change is lost.
  auto hook = hooks_.Update(req.webhook().tenant(), req.webhook().id(), [&](v1::Webhook& h) {
    for (const Updatable* f : fields) f->copy(req.webhook(), &h);
    if (h.enabled()) h.clear_disabled_reason();
    HR_RETURN_IF_ERROR(ValidateWebhook(h, options_.limits, "webhook"));
    *h.mutable_update_time() = UpdateTime(clock_.Now());
    return absl::OkStatus();
  });
  if (!hook.ok()) return hook.status();
  return MaskSecrets(*std::move(hook));
}

absl::StatusOr<v1::Webhook> Registry::RotateWebhookSecret(
    const v1::RotateWebhookSecretRequest& req) {
  if (absl::Status st = ValidateHookRef(req.tenant(), req.id(), ""); !st.ok()) return st;
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
