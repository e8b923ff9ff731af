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
// added to its history. `next_attempt` is set for RETRY_SCHEDULED. `attempt_id` is unique
// per attempt made (the stream entry's id): two attempts with the same number (a manual
// retry beside a scheduled one) are both kept.
struct AttemptUpdate {
  std::string tenant;
  std::string delivery_id;
  std::string attempt_id;
  v1::DeliveryStatus status = v1::DELIVERY_STATUS_PENDING;
  v1::Attempt attempt;
  absl::Time next_attempt = absl::InfinitePast();
};

// Queues the writes of `u` on `p` (callers batch many with their XACK in one MULTI/EXEC):
// one HSET of the record's status fields and of the attempt, as field "a<number>.<attempt
// id>" of the same hash, whose TTL was set at publish.
void AddAttemptUpdate(const KeySchema& keys, const AttemptUpdate& u, absl::Time now, Pipeline* p);

// Queues a status change with no attempt (CANCELLED for a deleted hook, FAILED for an
// event past retention).
void AddStatusUpdate(const KeySchema& keys, absl::string_view tenant, absl::string_view delivery_id,
                     v1::DeliveryStatus status, absl::Time now, Pipeline* p);

// One page of a delivery listing; `next_offset` is 0 when the listing is exhausted.
struct DeliveryPage {
  std::vector<v1::Delivery> deliveries;
  long long next_offset = 0;
};

// Which deliveries to list: those of one hook (newest first) or of one event.
struct DeliveryQuery {
  std::string tenant;
  std::string webhook_id;  // exactly one of webhook_id and event_id
  std::string event_id;
  v1::DeliveryStatus status = v1::DELIVERY_STATUS_UNSPECIFIED;  // any
  absl::Time since = absl::InfinitePast();  // hook listings only: created at or after
  int page_size = 50;
  long long offset = 0;
};

// Queues the record's return to PENDING for a delivery sent again (libs/queue appends its
// task in the same transaction).
void AddRequeuedStatus(const KeySchema& keys, absl::string_view tenant,
                       absl::string_view delivery_id, absl::Time now, Pipeline* p);

// Reads delivery records. Thread-safe.
class DeliveryStore {
 public:
  DeliveryStore(RedisPool& pool, const KeySchema& keys) : pool_(pool), keys_(keys) {}

  // The delivery with its attempts, oldest first. NOT_FOUND if unknown or expired.
  absl::StatusOr<v1::Delivery> Get(absl::string_view tenant, absl::string_view id);
  // A page of deliveries without their attempts. Scans at most a bounded number of index
  // entries per call, so a status filter matching little returns short pages with an offset.
  absl::StatusOr<DeliveryPage> List(const DeliveryQuery& query);

 private:
  absl::StatusOr<std::vector<std::string>> IndexRange(RedisConnection& conn, const DeliveryQuery& q,
                                                      long long start, long long count);
  RedisPool& pool_;
  const KeySchema& keys_;
};

}  // namespace hookrelay::store
