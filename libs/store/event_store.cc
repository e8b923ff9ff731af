#include "libs/store/event_store.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/store/delivery_record.h"

namespace hookrelay::store {
namespace {

// What an idempotency key's value holds: the first event's id, then a space and the
// request fingerprint (when the plan has one; values written before fingerprints hold the
// id alone and match any request).
std::string IdempotencyValue(const PublishPlan& plan) {
  if (plan.fingerprint.empty()) return plan.event.id();
  return absl::StrCat(plan.event.id(), " ", plan.fingerprint);
}
void SplitIdempotencyValue(absl::string_view value, std::string* event_id,
                           std::string* fingerprint) {
  const size_t space = value.find(' ');
  *event_id = std::string(value.substr(0, space));
  *fingerprint = space == absl::string_view::npos ? "" : std::string(value.substr(space + 1));
}
bool SameRequest(absl::string_view a, absl::string_view b) {
  return a.empty() || b.empty() || a == b;
}

// Step 3 of a plan whose key and version were checked, for the batch's MULTI/EXEC. Adds
// the hook indexes it wrote to `indexes` (AddIndexUpkeep's).
void AddWrites(const KeySchema& keys, const EventStoreOptions& options, const PublishPlan& plan,
               absl::Time now, absl::flat_hash_set<std::string>* indexes, Pipeline* p) {
  const v1::Event& e = plan.event;
  const std::string ttl = std::to_string(absl::ToInt64Seconds(options.retention));
  const std::string now_ms = std::to_string(absl::ToUnixMillis(now));
  p->Add({"SET", keys.Event(e.tenant(), e.id()), e.SerializeAsString(), "EX", ttl});
  const std::string list = keys.EventDeliveries(e.tenant(), e.id());
  const std::string stream = keys.Stream();
  const std::string pending = std::to_string(v1::DELIVERY_STATUS_PENDING);
  for (const PlannedDelivery& d : plan.deliveries) {
    const std::string record = keys.Delivery(e.tenant(), d.delivery_id);
    const std::string index = keys.HookDeliveries(e.tenant(), d.hook_id);
    p->Add({"HSET", record, dlv::kStatus, pending, dlv::kHook, d.hook_id, dlv::kEvent, e.id(),
            dlv::kType, e.type(), dlv::kCreated, now_ms, dlv::kUpdated, now_ms, dlv::kAttempts,
            "0"});
    if (plan.test) p->Add({"HSET", record, dlv::kTest, "1"});
    p->Add({"EXPIRE", record, ttl});
    p->Add({"ZADD", index, now_ms, d.delivery_id});
    indexes->insert(index);
    p->Add({"RPUSH", list, d.delivery_id});
    p->Add({"XADD", stream, "*", KeySchema::kTaskField, d.task});
  }
  if (!plan.deliveries.empty()) p->Add({"EXPIRE", list, ttl});
  if (!e.idempotency_key().empty()) {
    p->Add({"SET", keys.Idempotency(e.tenant(), e.idempotency_key()), IdempotencyValue(plan), "EX",
            std::to_string(absl::ToInt64Seconds(options.idempotency_ttl))});
  }
}

// Once per hook index a batch wrote to: drops the entries past retention (their records
// have expired) and renews the TTL. A busy hook's index is written all the time, so the TTL
// alone would never let its old entries go.
void AddIndexUpkeep(const EventStoreOptions& options,
                    const absl::flat_hash_set<std::string>& indexes, absl::Time now, Pipeline* p) {
  const std::string ttl = std::to_string(absl::ToInt64Seconds(options.retention));
  const std::string before = absl::StrCat("(", absl::ToUnixMillis(now - options.retention));
  for (const std::string& index : indexes) {
    p->Add({"ZREMRANGEBYSCORE", index, "-inf", before});
    p->Add({"EXPIRE", index, ttl});
  }
}

// Idle publish connections kept, and the tenants' versions each keeps watched.
constexpr size_t kMaxIdleArmed = 16;
constexpr size_t kMaxArmedTenants = 64;

// WATCH `keys`, then MGET them: values read while watched.
void AddWatchAndRead(const std::vector<std::string>& keys, Pipeline* p) {
  std::vector<absl::string_view> argv = {"WATCH"};
  argv.insert(argv.end(), keys.begin(), keys.end());
  p->Add(absl::MakeConstSpan(argv));
  argv[0] = "MGET";
  p->Add(absl::MakeConstSpan(argv));
}

PublishOutcome Published(const PublishPlan& plan) {
  PublishOutcome out;
  out.kind = PublishOutcome::Kind::kPublished;
  out.event_id = plan.event.id();
  for (const PlannedDelivery& d : plan.deliveries) out.delivery_ids.push_back(d.delivery_id);
  return out;
}

}  // namespace

absl::Status EventStoreOptions::Validate() const {
  if (retention < absl::Hours(1)) return absl::InvalidArgumentError("retention: at least 1h");
  if (idempotency_ttl < absl::Hours(24)) {
    return absl::InvalidArgumentError("idempotency_ttl: at least 24h");
  }
  return absl::OkStatus();
}

absl::StatusOr<PublishOutcome> EventStore::Publish(const PublishPlan& plan, absl::Time now) {
  auto outcomes = PublishBatch(absl::MakeConstSpan(&plan, 1), now);
  if (!outcomes.ok()) return outcomes.status();
  return std::move((*outcomes)[0]);
}

EventStore::~EventStore() {
  for (std::unique_ptr<Armed>& a : armed_) {
    if (!a->versions.empty()) (void)a->conn->Command({"UNWATCH"});
  }
}

absl::StatusOr<std::unique_ptr<EventStore::Armed>> EventStore::TakeArmed() {
  {
    std::lock_guard<std::mutex> lock(armed_mu_);
    if (!armed_.empty()) {
      std::unique_ptr<Armed> a = std::move(armed_.back());
      armed_.pop_back();
      return a;
    }
  }
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return std::make_unique<Armed>(*std::move(conn));
}

void EventStore::GiveBack(std::unique_ptr<Armed> armed) {
  {
    std::lock_guard<std::mutex> lock(armed_mu_);
    if (armed_.size() < kMaxIdleArmed) {
      armed_.push_back(std::move(armed));
      return;
    }
  }
  // One too many: back to the shared pool, where a WATCH would make others' EXEC fail.
  if (!armed->versions.empty()) (void)armed->conn->Command({"UNWATCH"});
}

absl::StatusOr<std::vector<PublishOutcome>> EventStore::PublishBatch(
    absl::Span<const PublishPlan> plans, absl::Time now, bool all_or_nothing) {
  auto armed = TakeArmed();
  if (!armed.ok()) return armed.status();
  auto out = PublishOn(**armed, plans, now, all_or_nothing);
  if (!out.ok()) {
    // What the connection watches is unknown now.
    (*armed)->versions.clear();
    (void)(*armed)->conn->Command({"UNWATCH"});
  }
  GiveBack(*std::move(armed));
  return out;
}

absl::StatusOr<std::vector<PublishOutcome>> EventStore::PublishOn(
    Armed& armed, absl::Span<const PublishPlan> plans, absl::Time now, bool all_or_nothing) {
  RedisConnection& conn = *armed.conn;
  std::vector<std::string> version_keys;
  version_keys.reserve(plans.size());
  // One round trip if every plan matches a version this connection watches.
  bool watched = !armed.versions.empty();
  for (const PublishPlan& plan : plans) {
    version_keys.push_back(keys_.Version(plan.event.tenant()));
    if (!watched) continue;
    auto it = armed.versions.find(version_keys.back());
    watched = plan.event.idempotency_key().empty() && it != armed.versions.end() &&
              it->second == plan.expected_version;
  }
  Decision decided;
  if (watched) {
    decided.outcomes.resize(plans.size());
    for (size_t i = 0; i < plans.size(); ++i) decided.to_write.push_back(i);
  } else {
    armed.versions.clear();  // the read below watches other keys
    auto read = ReadAndDecide(conn, plans, version_keys);
    if (!read.ok()) return read.status();
    decided = *std::move(read);
  }
  std::vector<PublishOutcome>& out = decided.outcomes;
  // A plan repeating an earlier plan's idempotency key gets that plan's outcome.
  auto resolve_copies = [&] {
    for (size_t i : decided.copies) {
      const bool conflict = out[i].kind == PublishOutcome::Kind::kConflict;  // requests differ
      out[i] = out[decided.copy_of[i]];
      // A stale first plan is planned again, and so is this one: then compared with the key.
      if (out[i].kind == PublishOutcome::Kind::kStaleVersion) continue;
      if (conflict) {
        out[i].kind = PublishOutcome::Kind::kConflict;
        out[i].delivery_ids.clear();
      } else if (out[i].kind == PublishOutcome::Kind::kPublished) {
        out[i].kind = PublishOutcome::Kind::kDuplicate;
      }
    }
  };
  if ((decided.to_write.empty() && decided.duplicates.empty()) ||
      (all_or_nothing && decided.conflict)) {
    if (auto r = conn.Command({"UNWATCH"}); !r.ok()) return r.status();
    resolve_copies();
    return out;
  }
  // The versions to watch for the next batch: this batch's tenants, then the ones watched
  // before, up to kMaxArmedTenants.
  std::vector<std::string> rearm;
  {
    absl::flat_hash_set<absl::string_view> seen;
    for (const std::string& k : version_keys) {
      if (rearm.size() < kMaxArmedTenants && seen.insert(k).second) rearm.push_back(k);
    }
    for (const auto& [k, v] : armed.versions) {
      if (rearm.size() < kMaxArmedTenants && seen.insert(k).second) rearm.push_back(k);
    }
  }
  // The round trip that writes: the deliveries of earlier events the duplicates point at;
  // the writes of every plan that passed, in one transaction that Redis refuses if a
  // watched key changed since it was read; then the WATCH and read for the next batch.
  Pipeline& p = armed.writes;
  p.Clear();
  for (size_t i : decided.duplicates) {
    p.Add({"LRANGE", keys_.EventDeliveries(plans[i].event.tenant(), out[i].event_id), "0", "-1"});
  }
  p.Add({"MULTI"});
  absl::flat_hash_set<std::string> indexes;
  for (size_t i : decided.to_write) AddWrites(keys_, options_, plans[i], now, &indexes, &p);
  AddIndexUpkeep(options_, indexes, now, &p);
  p.Add({"EXEC"});
  AddWatchAndRead(rearm, &p);
  auto written = conn.Execute(p);
  if (!written.ok()) return written.status();
  armed.versions.clear();
  for (size_t k = 0; k < decided.duplicates.size(); ++k) {
    const RedisReply& ids = (*written)[k];
    if (ids.is_error()) return ids.ToStatus();
    for (const RedisReply& id : ids.elements) {
      out[decided.duplicates[k]].delivery_ids.push_back(id.str);
    }
  }
  const RedisReply& exec = (*written)[written->size() - 3];
  if (exec.is_error()) return exec.ToStatus();
  for (const RedisReply& r : exec.elements) {
    if (r.is_error()) return r.ToStatus();
  }
  const RedisReply& versions = written->back();
  if (versions.type != RedisReply::Type::kArray || versions.elements.size() != rearm.size()) {
    return absl::InternalError("redis: unexpected MGET reply");
  }
  for (size_t k = 0; k < rearm.size(); ++k) {
    long long v = 0;
    if (!versions.elements[k].is_nil() && !absl::SimpleAtoi(versions.elements[k].str, &v)) {
      return absl::InternalError("redis: hook version is not a number");
    }
    armed.versions.emplace(std::move(rearm[k]), v);
  }
  for (size_t i : decided.to_write) {
    if (exec.is_nil()) {  // a version or key moved in between: the caller plans again
      out[i].kind = PublishOutcome::Kind::kStaleVersion;
      out[i].current_version = -1;
    } else {
      out[i] = Published(plans[i]);
    }
  }
  resolve_copies();
  return out;
}

absl::StatusOr<EventStore::Decision> EventStore::ReadAndDecide(
    RedisConnection& conn, absl::Span<const PublishPlan> plans,
    const std::vector<std::string>& version_keys) {
  std::vector<std::string> watched;  // versions first, then idempotency keys
  std::vector<size_t> version_of(plans.size());
  std::vector<size_t> key_of(plans.size(), 0);  // 0: no idempotency key
  {
    absl::flat_hash_map<std::string, size_t> slot;
    auto watch = [&](std::string key) {
      auto [it, added] = slot.emplace(key, watched.size());
      if (added) watched.push_back(std::move(key));
      return it->second;
    };
    for (size_t i = 0; i < plans.size(); ++i) version_of[i] = watch(version_keys[i]);
    for (size_t i = 0; i < plans.size(); ++i) {
      const v1::Event& e = plans[i].event;
      if (!e.idempotency_key().empty()) {
        key_of[i] = watch(keys_.Idempotency(e.tenant(), e.idempotency_key()));
      }
    }
  }
  Pipeline first;
  AddWatchAndRead(watched, &first);
  auto replies = conn.Execute(first);
  if (!replies.ok()) return replies.status();
  const RedisReply& values = (*replies)[1];
  if (values.type != RedisReply::Type::kArray || values.elements.size() != watched.size()) {
    (void)conn.Command({"UNWATCH"});
    return absl::InternalError("redis: unexpected MGET reply");
  }
  auto decided = Decide(plans, values.elements, version_of, key_of);
  if (!decided.ok()) (void)conn.Command({"UNWATCH"});
  return decided;
}

// Sorts the plans of a batch by what the read found (`values`: the watched keys'
// values): an idempotency key already stored makes a duplicate of that event (a conflict
// when it was stored with another request fingerprint); a version other than the plan's
// makes it stale; the rest are written, except a plan repeating a key of an earlier plan in
// the batch, which gets the earlier plan's outcome (a conflict when the requests differ).
absl::StatusOr<EventStore::Decision> EventStore::Decide(absl::Span<const PublishPlan> plans,
                                                        const std::vector<RedisReply>& values,
                                                        const std::vector<size_t>& version_of,
                                                        const std::vector<size_t>& key_of) {
  Decision d;
  d.outcomes.resize(plans.size());
  absl::flat_hash_map<size_t, size_t> first_with_key;  // watched slot → plan index
  for (size_t i = 0; i < plans.size(); ++i) {
    PublishOutcome& out = d.outcomes[i];
    if (key_of[i] != 0) {
      const RedisReply& first = values[key_of[i]];
      if (!first.is_nil()) {
        std::string fingerprint;
        SplitIdempotencyValue(first.str, &out.event_id, &fingerprint);
        if (SameRequest(fingerprint, plans[i].fingerprint)) {
          out.kind = PublishOutcome::Kind::kDuplicate;
          d.duplicates.push_back(i);
        } else {
          out.kind = PublishOutcome::Kind::kConflict;
          d.conflict = true;
        }
        continue;
      }
      auto [it, added] = first_with_key.emplace(key_of[i], i);
      if (!added) {
        d.copies.push_back(i);
        d.copy_of[i] = it->second;
        if (!SameRequest(plans[it->second].fingerprint, plans[i].fingerprint)) {
          out.kind = PublishOutcome::Kind::kConflict;
          d.conflict = true;
        }
        continue;
      }
    }
    const RedisReply& v = values[version_of[i]];
    long long current = 0;
    if (!v.is_nil() && !absl::SimpleAtoi(v.str, &current)) {
      return absl::InternalError("redis: hook version is not a number");
    }
    if (current != plans[i].expected_version) {
      out.kind = PublishOutcome::Kind::kStaleVersion;
      out.current_version = current;
    } else {
      d.to_write.push_back(i);
    }
  }
  return d;
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
