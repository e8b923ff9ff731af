#include "libs/store/delivery_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/store/delivery_record.h"

namespace hookrelay::store {
namespace {

google::protobuf::Timestamp FromMillis(int64_t ms) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(ms);
}

v1::Delivery NewDelivery(absl::string_view tenant, absl::string_view id) {
  v1::Delivery d;
  d.set_id(std::string(id));
  d.set_tenant(std::string(tenant));
  return d;
}

// Sets what one field of the record hash (delivery_record.h) holds; other fields are
// ignored.
void SetRecordField(absl::string_view k, absl::string_view v, v1::Delivery* d) {
  int64_t n = 0;
  (void)absl::SimpleAtoi(v, &n);
  if (k == dlv::kStatus)
    d->set_status(static_cast<v1::DeliveryStatus>(n));
  else if (k == dlv::kHook)
    d->set_webhook_id(std::string(v));
  else if (k == dlv::kEvent)
    d->set_event_id(std::string(v));
  else if (k == dlv::kType)
    d->set_event_type(std::string(v));
  else if (k == dlv::kCreated)
    *d->mutable_create_time() = FromMillis(n);
  else if (k == dlv::kUpdated)
    *d->mutable_update_time() = FromMillis(n);
  else if (k == dlv::kAttempts)
    d->set_attempt_count(static_cast<int32_t>(n));
  else if (k == dlv::kLastStatus)
    d->set_last_http_status(static_cast<int32_t>(n));
  else if (k == dlv::kLastError)
    d->set_last_error_class(static_cast<v1::ErrorClass>(n));
  else if (k == dlv::kNextAttempt && n > 0)
    *d->mutable_next_attempt_time() = FromMillis(n);
}

}  // namespace

void AddAttemptUpdate(const KeySchema& keys, const AttemptUpdate& u, absl::Time now, Pipeline* p) {
  const std::string next = u.next_attempt == absl::InfinitePast()
                               ? "0"
                               : std::to_string(absl::ToUnixMillis(u.next_attempt));
  p->Add({"HSET", keys.Delivery(u.tenant, u.delivery_id), dlv::kStatus, std::to_string(u.status),
          dlv::kAttempts, std::to_string(u.attempt.number()), dlv::kUpdated,
          std::to_string(absl::ToUnixMillis(now)), dlv::kLastStatus,
          std::to_string(u.attempt.http_status()), dlv::kLastError,
          std::to_string(u.attempt.error_class()), dlv::kNextAttempt, next,
          absl::StrCat(dlv::kAttemptPrefix, u.attempt.number(), ".", u.attempt_id),
          u.attempt.SerializeAsString()});
}

void AddStatusUpdate(const KeySchema& keys, absl::string_view tenant, absl::string_view delivery_id,
                     v1::DeliveryStatus status, absl::Time now, Pipeline* p) {
  p->Add({"HSET", keys.Delivery(tenant, delivery_id), dlv::kStatus, std::to_string(status),
          dlv::kUpdated, std::to_string(absl::ToUnixMillis(now))});
}

void AddRequeuedStatus(const KeySchema& keys, absl::string_view tenant,
                       absl::string_view delivery_id, absl::Time now, Pipeline* p) {
  p->Add({"HSET", keys.Delivery(tenant, delivery_id), dlv::kStatus,
          std::to_string(v1::DELIVERY_STATUS_PENDING), dlv::kUpdated,
          std::to_string(absl::ToUnixMillis(now)), dlv::kNextAttempt, "0"});
}

