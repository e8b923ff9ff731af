#include "libs/queue/migrate.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/queue/task_queue.h"
#include "libs/store/layout.h"

namespace hookrelay::queue {
namespace {

using store::Pipeline;
using store::RedisReply;

constexpr int kScanCount = 1000;
constexpr int kRangeCount = 1000;

// The kinds of tenant keys layout 1 had: "<p>{<tenant>}:<kind>...".
bool IsLegacyTenantSuffix(absl::string_view suffix) {
  for (absl::string_view kind : {"version", "hooks", "hook:", "evt:", "idem:", "dlv:"}) {
    if (absl::StartsWith(suffix, kind)) return true;
  }
  return false;
}

// Calls `each(key)` for every key matching `match`, a page at a time.
template <typename Each>
absl::Status Scan(store::RedisConnection& conn, const std::string& match, Each each) {
  std::string cursor = "0";
  do {
    auto page = conn.Command({"SCAN", cursor, "MATCH", match, "COUNT", std::to_string(kScanCount)});
    if (!page.ok()) return page.status();
    if (page->elements.size() != 2) return absl::InternalError("redis: unexpected SCAN reply");
    cursor = page->elements[0].str;
    Pipeline renames;
    for (const RedisReply& key : page->elements[1].elements) each(key.str, &renames);
    auto replies = conn.Execute(renames);
    if (!replies.ok()) return replies.status();
    for (const RedisReply& r : *replies) {
      // A key that expired between SCAN and RENAME is simply gone.
      if (r.is_error() && !absl::StrContains(r.str, "no such key")) return r.ToStatus();
    }
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::Status MoveTenantKeys(store::RedisConnection& conn, const store::KeySchema& keys,
                            MigrationReport* report) {
  const std::string& prefix = keys.prefix();
  return Scan(conn, absl::StrCat(prefix, "{*"), [&](absl::string_view key, Pipeline* p) {
    absl::string_view rest = key;
    if (!absl::ConsumePrefix(&rest, prefix) || !absl::ConsumePrefix(&rest, "{")) return;
    const size_t close = rest.find("}:");
    if (close == absl::string_view::npos) return;
    const absl::string_view tenant = rest.substr(0, close);
    const absl::string_view suffix = rest.substr(close + 2);
    if (!IsLegacyTenantSuffix(suffix)) return;  // a key of the sharded layout
    p->Add({"RENAME", key, keys.TenantKey(tenant, suffix)});
    ++report->tenant_keys;
  });
}

absl::Status MoveApiKeys(store::RedisConnection& conn, const store::KeySchema& keys,
                         MigrationReport* report) {
  const std::string& prefix = keys.prefix();
  absl::Status st =
      Scan(conn, absl::StrCat(prefix, "apikey:*"), [&](absl::string_view key, Pipeline* p) {
        absl::string_view digest = key;
        absl::ConsumePrefix(&digest, absl::StrCat(prefix, "apikey:"));
        p->Add({"RENAME", key, keys.ApiKey(digest)});
        ++report->api_keys;
      });
  if (!st.ok()) return st;
  auto moved = conn.Command({"RENAMENX", absl::StrCat(prefix, "apikeys"), keys.ApiKeys()});
  if (!moved.ok() && !absl::StrContains(moved.status().message(), "no such key")) {
    return moved.status();
  }
  return absl::OkStatus();
}

// The shard of a serialized task, or -1 when it holds none.
int ShardOfTask(const store::KeySchema& keys, const std::string& task) {
  v1::DeliveryTask t;
  if (!t.ParseFromString(task) || t.tenant().empty()) return -1;
  return keys.ShardOf(t.tenant());
}

// The ids pending in the old group, and the last id it handed out ("" when there is no group).
absl::Status ReadGroup(store::RedisConnection& conn, const std::string& stream,
                       absl::flat_hash_set<std::string>* pending, std::string* last_delivered) {
  auto groups = conn.Command({"XINFO", "GROUPS", stream});
  if (!groups.ok()) return groups.status();
  for (const RedisReply& g : groups->elements) {
    bool ours = false;
    std::string last;
    for (size_t i = 0; i + 1 < g.elements.size(); i += 2) {
      if (g.elements[i].str == "name") ours = g.elements[i + 1].str == store::KeySchema::kGroup;
      if (g.elements[i].str == "last-delivered-id") last = g.elements[i + 1].str;
    }
    if (ours) *last_delivered = last;
  }
  if (last_delivered->empty()) return absl::OkStatus();
  auto list = conn.Command({"XPENDING", stream, store::KeySchema::kGroup, "-", "+", "1000000000"});
  if (!list.ok()) return list.status();
  for (const RedisReply& p : list->elements) {
    if (!p.elements.empty()) pending->insert(p.elements[0].str);
  }
  return absl::OkStatus();
}

// Stream ids "<ms>-<seq>" in order.
bool IdAfter(absl::string_view a, absl::string_view b) {
  auto split = [](absl::string_view id) {
    const size_t dash = id.find('-');
    unsigned long long ms = 0, seq = 0;
    (void)absl::SimpleAtoi(id.substr(0, dash), &ms);
    if (dash != absl::string_view::npos) (void)absl::SimpleAtoi(id.substr(dash + 1), &seq);
    return std::make_pair(ms, seq);
  };
  return split(a) > split(b);
}

absl::Status MoveStream(store::RedisConnection& conn, const store::KeySchema& keys,
                        MigrationReport* report) {
  const std::string stream = absl::StrCat(keys.prefix(), "stream");
  auto exists = conn.Command({"EXISTS", stream});
  if (!exists.ok()) return exists.status();
  if (exists->integer == 0) return absl::OkStatus();
  absl::flat_hash_set<std::string> pending;
  std::string last_delivered;
  if (absl::Status st = ReadGroup(conn, stream, &pending, &last_delivered); !st.ok()) return st;
  std::string start = "-";
  while (true) {
    auto range = conn.Command({"XRANGE", stream, start, "+", "COUNT", std::to_string(kRangeCount)});
    if (!range.ok()) return range.status();
    if (range->elements.empty()) break;
    Pipeline adds;
    for (const RedisReply& entry : range->elements) {
      if (entry.elements.size() != 2) continue;
      const std::string& id = entry.elements[0].str;
      start = absl::StrCat("(", id);
      const bool unacked =
          last_delivered.empty() || pending.contains(id) || IdAfter(id, last_delivered);
      if (!unacked) continue;
      const auto& fields = entry.elements[1].elements;
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].str != store::KeySchema::kTaskField) continue;
        const int shard = ShardOfTask(keys, fields[i + 1].str);
        if (shard < 0) {
          ++report->dropped;
          continue;
        }
        AddTask(keys, shard, fields[i + 1].str, &adds);
        ++report->tasks;
      }
    }
    auto replies = conn.Execute(adds);
    if (!replies.ok()) return replies.status();
    for (const RedisReply& r : *replies) {
      if (r.is_error()) return r.ToStatus();
    }
  }
  return conn.Command({"DEL", stream}).status();
}

absl::Status MoveRetries(store::RedisConnection& conn, const store::KeySchema& keys,
                         MigrationReport* report) {
  const std::string retry = absl::StrCat(keys.prefix(), "retry");
  auto all = conn.Command({"ZRANGE", retry, "0", "-1", "WITHSCORES"});
  if (!all.ok()) return all.status();
  Pipeline adds;
  for (size_t i = 0; i + 1 < all->elements.size(); i += 2) {
    const std::string& task = all->elements[i].str;
    const int shard = ShardOfTask(keys, task);
    if (shard < 0) {
      ++report->dropped;
      continue;
    }
    adds.Add({"ZADD", keys.RetrySet(shard), all->elements[i + 1].str, task});
    ++report->retries;
  }
  auto replies = conn.Execute(adds);
  if (!replies.ok()) return replies.status();
  for (const RedisReply& r : *replies) {
    if (r.is_error()) return r.ToStatus();
  }
  return conn.Command({"DEL", retry}).status();
}

}  // namespace

absl::StatusOr<MigrationReport> MigrateLegacyLayout(store::RedisConnection& conn,
                                                    const store::KeySchema& keys) {
  auto recorded = conn.Command({"HGET", keys.Meta(), "shards"});
  if (!recorded.ok()) return recorded.status();
  if (!recorded->is_nil() && recorded->str != std::to_string(keys.shards())) {
    return absl::FailedPreconditionError(
        absl::StrCat("shards: this Redis is set up with ", recorded->str,
                     " shards; migrate with --shards=", recorded->str));
  }
  MigrationReport report;
  if (absl::Status st = MoveTenantKeys(conn, keys, &report); !st.ok()) return st;
  if (absl::Status st = MoveApiKeys(conn, keys, &report); !st.ok()) return st;
  if (absl::Status st = MoveStream(conn, keys, &report); !st.ok()) return st;
  if (absl::Status st = MoveRetries(conn, keys, &report); !st.ok()) return st;
  if (absl::Status st = store::RecordLayout(conn, keys); !st.ok()) return st;
  return report;
}

}  // namespace hookrelay::queue
