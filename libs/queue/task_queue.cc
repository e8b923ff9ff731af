#include "libs/queue/task_queue.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/queue/ordered.h"
#include "libs/store/delivery_store.h"

namespace hookrelay::queue {
namespace {

using store::KeySchema;
using store::Pipeline;
using store::RedisReply;

// KEYS: retry set, stream. ARGV: now ms, limit, task field.
const store::RedisScript& PromoteScript() {
  static const auto* script = new store::RedisScript(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, task in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', ARGV[3], task)
  redis.call('ZREM', KEYS[1], task)
end
return #due
)lua");
  return *script;
}

// KEYS: lease. ARGV: holder, ttl ms. Takes the lease when free or already ours.
const store::RedisScript& LeaseScript() {
  static const auto* script = new store::RedisScript(R"lua(
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
)lua");
  return *script;
}

// Appends the entries of an XREADGROUP/XCLAIM entry list ([[id, [field, value, ...]], ...]).
// Entries deleted meanwhile come back as nil and are skipped.
void AppendEntries(const RedisReply& list, int shard, std::vector<StreamEntry>* out) {
  for (const RedisReply& entry : list.elements) {
    if (entry.elements.size() != 2) continue;
    StreamEntry e;
    e.shard = shard;
    e.id = entry.elements[0].str;
    const auto& fields = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str == KeySchema::kTaskField) e.task = fields[i + 1].str;
    }
    out->push_back(std::move(e));
  }
}

// The fields of our group in an XINFO GROUPS reply, as name → reply; empty when the stream
// or the group does not exist.
std::vector<std::pair<std::string, const RedisReply*>> OurGroup(const RedisReply& groups) {
  std::vector<std::pair<std::string, const RedisReply*>> fields;
  for (const RedisReply& g : groups.elements) {
    fields.clear();
    bool ours = false;
    for (size_t i = 0; i + 1 < g.elements.size(); i += 2) {
      fields.emplace_back(g.elements[i].str, &g.elements[i + 1]);
      if (g.elements[i].str == "name") ours = g.elements[i + 1].str == KeySchema::kGroup;
    }
    if (ours) return fields;
  }
  return {};
}

const RedisReply* Field(const std::vector<std::pair<std::string, const RedisReply*>>& fields,
                        absl::string_view name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return nullptr;
}

}  // namespace

void AddTask(const KeySchema& keys, int shard, absl::string_view task, Pipeline* p) {
  p->Add({"XADD", keys.Stream(shard), "*", KeySchema::kTaskField, task});
}

void AddAck(const KeySchema& keys, int shard, absl::Span<const absl::string_view> entry_ids,
            Pipeline* p) {
  if (entry_ids.empty()) return;
  const std::string stream = keys.Stream(shard);
  std::vector<absl::string_view> argv = {"XACK", stream, KeySchema::kGroup};
  argv.insert(argv.end(), entry_ids.begin(), entry_ids.end());
  p->Add(absl::MakeConstSpan(argv));
}

void AddRetry(const KeySchema& keys, int shard, absl::Time due, absl::string_view task,
              Pipeline* p) {
  p->Add({"ZADD", keys.RetrySet(shard), std::to_string(absl::ToUnixMillis(due)), task});
}

absl::Status RequeueAll(store::RedisConnection& conn, const KeySchema& keys,
                        absl::string_view tenant, absl::Span<const Requeue> items, absl::Time now) {
  if (items.empty()) return absl::OkStatus();
  const int shard = keys.ShardOf(tenant);
  Pipeline p;
  p.BeginTransaction();
  for (const Requeue& r : items) {
    store::AddRequeuedStatus(keys, tenant, r.delivery_id, now, &p);
    if (r.ordering_key.empty()) {
      AddTask(keys, shard, r.task, &p);
    } else {
      AddOrderedRequeue(keys, {std::string(tenant), r.webhook_id, r.ordering_key, r.delivery_id},
                        r.task, &p);
    }
  }
  p.EndTransaction();
  auto replies = conn.Execute(p);
  if (!replies.ok()) return replies.status();
  const RedisReply& exec = replies->back();
  if (exec.is_error()) return exec.ToStatus();
  for (const RedisReply& r : exec.elements) {
    if (r.is_error()) return r.ToStatus();
  }
  return absl::OkStatus();
}

