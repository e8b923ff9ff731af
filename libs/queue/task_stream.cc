#include "libs/queue/task_stream.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::queue {
namespace {

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

// Appends the entries of an XREADGROUP/XCLAIM entry list ([[id, [field, value, ...]], ...]).
// Entries deleted meanwhile come back as nil and are skipped.
void AppendEntries(const RedisReply& list, std::vector<StreamEntry>* out) {
  for (const RedisReply& entry : list.elements) {
    if (entry.elements.size() != 2) continue;
    StreamEntry e;
    e.id = entry.elements[0].str;
    const auto& fields = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str == store::KeySchema::kTaskField) e.task = fields[i + 1].str;
    }
    out->push_back(std::move(e));
  }
}

}  // namespace

absl::Status TaskStream::EnsureGroup() {
  auto reply = conn_.Command(
      {"XGROUP", "CREATE", keys_.Stream(), store::KeySchema::kGroup, "0", "MKSTREAM"});
  if (!reply.ok() && !absl::StrContains(reply.status().message(), "BUSYGROUP")) {
    return reply.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StreamEntry>> TaskStream::Read(int count, absl::Duration block) {
  auto reply = conn_.Command(
      {"XREADGROUP", "GROUP", store::KeySchema::kGroup, consumer_, "COUNT", std::to_string(count),
       "BLOCK", std::to_string(absl::ToInt64Milliseconds(block)), "STREAMS", keys_.Stream(), ">"});
  if (!reply.ok()) {
    // The group vanishes if the stream key was deleted (FLUSHALL, a restart without AOF).
    if (absl::StrContains(reply.status().message(), "NOGROUP")) {
      absl::Status st = EnsureGroup();
      if (!st.ok()) return st;
      return std::vector<StreamEntry>();
    }
    return reply.status();
  }
  std::vector<StreamEntry> out;
  if (reply->is_nil()) return out;
  for (const RedisReply& stream : reply->elements) {
    if (stream.elements.size() == 2) AppendEntries(stream.elements[1], &out);
  }
  return out;
}

absl::StatusOr<std::vector<StreamEntry>> TaskStream::ClaimIdle(absl::Duration idle, int count) {
  const std::string idle_ms = std::to_string(absl::ToInt64Milliseconds(idle));
  auto pending = conn_.Command({"XPENDING", keys_.Stream(), store::KeySchema::kGroup, "IDLE",
                                idle_ms, "-", "+", std::to_string(count)});
  if (!pending.ok()) return pending.status();
  std::vector<std::string> claim = {"XCLAIM", keys_.Stream(), std::string(store::KeySchema::kGroup),
                                    consumer_, idle_ms};
  std::vector<long long> deliveries;
  for (const RedisReply& p : pending->elements) {
    if (p.elements.size() != 4 || p.elements[1].str == consumer_) continue;
    claim.push_back(p.elements[0].str);
    deliveries.push_back(p.elements[3].integer);
  }
  std::vector<StreamEntry> out;
  if (deliveries.empty()) return out;
  auto claimed = conn_.Command(absl::MakeConstSpan(claim));
  if (!claimed.ok()) return claimed.status();
  AppendEntries(*claimed, &out);
  for (StreamEntry& e : out) {
    for (size_t i = 0; i < deliveries.size(); ++i) {
      if (claim[5 + i] == e.id) e.deliveries = deliveries[i] + 1;
    }
  }
  return out;
}

absl::StatusOr<int> TaskStream::RemoveIdleConsumers(absl::Duration idle) {
  auto consumers = conn_.Command({"XINFO", "CONSUMERS", keys_.Stream(), store::KeySchema::kGroup});
  if (!consumers.ok()) return consumers.status();
  int removed = 0;
  for (const RedisReply& c : consumers->elements) {
    std::string name;
    long long pending = -1, idle_ms = 0;
    for (size_t i = 0; i + 1 < c.elements.size(); i += 2) {
      const std::string& k = c.elements[i].str;
      if (k == "name") name = c.elements[i + 1].str;
      if (k == "pending") pending = c.elements[i + 1].integer;
      if (k == "idle") idle_ms = c.elements[i + 1].integer;
    }
    if (name.empty() || name == consumer_ || pending != 0 || absl::Milliseconds(idle_ms) < idle) {
      continue;
    }
    auto del =
        conn_.Command({"XGROUP", "DELCONSUMER", keys_.Stream(), store::KeySchema::kGroup, name});
    if (!del.ok()) return del.status();
    ++removed;
  }
  return removed;
}

void AddAck(const store::KeySchema& keys, absl::Span<const absl::string_view> entry_ids,
            store::Pipeline* p) {
  if (entry_ids.empty()) return;
  const std::string stream = keys.Stream();
  std::vector<absl::string_view> argv = {"XACK", stream, store::KeySchema::kGroup};
  argv.insert(argv.end(), entry_ids.begin(), entry_ids.end());
  p->Add(absl::MakeConstSpan(argv));
}

absl::StatusOr<int> PromoteDueRetries(store::RedisConnection& conn, const store::KeySchema& keys,
                                      absl::Time now, int limit) {
  const std::string k[] = {keys.RetrySet(), keys.Stream()};
  const std::string a[] = {std::to_string(absl::ToUnixMillis(now)), std::to_string(limit),
                           std::string(store::KeySchema::kTaskField)};
  auto reply = conn.Eval(PromoteScript(), k, a);
  if (!reply.ok()) return reply.status();
  return static_cast<int>(reply->integer);
}

}  // namespace hookrelay::queue
