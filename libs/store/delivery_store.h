#pragma once

#include <optional>
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

// One page of a delivery listing. `next_cursor` is the position after the last index entry
// the page examined ("" when the listing is exhausted); pass it back as DeliveryQuery::after.
struct DeliveryPage {
  std::vector<v1::Delivery> deliveries;
  std::string next_cursor;
};

// Which deliveries to list: those of one hook (newest first) or of one event (in the order
// its fan-out created them).
struct DeliveryQuery {
  std::string tenant;
  std::string webhook_id;  // exactly one of webhook_id and event_id
  std::string event_id;
  v1::DeliveryStatus status = v1::DELIVERY_STATUS_UNSPECIFIED;  // any
  absl::Time since = absl::InfinitePast();  // hook listings only: created at or after
  int page_size = 50;
  // "" for the first page, else a DeliveryPage::next_cursor of the same query.
  std::string after;
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
  // A page of deliveries without their attempts. NOT_FOUND when the hook or event does not
  // exist; INVALID_ARGUMENT "page_token: ..." for a cursor this store did not make.
  //
  // Paging is by keyset: a cursor is the position after an index entry (its creation ms and
  // id in a hook's index, read with the entry's rank in the same script; its place in an
  // event's list, which is written once), so entries added or removed meanwhile never shift
  // a page. A full page looks one matching delivery ahead and ends the listing (no cursor)
  // when there is none. Each call examines at most a bounded number of index entries, so a
  // status filter matching few may return a short (even empty) page with a cursor.
  absl::StatusOr<DeliveryPage> List(const DeliveryQuery& query);

 private:
  struct IndexEntry;
  // Up to `count` index entries after `after`, in listing order; fewer only at the end.
  absl::StatusOr<std::vector<IndexEntry>> IndexRange(RedisConnection& conn, const DeliveryQuery& q,
                                                     const std::string& after, long long count);
  // The listing summaries of `entries` (nullopt for a record that expired).
  absl::StatusOr<std::vector<std::optional<v1::Delivery>>> Summaries(
      RedisConnection& conn, absl::string_view tenant, const std::vector<IndexEntry>& entries);
  // NOT_FOUND unless the query's hook or event exists.
  absl::Status CheckParent(RedisConnection& conn, const DeliveryQuery& q);
  RedisPool& pool_;
  const KeySchema& keys_;
};

}  // namespace hookrelay::store