absl::Status TaskQueue::EnsureGroups() {
  Pipeline p;
  for (int s = 0; s < keys_.shards(); ++s) {
    p.Add({"XGROUP", "CREATE", keys_.Stream(s), KeySchema::kGroup, "0", "MKSTREAM"});
  }
  auto replies = conn_.Execute(p);
  if (!replies.ok()) return replies.status();
  for (const RedisReply& r : *replies) {
    if (r.is_error() && !absl::StartsWith(r.str, "BUSYGROUP")) return r.ToStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<int> TaskQueue::PromoteDue(absl::Time now, int limit) {
  const std::string a[] = {std::to_string(absl::ToUnixMillis(now)), std::to_string(limit),
                           std::string(KeySchema::kTaskField)};
  Pipeline p;
  for (int s = 0; s < keys_.shards(); ++s) {
    const std::string k[] = {keys_.RetrySet(s), keys_.Stream(s)};
    p.AddEval(PromoteScript(), k, a);
  }
  auto replies = conn_.Execute(p);
  if (!replies.ok()) return replies.status();
  int moved = 0;
  for (const RedisReply& r : *replies) {
    if (r.is_error()) return r.ToStatus();
    moved += static_cast<int>(r.integer);
  }
  return moved;
}

absl::StatusOr<std::vector<StreamEntry>> TaskQueue::ClaimIdle(int shard,
                                                              const std::string& consumer,
                                                              absl::Duration idle, int count) {
  const std::string stream = keys_.Stream(shard);
  const std::string idle_ms = std::to_string(absl::ToInt64Milliseconds(idle));
  auto pending = conn_.Command(
      {"XPENDING", stream, KeySchema::kGroup, "IDLE", idle_ms, "-", "+", std::to_string(count)});
  if (!pending.ok()) return pending.status();
  std::vector<std::string> claim = {"XCLAIM", stream, std::string(KeySchema::kGroup), consumer,
                                    idle_ms};
  std::vector<long long> deliveries;
  for (const RedisReply& p : pending->elements) {
    if (p.elements.size() != 4 || p.elements[1].str == consumer) continue;
    claim.push_back(p.elements[0].str);
    deliveries.push_back(p.elements[3].integer);
  }
  std::vector<StreamEntry> out;
  if (deliveries.empty()) return out;
  auto claimed = conn_.Command(absl::MakeConstSpan(claim));
  if (!claimed.ok()) return claimed.status();
  AppendEntries(*claimed, shard, &out);
  for (StreamEntry& e : out) {
    for (size_t i = 0; i < deliveries.size(); ++i) {
      if (claim[5 + i] == e.id) e.deliveries = deliveries[i] + 1;
    }
  }
  return out;
}

absl::StatusOr<int> TaskQueue::RemoveIdleConsumers(int shard, const std::string& consumer,
                                                   absl::Duration idle) {
  const std::string stream = keys_.Stream(shard);
  auto consumers = conn_.Command({"XINFO", "CONSUMERS", stream, KeySchema::kGroup});
  if (!consumers.ok()) return consumers.status();
  Pipeline del;
  for (const RedisReply& c : consumers->elements) {
    std::string name;
    long long pending = -1, idle_ms = 0;
    for (size_t i = 0; i + 1 < c.elements.size(); i += 2) {
      const std::string& k = c.elements[i].str;
      if (k == "name") name = c.elements[i + 1].str;
      if (k == "pending") pending = c.elements[i + 1].integer;
      if (k == "idle") idle_ms = c.elements[i + 1].integer;
    }
    if (name.empty() || name == consumer || pending != 0 || absl::Milliseconds(idle_ms) < idle) {
      continue;
    }
    del.Add({"XGROUP", "DELCONSUMER", stream, KeySchema::kGroup, name});
  }
  auto replies = conn_.Execute(del);
  if (!replies.ok()) return replies.status();
  for (const RedisReply& r : *replies) {
    if (r.is_error()) return r.ToStatus();
  }
  return static_cast<int>(replies->size());
}

// Deletes acknowledged entries: everything below the oldest pending entry, or below the last
// entry handed out when none is pending. The last-delivered id is read before XPENDING: read
// after it, entries handed out in between (pending, not yet acknowledged) would fall below it
// and be trimmed, and a worker crashing on them would lose them.
absl::Status TaskQueue::Trim(int shard) {
  const std::string stream = keys_.Stream(shard);
  auto groups = conn_.Command({"XINFO", "GROUPS", stream});
  if (!groups.ok()) return groups.status();
  const auto fields = OurGroup(*groups);
  const RedisReply* last = Field(fields, "last-delivered-id");
  if (last == nullptr) return absl::OkStatus();
  const std::string last_delivered = last->str;
  auto pending = conn_.Command({"XPENDING", stream, KeySchema::kGroup});
  if (!pending.ok()) return pending.status();
  if (pending->elements.size() < 2) return absl::InternalError("redis: unexpected XPENDING reply");
  // Every entry below the oldest pending one was handed out and acknowledged.
  const std::string min_id =
      pending->elements[0].integer == 0 ? last_delivered : pending->elements[1].str;
  if (min_id.empty() || min_id == "0-0") return absl::OkStatus();
  return conn_.Command({"XTRIM", stream, "MINID", min_id}).status();
}

absl::StatusOr<std::vector<ShardStats>> TaskQueue::Stats() {
  Pipeline p;
  for (int s = 0; s < keys_.shards(); ++s) {
    p.Add({"XINFO", "GROUPS", keys_.Stream(s)});
    p.Add({"ZCARD", keys_.RetrySet(s)});
  }
  auto replies = conn_.Execute(p);
  if (!replies.ok()) return replies.status();
  std::vector<ShardStats> out(static_cast<size_t>(keys_.shards()));
  for (size_t s = 0; s < out.size(); ++s) {
    const RedisReply& groups = (*replies)[2 * s];
    const RedisReply& retries = (*replies)[2 * s + 1];
    if (retries.is_error()) return retries.ToStatus();
    out[s].retries = retries.integer;
    if (groups.is_error()) continue;  // no stream yet
    const auto fields = OurGroup(groups);
    if (const RedisReply* v = Field(fields, "pending")) out[s].pending = v->integer;
    if (const RedisReply* v = Field(fields, "lag")) out[s].lag = v->integer;
  }
  return out;
}

absl::StatusOr<bool> TaskQueue::TryLease(int shard, const std::string& holder, absl::Duration ttl) {
  const std::string k[] = {keys_.MaintenanceLease(shard)};
  const std::string a[] = {holder, std::to_string(absl::ToInt64Milliseconds(ttl))};
  auto reply = conn_.Eval(LeaseScript(), k, a);
  if (!reply.ok()) return reply.status();
  return reply->integer == 1;
}

}  // namespace hookrelay::queue
