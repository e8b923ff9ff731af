#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "hookrelay/v1/registry.pb.h"
#include "libs/core/clock.h"
#include "libs/queue/publish_batcher.h"
#include "libs/queue/publisher.h"
#include "libs/queue/task_queue.h"
#include "libs/store/api_key_store.h"
#include "libs/store/delivery_store.h"
#include "libs/store/event_store.h"
#include "libs/store/hook_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "services/registry/paging.h"
#include "services/registry/validation.h"

namespace hookrelay::registry {

struct RegistryOptions {
  store::RedisOptions redis;
  // How many replicas hold a publish before it is answered (queue::Durability).
  queue::Durability durability;
  std::string key_prefix = "hookrelay:";
  // Shards of the keyspace; the same for every process of a deployment (store::KeySchema).
  int shards = store::KeySchema::kDefaultShards;
  Limits limits;
  store::EventStoreOptions events;
  queue::PublishBatcherOptions publish;
  // Events for one hook up to this size, published few at a time, travel inside their task
  // (see queue::Publisher); 0: never.
  size_t inline_event_bytes = queue::Publisher::kDefaultInlineEventBytes;
  absl::Status Validate() const;
};

// The registry's behaviour, apart from gRPC: validates, stores hooks, matches and publishes
// events. Requests are assumed authorized (the RPC layer checks the caller's tenant).
// Errors: INVALID_ARGUMENT naming the field, NOT_FOUND, UNAVAILABLE when Redis is down,
// ABORTED when the tenant's hooks kept changing during a publish. Thread-safe.
class Registry {
 public:
  static absl::StatusOr<std::unique_ptr<Registry>> Create(RegistryOptions options,
                                                          core::Clock& clock);

  // Stores a new hook (id, secret unless given, times set here); the response carries the
  // secret, the only time it is shown.
  absl::StatusOr<v1::Webhook> CreateWebhook(v1::Webhook hook);
  // The hook with its secrets masked.
  absl::StatusOr<v1::Webhook> GetWebhook(const std::string& tenant, const std::string& id);
  absl::Status DeleteWebhook(const std::string& tenant, const std::string& id);

  // Validates, then publishes through the same group commit as PublishEventAsync, waiting.
  absl::StatusOr<v1::PublishEventResponse> PublishEvent(const v1::PublishEventRequest& req);
  // PublishEvent for callers that must not block (the gRPC callback handler): validates
  // here (`done` runs at once on a bad request), then publishes in a group commit with
  // concurrent callers' events; `done` runs on a publishing thread.
  void PublishEventAsync(v1::PublishEventRequest req, queue::PublishBatcher::Done done);
  // Validates every event first (nothing is written if one is bad), then publishes all in
  // one pipelined round trip, waiting.
  absl::StatusOr<v1::PublishEventsResponse> PublishEvents(const v1::PublishEventsRequest& req);
  // PublishEvents for the gRPC callback handler, as PublishEventAsync: `done` runs at once
  // on a bad request, else on a publishing thread (or this one, when the registry is idle).
  using PublishEventsDone = std::function<void(absl::StatusOr<v1::PublishEventsResponse>)>;
  void PublishEventsAsync(v1::PublishEventsRequest req, PublishEventsDone done);
  absl::StatusOr<v1::Event> GetEvent(const std::string& tenant, const std::string& id);
  absl::StatusOr<v1::Delivery> GetDelivery(const std::string& tenant, const std::string& id);

  // List RPCs page as paging.h says: page_size coerced per AIP-158, keyset page tokens bound
  // to the tenant and filters (INVALID_ARGUMENT "page_token: ..." otherwise), no token after
  // the last page.
  //
  // Hooks ordered by id (creation time).
  absl::StatusOr<v1::ListWebhooksResponse> ListWebhooks(const v1::ListWebhooksRequest& req);
  // Replaces the fields named in update_mask, all updatable ones for "*", or without a mask
  // those the request populates (AIP-134); INVALID_ARGUMENT for unknown or read-only paths.
  // Enabling a hook clears its disabled_reason.
  absl::StatusOr<v1::Webhook> UpdateWebhook(const v1::UpdateWebhookRequest& req);
  // A new current secret (generated unless given); the old one keeps signing beside it for
  // the grace period (default 24 h). The response shows the new secret once.
  absl::StatusOr<v1::Webhook> RotateWebhookSecret(const v1::RotateWebhookSecretRequest& req);
  // Sends a webhook.test event to one hook through the workers and waits for the attempt.
  // DEADLINE_EXCEEDED if no worker recorded it in time.
  absl::StatusOr<v1::TestWebhookResponse> TestWebhook(const v1::TestWebhookRequest& req);

