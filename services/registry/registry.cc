#include "services/registry/registry.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/core/ids.h"
#include "libs/core/notification.h"
#include "libs/match/matcher.h"
#include "libs/signing/crypto.h"
#include "libs/signing/secret.h"
#include "libs/store/layout.h"

namespace hookrelay::registry {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kMaxBatch = 500;
constexpr size_t kPoolIdleConnections = 1024;

// Calls `start(done)` and waits until `done` has run; its answer.
template <typename T, typename Start>
absl::StatusOr<T> Await(Start start) {
  core::Notification done;
  absl::StatusOr<T> result;
  start([&](absl::StatusOr<T> r) {
    result = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

// Validates the tenant and id of a read or delete.
absl::Status ValidateRef(const std::string& tenant, const std::string& id,
                         absl::string_view prefix) {
  if (absl::Status st = ValidateTenant(tenant, "tenant"); !st.ok()) return st;
  const absl::string_view field = "id";
  if (!core::IsValidId(id, prefix)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid ", prefix, " id"));
  }
  return absl::OkStatus();
}

// The readiness probe's connection: `redis` with short timeouts, so a Redis that stopped
// answering is noticed in about Registry::kReadyTimeout.
store::RedisOptions ProbeOptions(store::RedisOptions redis) {
  redis.connect_timeout = Registry::kReadyTimeout;
  redis.command_timeout = Registry::kReadyTimeout;
  return redis;
}

}  // namespace

absl::Status RegistryOptions::Validate() const {
  if (absl::Status st = redis.Validate(); !st.ok()) return st;
  if (absl::Status st = durability.Validate(); !st.ok()) return st;
  if (absl::Status st = store::ValidateShards(shards); !st.ok()) return st;
  if (absl::Status st = publish.Validate(); !st.ok()) return st;
  if (inline_event_bytes > queue::Publisher::kMaxInlineEventBytes) {
    return absl::InvalidArgumentError(absl::StrCat("inline_event_bytes: must be in [0, ",
                                                   queue::Publisher::kMaxInlineEventBytes, "]"));
  }
  if (limits.max_payload_bytes < 1024 || limits.max_payload_bytes > 16 * 1024 * 1024) {
    return absl::InvalidArgumentError("max_payload_bytes: must be in [1 KiB, 16 MiB]");
  }
  return events.Validate();
}

v1::Webhook MaskSecrets(v1::Webhook hook) {
  v1::Signing* s = hook.mutable_signing();
  s->set_secret(signing::MaskSecret(s->secret()));
  for (v1::PreviousSecret& p : *s->mutable_previous_secrets()) {
    p.set_secret(signing::MaskSecret(p.secret()));
  }
  return hook;
}

Registry::Registry(RegistryOptions options, core::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      keys_(options_.key_prefix, options_.shards),
      // Idle connections kept for every concurrent RPC, so a busy registry reuses them
      // instead of connecting per call (the benchmark saw one connect per ~8 publishes).
      pool_(options_.redis, kPoolIdleConnections),
      ready_pool_(ProbeOptions(options_.redis), 1),
      hooks_(pool_, keys_),
      events_(pool_, keys_),
      deliveries_(pool_, keys_),
      api_keys_(pool_, keys_),
      page_tokens_([this]() -> absl::StatusOr<std::string> {
        auto fresh = signing::RandomBytes(32);
        if (!fresh.ok()) return fresh.status();
        return api_keys_.PageTokenKey(*fresh);
      }),
      fan_out_(pool_, keys_, options_.events, options_.durability),
      publisher_(hooks_, fan_out_, clock_, options_.inline_event_bytes),
      batcher_(publisher_, options_.publish) {}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Create(RegistryOptions options,
                                                           core::Clock& clock) {
  if (absl::Status st = options.Validate(); !st.ok()) return st;
  return std::unique_ptr<Registry>(new Registry(std::move(options), clock));
}

absl::Status Registry::EnsureLayout() {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  absl::Status st = store::EnsureLayout(**conn, keys_);
  if (st.ok()) layout_ok_ = true;
  return st;
}

absl::Status Registry::Ready() {
  if (!layout_ok_) return EnsureLayout();
  auto conn = ready_pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return (*conn)->Ping();
}

absl::StatusOr<v1::Webhook> Registry::CreateWebhook(v1::Webhook hook) {
  if (!hook.id().empty()) {
    return absl::InvalidArgumentError("webhook.id: set by the server; leave it empty");
  }
  if (hook.signing().scheme() == v1::SIGNING_SCHEME_UNSPECIFIED) {
    hook.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_STANDARD);
  }
  if (hook.signing().secret().empty() && hook.signing().scheme() != v1::SIGNING_SCHEME_NONE) {
    auto secret = signing::GenerateSecret();
    if (!secret.ok()) return secret.status();
    hook.mutable_signing()->set_secret(*secret);
  }
  if (absl::Status st = ValidateWebhook(hook, options_.limits, "webhook"); !st.ok()) return st;
  const absl::Time now = clock_.Now();
  hook.set_id(core::NewId(core::kWebhookIdPrefix, now));
  if (hook.payload_format() == v1::PAYLOAD_FORMAT_UNSPECIFIED) {
    hook.set_payload_format(v1::PAYLOAD_FORMAT_ENVELOPE);
  }
  hook.set_enabled(true);
  hook.clear_disabled_reason();
  *hook.mutable_create_time() = ToProto(now);
  *hook.mutable_update_time() = ToProto(now);
  if (absl::Status st = hooks_.Create(hook); !st.ok()) return st;
  return hook;
}

absl::StatusOr<v1::Webhook> Registry::GetWebhook(const std::string& tenant, const std::string& id) {
  if (absl::Status st = ValidateRef(tenant, id, core::kWebhookIdPrefix); !st.ok()) return st;
  auto hook = hooks_.Get(tenant, id);
  if (!hook.ok()) return hook.status();
  return MaskSecrets(*std::move(hook));
}

absl::Status Registry::DeleteWebhook(const std::string& tenant, const std::string& id) {
  if (absl::Status st = ValidateRef(tenant, id, core::kWebhookIdPrefix); !st.ok()) return st;
  return hooks_.Delete(tenant, id);
}

absl::StatusOr<v1::Event> Registry::GetEvent(const std::string& tenant, const std::string& id) {
  if (absl::Status st = ValidateRef(tenant, id, core::kEventIdPrefix); !st.ok()) return st;
  return events_.Get(tenant, id);
}

absl::StatusOr<v1::Delivery> Registry::GetDelivery(const std::string& tenant,
                                                   const std::string& id) {
  if (absl::Status st = ValidateRef(tenant, id, core::kDeliveryIdPrefix); !st.ok()) return st;
  return deliveries_.Get(tenant, id);
}

absl::StatusOr<v1::PublishEventResponse> Registry::PublishEvent(
    const v1::PublishEventRequest& req) {
  return Await<v1::PublishEventResponse>(
      [&](auto done) { PublishEventAsync(req, std::move(done)); });
}

void Registry::PublishEventAsync(v1::PublishEventRequest req, queue::PublishBatcher::Done done) {
  if (absl::Status st = ValidatePublish(req, options_.limits, ""); !st.ok()) {
    done(st);
    return;
  }
  batcher_.Submit(std::move(req), std::move(done));
}

absl::StatusOr<v1::PublishEventsResponse> Registry::PublishEvents(
    const v1::PublishEventsRequest& req) {
  return Await<v1::PublishEventsResponse>(
      [&](auto done) { PublishEventsAsync(req, std::move(done)); });
}

void Registry::PublishEventsAsync(v1::PublishEventsRequest req, PublishEventsDone done) {
  if (req.events_size() > kMaxBatch) {
    done(absl::InvalidArgumentError(absl::StrCat("events: at most ", kMaxBatch, " per call")));
    return;
  }
  for (int i = 0; i < req.events_size(); ++i) {
    absl::Status st =
        ValidatePublish(req.events(i), options_.limits, absl::StrCat("events[", i, "]"));
    if (!st.ok()) {
      done(st);
      return;
    }
  }
  batcher_.SubmitBatch(
      std::move(req),
      [done = std::move(done)](absl::StatusOr<std::vector<v1::PublishEventResponse>> results) {
        if (!results.ok()) return done(results.status());
        v1::PublishEventsResponse resp;
        for (v1::PublishEventResponse& r : *results) *resp.add_results() = std::move(r);
        done(std::move(resp));
      });
}

}  // namespace hookrelay::registry
