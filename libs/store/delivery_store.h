#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"

namespace hookrelay::store {

// What one finished attempt changes: the delivery's status and counters, and the attempt
// appended to its history. `next_attempt` is set for RETRY_SCHEDULED.
struct AttemptUpdate {
  std::string tenant;
  std::string delivery_id;
  v1::DeliveryStatus status = v1::DELIVERY_STATUS_PENDING;
  v1::Attempt attempt;
  absl::Time next_attempt = absl::InfinitePast();
};

// Queues the writes of `u` on `p` (callers batch many and add their XACKs, all in one
// MULTI/EXEC). Every key touched gets the retention TTL again.
void AddAttemptUpdate(const KeySchema& keys, absl::Duration retention, const AttemptUpdate& u,
                      absl::Time now, Pipeline* p);

// Queues a status change with no attempt (CANCELLED for a deleted hook, FAILED for an
// event past retention).
void AddStatusUpdate(const KeySchema& keys, absl::string_view tenant,
                     absl::string_view delivery_id, v1::DeliveryStatus status, absl::Time now,
                     Pipeline* p);

// Reads delivery records. Thread-safe.
class DeliveryStore {
 public:
  DeliveryStore(RedisPool& pool, const KeySchema& keys) : pool_(pool), keys_(keys) {}

  // The delivery with its attempts, oldest first. NOT_FOUND if unknown or expired.
  absl::StatusOr<v1::Delivery> Get(absl::string_view tenant, absl::string_view id);

 private:
  RedisPool& pool_;
  const KeySchema& keys_;
};

// Builds a Delivery from its record hash (flat [field, value, ...] as HGETALL returns).
v1::Delivery DeliveryFromHash(absl::string_view tenant, absl::string_view id,
                              const std::vector<RedisReply>& flat);

}  // namespace hookrelay::store