absl::StatusOr<v1::Delivery> DeliveryStore::Get(absl::string_view tenant, absl::string_view id) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  Pipeline p;
  p.Add({"HGETALL", keys_.Delivery(tenant, id)});
  // Records written before attempts moved into the hash keep them in a list of their own;
  // read it too until those have passed their retention.
  p.Add({"LRANGE", keys_.LegacyAttempts(tenant, id), "0", "-1"});
  auto replies = (*conn)->Execute(p);
  if (!replies.ok()) return replies.status();
  for (const RedisReply& r : *replies) {
    if (r.is_error()) return r.ToStatus();
  }
  const std::vector<RedisReply>& flat = (*replies)[0].elements;
  if (flat.empty()) return absl::NotFoundError(absl::StrCat("delivery ", id, " not found"));
  v1::Delivery d = NewDelivery(tenant, id);
  std::vector<const std::string*> attempts;
  for (const RedisReply& a : (*replies)[1].elements) attempts.push_back(&a.str);
  for (size_t i = 0; i + 1 < flat.size(); i += 2) {
    if (absl::StartsWith(flat[i].str, dlv::kAttemptPrefix)) {
      attempts.push_back(&flat[i + 1].str);
    } else {
      SetRecordField(flat[i].str, flat[i + 1].str, &d);
    }
  }
  for (const std::string* a : attempts) {
    if (!d.add_attempts()->ParseFromString(*a)) {
      return absl::DataLossError(absl::StrCat("delivery ", id, ": an attempt does not parse"));
    }
  }
  // Oldest first (hash fields come in no particular order).
  std::stable_sort(
      d.mutable_attempts()->begin(), d.mutable_attempts()->end(),
      [](const v1::Attempt& a, const v1::Attempt& b) {
        if (a.number() != b.number()) return a.number() < b.number();
        return google::protobuf::util::TimeUtil::TimestampToNanoseconds(a.start_time()) <
               google::protobuf::util::TimeUtil::TimestampToNanoseconds(b.start_time());
      });
  return d;
}

absl::StatusOr<std::vector<std::string>> DeliveryStore::IndexRange(RedisConnection& conn,
                                                                   const DeliveryQuery& q,
                                                                   long long start,
                                                                   long long count) {
  absl::StatusOr<RedisReply> reply;
  if (!q.webhook_id.empty()) {
    const std::string min =
        q.since == absl::InfinitePast() ? "-inf" : std::to_string(absl::ToUnixMillis(q.since));
    reply = conn.Command({"ZREVRANGEBYSCORE", keys_.HookDeliveries(q.tenant, q.webhook_id), "+inf",
                          min, "LIMIT", std::to_string(start), std::to_string(count)});
  } else {
    reply = conn.Command({"LRANGE", keys_.EventDeliveries(q.tenant, q.event_id),
                          std::to_string(start), std::to_string(start + count - 1)});
  }
  if (!reply.ok()) return reply.status();
  std::vector<std::string> ids;
  for (RedisReply& e : reply->elements) ids.push_back(std::move(e.str));
  return ids;
}

absl::StatusOr<DeliveryPage> DeliveryStore::List(const DeliveryQuery& q) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  DeliveryPage page;
  const long long chunk = std::max(q.page_size, 50);
  long long offset = q.offset;
  for (int scans = 0; scans < 10 && static_cast<int>(page.deliveries.size()) < q.page_size;
       ++scans) {
    auto ids = IndexRange(**conn, q, offset, chunk);
    if (!ids.ok()) return ids.status();
    Pipeline p;
    for (const std::string& id : *ids) {
      const std::string key = keys_.Delivery(q.tenant, id);
      std::vector<absl::string_view> argv = {"HMGET", key};
      argv.insert(argv.end(), std::begin(dlv::kSummary), std::end(dlv::kSummary));
      p.Add(absl::MakeConstSpan(argv));
    }
    auto records = (*conn)->Execute(p);
    if (!records.ok()) return records.status();
    size_t used = 0;
    for (; used < ids->size() && static_cast<int>(page.deliveries.size()) < q.page_size; ++used) {
      const RedisReply& r = (*records)[used];
      if (r.is_error() || r.elements.empty() || r.elements[0].is_nil()) continue;  // expired
      v1::Delivery d = NewDelivery(q.tenant, (*ids)[used]);
      for (size_t f = 0; f < r.elements.size() && f < std::size(dlv::kSummary); ++f) {
        if (!r.elements[f].is_nil()) SetRecordField(dlv::kSummary[f], r.elements[f].str, &d);
      }
      if (q.status != v1::DELIVERY_STATUS_UNSPECIFIED && d.status() != q.status) continue;
      page.deliveries.push_back(std::move(d));
    }
    offset += static_cast<long long>(used);
    if (static_cast<long long>(ids->size()) < chunk && used == ids->size()) return page;
  }
  page.next_offset = offset;
  return page;
}

}  // namespace hookrelay::store