  // A hook's deliveries newest first, or an event's in fan-out order; NOT_FOUND when the
  // hook or event does not exist.
  absl::StatusOr<v1::ListDeliveriesResponse> ListDeliveries(const v1::ListDeliveriesRequest& req);
  // Sends a delivery again (same delivery id, next attempt number), whatever its status.
  // FAILED_PRECONDITION when its hook or event is gone.
  absl::StatusOr<v1::Delivery> RedeliverDelivery(const std::string& tenant, const std::string& id);
  // Re-enqueues every FAILED delivery of a hook created at or after `since`, except
  // TestWebhook pings (never retried, and not events the hook subscribed to).
  absl::StatusOr<v1::RecoverWebhookResponse> RecoverWebhook(const v1::RecoverWebhookRequest& req);

  // API keys (callers check the admin role). The key itself is in the response of create
  // only; it is stored as its SHA-256 digest.
  absl::StatusOr<v1::ApiKey> CreateApiKey(const v1::CreateApiKeyRequest& req);
  // Keys ordered by id, paged.
  absl::StatusOr<v1::ListApiKeysResponse> ListApiKeys(const v1::ListApiKeysRequest& req);
  absl::Status RevokeApiKey(const std::string& id);
  store::ApiKeyStore& api_keys() { return api_keys_; }

  // Checks, or on a fresh Redis records, the key layout (store::EnsureLayout):
  // FAILED_PRECONDITION when Redis holds another layout, UNAVAILABLE when it cannot be
  // reached. Ready() keeps checking until it passed once.
  absl::Status EnsureLayout();
  // OK when Redis answers a PING within kReadyTimeout (on a connection of its own, so a
  // Redis that stopped answering is noticed in about that time, not a command timeout) and
  // holds this registry's key layout.
  absl::Status Ready();
  static constexpr absl::Duration kReadyTimeout = absl::Seconds(1);

 private:
  Registry(RegistryOptions options, core::Clock& clock);
  // INVALID_ARGUMENT naming "<parent>.tenant" / "<parent>.id" (the request's own fields
  // "tenant" / "id" when `parent` is empty) when malformed.
  static absl::Status ValidateHookRef(const std::string& tenant, const std::string& id,
                                      absl::string_view parent);
  // The hook `id` of `tenant`, its reference checked as ValidateHookRef does.
  absl::StatusOr<v1::Webhook> LoadForUpdate(const std::string& tenant, const std::string& id,
                                            absl::string_view parent = "");
  // `hook`: the deliveries' webhook; when it delivers in order, each delivery of an event
  // with an ordering key goes back through its key's queue (queue::AddOrderedRequeue).
  absl::StatusOr<std::vector<queue::Requeue>> PlanRequeue(const std::string& tenant,
                                                          const v1::Webhook& hook,
                                                          const std::vector<v1::Delivery>& ds);
  absl::Status RequeueAll(const std::string& tenant, const std::vector<queue::Requeue>& items);

  const RegistryOptions options_;
  core::Clock& clock_;
  const store::KeySchema keys_;
  store::RedisPool pool_;
  store::RedisPool ready_pool_;  // one connection with short timeouts, for Ready()
  store::HookStore hooks_;
  store::EventStore events_;
  store::DeliveryStore deliveries_;
  store::ApiKeyStore api_keys_;
  PageTokens page_tokens_;
  queue::FanOut fan_out_;
  queue::Publisher publisher_;
  std::atomic<bool> layout_ok_{false};
  queue::PublishBatcher batcher_;  // declared last: stopped first
};

// A hook as readers see it: every secret replaced by its mask.
v1::Webhook MaskSecrets(v1::Webhook hook);

}  // namespace hookrelay::registry
