#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"

namespace hookrelay::store {

struct EventStoreOptions {
  absl::Duration retention = absl::Hours(24 * 30);
  absl::Duration idempotency_ttl = absl::Hours(24);
  absl::Status Validate() const;
};

// One delivery a publish creates.
struct NewDelivery {
  std::string delivery_id;
  std::string hook_id;
};

// What a publish stores beside its deliveries.
struct PublishedEvent {
  const v1::Event& event;
  // What makes two requests with the same idempotency key the same request (see
  // queue::RequestFingerprint); stored beside the key. Empty: not compared.
  absl::string_view fingerprint;
  bool test = false;  // a TestWebhook send: its delivery records are marked (dlv::kTest)
};

// The writes of a publish, for the publisher's MULTI/EXEC of the tenant's shard (libs/queue
// adds the tasks): the event (retention TTL), one PENDING record per delivery, the
// event→deliveries list and each hook's delivery index, and the idempotency key if the event
// has one (its value: IdempotencyValue). Adds the hook indexes written to `indexes`, for
// AddIndexUpkeep.
void AddPublishWrites(const KeySchema& keys, const EventStoreOptions& options,
                      const PublishedEvent& published, absl::Span<const NewDelivery> deliveries,
                      absl::Time now, absl::flat_hash_set<std::string>* indexes, Pipeline* p);

// What an idempotency key's value holds: the first event's id, then a space and the request
// fingerprint (when there is one; values written before fingerprints hold the id alone and
// match any request).
std::string IdempotencyValue(absl::string_view event_id, absl::string_view fingerprint);
struct IdempotencyEntry {
  std::string event_id;
  std::string fingerprint;
  // Whether a request of fingerprint `other` is the one stored (unknown matches anything).
  bool SameRequest(absl::string_view other) const {
    return fingerprint.empty() || other.empty() || fingerprint == other;
  }
};
IdempotencyEntry ParseIdempotencyValue(absl::string_view value);
// Once per hook index a transaction wrote to: drops the entries past retention (their
// records have expired) and renews the TTL. A busy hook's index is written all the time, so
// the TTL alone would never let its old entries go.
void AddIndexUpkeep(const EventStoreOptions& options,
                    const absl::flat_hash_set<std::string>& indexes, absl::Time now, Pipeline* p);

// Reads stored events. Thread-safe.
class EventStore {
 public:
  EventStore(RedisPool& pool, const KeySchema& keys) : pool_(pool), keys_(keys) {}

  // NOT_FOUND once the event expired or never existed.
  absl::StatusOr<v1::Event> Get(absl::string_view tenant, absl::string_view id);

 private:
  RedisPool& pool_;
  const KeySchema& keys_;
};

}  // namespace hookrelay::store
