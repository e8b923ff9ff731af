#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "hookrelay/v1/registry.pb.h"
#include "libs/core/clock.h"
#include "libs/store/delivery_store.h"
#include "libs/store/event_store.h"
#include "libs/store/hook_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "services/registry/hook_index.h"
#include "services/registry/validation.h"

namespace hookrelay::registry {

struct RegistryOptions {
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string key_prefix = "hookrelay:";
  Limits limits;
  store::EventStoreOptions events;
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

  absl::StatusOr<v1::PublishEventResponse> PublishEvent(const v1::PublishEventRequest& req);
  // Validates every event first (nothing is written if one is bad), then publishes all in
  // one pipelined round trip.
  absl::StatusOr<v1::PublishEventsResponse> PublishEvents(const v1::PublishEventsRequest& req);
  absl::StatusOr<v1::Event> GetEvent(const std::string& tenant, const std::string& id);
  absl::StatusOr<v1::Delivery> GetDelivery(const std::string& tenant, const std::string& id);

  // OK when Redis answers.
  absl::Status Ready();

 private:
  Registry(RegistryOptions options, core::Clock& clock);
  absl::StatusOr<store::PublishPlan> Plan(const v1::PublishEventRequest& req, absl::Time now);
  absl::StatusOr<v1::PublishEventResponse> PublishPlanned(store::PublishPlan plan,
                                                          const v1::PublishEventRequest& req);

  const RegistryOptions options_;
  core::Clock& clock_;
  const store::KeySchema keys_;
  store::RedisPool pool_;
  store::HookStore hooks_;
  store::EventStore events_;
  store::DeliveryStore deliveries_;
  HookIndex index_;
};

// A hook as readers see it: every secret replaced by its mask.
v1::Webhook MaskSecrets(v1::Webhook hook);

}  // namespace hookrelay::registry
