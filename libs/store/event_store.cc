#include "libs/store/event_store.h"

#include "absl/strings/str_cat.h"
#include "libs/store/delivery_record.h"

namespace hookrelay::store {

absl::Status EventStoreOptions::Validate() const {
  if (retention < absl::Hours(1)) return absl::InvalidArgumentError("retention: at least 1h");
  if (idempotency_ttl < absl::Hours(24)) {
    return absl::InvalidArgumentError("idempotency_ttl: at least 24h");
  }
  return absl::OkStatus();
}

std::string IdempotencyValue(absl::string_view event_id, absl::string_view fingerprint) {
  if (fingerprint.empty()) return std::string(event_id);
  return absl::StrCat(event_id, " ", fingerprint);
}

IdempotencyEntry ParseIdempotencyValue(absl::string_view value) {
  const size_t space = value.find(' ');
  IdempotencyEntry e;
  e.event_id = std::string(value.substr(0, space));
  if (space != absl::string_view::npos) e.fingerprint = std::string(value.substr(space + 1));
  return e;
}

void AddPublishWrites(const KeySchema& keys, const EventStoreOptions& options,
                      const PublishedEvent& published, absl::Span<const NewDelivery> deliveries,
                      absl::Time now, absl::flat_hash_set<std::string>* indexes, Pipeline* p) {
  const v1::Event& e = published.event;
  const std::string ttl = std::to_string(absl::ToInt64Seconds(options.retention));
  const std::string now_ms = std::to_string(absl::ToUnixMillis(now));
  p->Add({"SET", keys.Event(e.tenant(), e.id()), e.SerializeAsString(), "EX", ttl});
  const std::string list = keys.EventDeliveries(e.tenant(), e.id());
  const std::string pending = std::to_string(v1::DELIVERY_STATUS_PENDING);
  for (const NewDelivery& d : deliveries) {
    const std::string record = keys.Delivery(e.tenant(), d.delivery_id);
    std::string index = keys.HookDeliveries(e.tenant(), d.hook_id);
    p->Add({"HSET", record, dlv::kStatus, pending, dlv::kHook, d.hook_id, dlv::kEvent, e.id(),
            dlv::kType, e.type(), dlv::kCreated, now_ms, dlv::kUpdated, now_ms, dlv::kAttempts,
            "0"});
    if (published.test) p->Add({"HSET", record, dlv::kTest, "1"});
    p->Add({"EXPIRE", record, ttl});
    p->Add({"ZADD", index, now_ms, d.delivery_id});
    p->Add({"RPUSH", list, d.delivery_id});
    indexes->insert(std::move(index));
  }
  if (!deliveries.empty()) p->Add({"EXPIRE", list, ttl});
  if (!e.idempotency_key().empty()) {
    p->Add({"SET", keys.Idempotency(e.tenant(), e.idempotency_key()),
            IdempotencyValue(e.id(), published.fingerprint), "EX",
            std::to_string(absl::ToInt64Seconds(options.idempotency_ttl))});
  }
}

void AddIndexUpkeep(const EventStoreOptions& options,
                    const absl::flat_hash_set<std::string>& indexes, absl::Time now, Pipeline* p) {
  const std::string ttl = std::to_string(absl::ToInt64Seconds(options.retention));
  const std::string before = absl::StrCat("(", absl::ToUnixMillis(now - options.retention));
  for (const std::string& index : indexes) {
    p->Add({"ZREMRANGEBYSCORE", index, "-inf", before});
    p->Add({"EXPIRE", index, ttl});
  }
}

absl::StatusOr<v1::Event> EventStore::Get(absl::string_view tenant, absl::string_view id) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  auto reply = (*conn)->Command({"GET", keys_.Event(tenant, id)});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return absl::NotFoundError(absl::StrCat("event ", id, " not found"));
  v1::Event event;
  if (!event.ParseFromString(reply->str)) {
    return absl::DataLossError(absl::StrCat("event ", id, ": stored record does not parse"));
  }
  return event;
}

}  // namespace hookrelay::store
