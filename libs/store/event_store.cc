#include "libs/store/event_store.h"

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::store {
namespace {

// KEYS: 1 version, 2 idempotency key, 3 event, 4 event deliveries, 5 stream,
//       then per delivery: record hash, hook deliveries zset.
// ARGV: 1 expected version, 2 event id, 3 event bytes, 4 retention s, 5 idempotency ttl s
//       ("0" = no key), 6 now ms, 7 event type, 8 event key prefix,
//       then per delivery: delivery id, hook id, task bytes.
// Returns {0, event id} | {1, first event id, {delivery ids}} | {2, current version}.
const RedisScript& PublishScript() {
  static const RedisScript* script = new RedisScript(R"lua(
if ARGV[5] ~= '0' then
  local first = redis.call('GET', KEYS[2])
  if first then
    return {1, first, redis.call('LRANGE', ARGV[8] .. first .. ':dlvs', 0, -1)}
  end
end
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v ~= tonumber(ARGV[1]) then return {2, v} end
local ttl = tonumber(ARGV[4])
redis.call('SET', KEYS[3], ARGV[3], 'EX', ttl)
local n = (#KEYS - 5) / 2
for i = 1, n do
  local rec, idx = KEYS[4 + 2 * i], KEYS[5 + 2 * i]
  local id, hook, task = ARGV[6 + 3 * i], ARGV[7 + 3 * i], ARGV[8 + 3 * i]
  redis.call('HSET', rec, 's', 1, 'h', hook, 'e', ARGV[2], 'ty', ARGV[7], 'c', ARGV[6],
             'u', ARGV[6], 'n', 0)
  redis.call('EXPIRE', rec, ttl)
  redis.call('ZADD', idx, ARGV[6], id)
  redis.call('EXPIRE', idx, ttl)
  redis.call('RPUSH', KEYS[4], id)
  redis.call('XADD', KEYS[5], '*', 't', task)
end
if n > 0 then redis.call('EXPIRE', KEYS[4], ttl) end
if ARGV[5] ~= '0' then redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[5])) end
return {0, ARGV[2]}
)lua");
  return *script;
}

void AddPublish(const KeySchema& keys, const EventStoreOptions& options, const PublishPlan& plan,
                absl::Time now, Pipeline* p) {
  const v1::Event& e = plan.event;
  const bool idem = !e.idempotency_key().empty();
  std::vector<std::string> argv = {
      "EVALSHA",
      PublishScript().sha(),
      std::to_string(5 + 2 * plan.deliveries.size()),
      keys.Version(e.tenant()),
      keys.Idempotency(e.tenant(), idem ? e.idempotency_key() : e.id()),
      keys.Event(e.tenant(), e.id()),
      keys.EventDeliveries(e.tenant(), e.id()),
      keys.Stream()};
  for (const PlannedDelivery& d : plan.deliveries) {
    argv.push_back(keys.Delivery(e.tenant(), d.delivery_id));
    argv.push_back(keys.HookDeliveries(e.tenant(), d.hook_id));
  }
  argv.insert(argv.end(),
              {std::to_string(plan.expected_version), e.id(), e.SerializeAsString(),
               std::to_string(absl::ToInt64Seconds(options.retention)),
               idem ? std::to_string(absl::ToInt64Seconds(options.idempotency_ttl)) : "0",
               std::to_string(absl::ToUnixMillis(now)), e.type(), keys.Event(e.tenant(), "")});
  for (const PlannedDelivery& d : plan.deliveries) {
    argv.insert(argv.end(), {d.delivery_id, d.hook_id, d.task});
  }
  p->Add(absl::MakeConstSpan(argv));
}

// The writes of a plan whose hook version was checked (the script's step 3 without the
// idempotency key), for the batch's MULTI/EXEC.
void AddWrites(const KeySchema& keys, const EventStoreOptions& options, const PublishPlan& plan,
               absl::Time now, Pipeline* p) {
  const v1::Event& e = plan.event;
  const std::string ttl = std::to_string(absl::ToInt64Seconds(options.retention));
  const std::string now_ms = std::to_string(absl::ToUnixMillis(now));
  p->Add({"SET", keys.Event(e.tenant(), e.id()), e.SerializeAsString(), "EX", ttl});
  const std::string list = keys.EventDeliveries(e.tenant(), e.id());
  const std::string stream = keys.Stream();
  for (const PlannedDelivery& d : plan.deliveries) {
    const std::string record = keys.Delivery(e.tenant(), d.delivery_id);
    const std::string index = keys.HookDeliveries(e.tenant(), d.hook_id);
    p->Add({"HSET", record, "s", "1", "h", d.hook_id, "e", e.id(), "ty", e.type(), "c", now_ms, "u",
            now_ms, "n", "0"});
    p->Add({"EXPIRE", record, ttl});
    p->Add({"ZADD", index, now_ms, d.delivery_id});
    p->Add({"EXPIRE", index, ttl});
    p->Add({"RPUSH", list, d.delivery_id});
    p->Add({"XADD", stream, "*", KeySchema::kTaskField, d.task});
  }
  if (!plan.deliveries.empty()) p->Add({"EXPIRE", list, ttl});
}

absl::StatusOr<PublishOutcome> ParseOutcome(const RedisReply& r, const PublishPlan& plan) {
  if (r.is_error()) return r.ToStatus();
  if (r.type != RedisReply::Type::kArray || r.elements.size() < 2) {
    return absl::InternalError("redis: unexpected publish reply");
  }
  PublishOutcome out;
  switch (r.elements[0].integer) {
    case 0:
      out.kind = PublishOutcome::Kind::kPublished;
      out.event_id = plan.event.id();
      for (const PlannedDelivery& d : plan.deliveries) out.delivery_ids.push_back(d.delivery_id);
      return out;
    case 1:
      out.kind = PublishOutcome::Kind::kDuplicate;
      out.event_id = r.elements[1].str;
      if (r.elements.size() > 2) {
        for (const RedisReply& id : r.elements[2].elements) out.delivery_ids.push_back(id.str);
      }
      return out;
    default:
      out.kind = PublishOutcome::Kind::kStaleVersion;
      out.current_version = r.elements[1].integer;
      return out;
  }
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

absl::StatusOr<std::vector<PublishOutcome>> EventStore::PublishBatch(
    absl::Span<const PublishPlan> plans, absl::Time now) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  // Round trip 1: watch and read the hook versions of the batch's tenants; plans with an
  // idempotency key run the script, which checks the key and the version itself.
  std::vector<std::string> version_keys;
  std::vector<size_t> version_of(plans.size());
  {
    absl::flat_hash_map<std::string, size_t> slot;
    for (size_t i = 0; i < plans.size(); ++i) {
      std::string key = keys_.Version(plans[i].event.tenant());
      auto [it, added] = slot.emplace(key, version_keys.size());
      if (added) version_keys.push_back(std::move(key));
      version_of[i] = it->second;
    }
  }
  Pipeline first;
  std::vector<absl::string_view> argv = {"WATCH"};
  argv.insert(argv.end(), version_keys.begin(), version_keys.end());
  first.Add(absl::MakeConstSpan(argv));
  argv[0] = "MGET";
  first.Add(absl::MakeConstSpan(argv));
  for (const PublishPlan& plan : plans) {
    if (!plan.event.idempotency_key().empty()) AddPublish(keys_, options_, plan, now, &first);
  }
  auto replies = ExecuteWithScript(**conn, first, 2);
  // Whatever happens next, the connection goes back to the pool without a WATCH.
  bool watching = true;
  absl::Cleanup unwatch = [&] {
    if (watching) (void)(*conn)->Command({"UNWATCH"});
  };
  if (!replies.ok()) return replies.status();
  const RedisReply& mget = (*replies)[1];
  if (mget.type != RedisReply::Type::kArray || mget.elements.size() != version_keys.size()) {
    return absl::InternalError("redis: unexpected MGET reply");
  }
  std::vector<PublishOutcome> out(plans.size());
  std::vector<size_t> to_write;
  size_t script_reply = 2;
  for (size_t i = 0; i < plans.size(); ++i) {
    const PublishPlan& plan = plans[i];
    if (!plan.event.idempotency_key().empty()) {
      auto outcome = ParseOutcome((*replies)[script_reply++], plan);
      if (!outcome.ok()) return outcome.status();
      out[i] = *std::move(outcome);
      continue;
    }
    const RedisReply& v = mget.elements[version_of[i]];
    long long current = 0;
    if (!v.is_nil() && !absl::SimpleAtoi(v.str, &current)) {
      return absl::InternalError("redis: hook version is not a number");
    }
    if (current != plan.expected_version) {
      out[i].kind = PublishOutcome::Kind::kStaleVersion;
      out[i].current_version = current;
    } else {
      to_write.push_back(i);
    }
  }
  if (to_write.empty()) return out;
  // Round trip 2: the writes of every plan whose version held, in one transaction that
  // Redis refuses if a watched version changed since round trip 1.
  Pipeline second;
  second.Add({"MULTI"});
  for (size_t i : to_write) AddWrites(keys_, options_, plans[i], now, &second);
  second.Add({"EXEC"});
  auto written = (*conn)->Execute(second);
  if (!written.ok()) return written.status();
  watching = false;  // EXEC ends the WATCH, committed or not
  const RedisReply& exec = written->back();
  if (exec.is_error()) return exec.ToStatus();
  const bool committed = !exec.is_nil();
  for (const RedisReply& r : exec.elements) {
    if (r.is_error()) return r.ToStatus();
  }
  for (size_t i : to_write) {
    if (committed) {
      out[i].kind = PublishOutcome::Kind::kPublished;
      out[i].event_id = plans[i].event.id();
      for (const PlannedDelivery& d : plans[i].deliveries) {
        out[i].delivery_ids.push_back(d.delivery_id);
      }
    } else {  // a version moved in between: the caller plans again
      out[i].kind = PublishOutcome::Kind::kStaleVersion;
      out[i].current_version = -1;
    }
  }
  return out;
}

// Runs `p`; if Redis lost its script cache (a restart), loads the publish script and runs
// `p` again. Script calls come after the first `script_from` commands.
absl::StatusOr<std::vector<RedisReply>> EventStore::ExecuteWithScript(RedisConnection& conn,
                                                                      const Pipeline& p,
                                                                      size_t script_from) {
  auto replies = conn.Execute(p);
  if (!replies.ok()) return replies.status();
  const bool lost = replies->size() > script_from && (*replies)[script_from].is_error() &&
                    absl::StartsWith((*replies)[script_from].str, "NOSCRIPT");
  if (!lost) return replies;
  auto loaded = conn.Command({"SCRIPT", "LOAD", PublishScript().source()});
  if (!loaded.ok()) return loaded.status();
  return conn.Execute(p);
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
