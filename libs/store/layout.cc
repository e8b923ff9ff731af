#include "libs/store/layout.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hookrelay::store {
namespace {

constexpr absl::string_view kShardsField = "shards";
constexpr absl::string_view kLayoutField = "layout";

// The shard count recorded in <p>meta, or 0 when none is.
absl::StatusOr<int> RecordedShards(RedisConnection& conn, const KeySchema& keys) {
  auto reply = conn.Command({"HGET", keys.Meta(), kShardsField});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return 0;
  int shards = 0;
  if (!absl::SimpleAtoi(reply->str, &shards) || shards < 1) {
    return absl::DataLossError(absl::StrCat(keys.Meta(), ": shards is not a count: ", reply->str));
  }
  return shards;
}

absl::Status Mismatch(const KeySchema& keys, int recorded) {
  return absl::FailedPreconditionError(absl::StrCat(
      "shards: this Redis holds a deployment of ", recorded, " shards (", keys.Meta(),
      "), but this process was started with --shards=", keys.shards(),
      "; every registry and worker of a deployment must use the same count: start it with "
      "--shards=",
      recorded));
}

// A key of the unsharded layout's tenant keys: "<p>{<tenant>}:version".
bool IsLegacyTenantKey(absl::string_view key, absl::string_view prefix) {
  if (!absl::ConsumePrefix(&key, prefix) || !absl::ConsumePrefix(&key, "{")) return false;
  const size_t close = key.find('}');
  return close != absl::string_view::npos && key.substr(close) == "}:version";
}

}  // namespace

absl::StatusOr<bool> HasLegacyLayout(RedisConnection& conn, const KeySchema& keys) {
  const std::string& p = keys.prefix();
  Pipeline exists;  // one key per command: they lie in different hash slots
  for (const char* key : {"stream", "retry", "apikeys"}) {
    exists.Add({"EXISTS", absl::StrCat(p, key)});
  }
  auto found = conn.Execute(exists);
  if (!found.ok()) return found.status();
  for (const RedisReply& r : *found) {
    if (r.is_error()) return r.ToStatus();
    if (r.integer > 0) return true;
  }
  // The unsharded layout spanned hash slots in one script: it never ran on a cluster (where
  // SCAN would see one node only).
  if (conn.cluster()) return false;
  const std::string match = absl::StrCat(p, "{*}:version");
  std::string cursor = "0";
  do {
    auto page = conn.Command({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
    if (!page.ok()) return page.status();
    if (page->elements.size() != 2) return absl::InternalError("redis: unexpected SCAN reply");
    cursor = page->elements[0].str;
    for (const RedisReply& key : page->elements[1].elements) {
      if (IsLegacyTenantKey(key.str, p)) return true;
    }
  } while (cursor != "0");
  return false;
}

absl::Status RecordLayout(RedisConnection& conn, const KeySchema& keys) {
  Pipeline p;
  p.Add({"HSETNX", keys.Meta(), kShardsField, std::to_string(keys.shards())});
  p.Add({"HSET", keys.Meta(), kLayoutField, std::to_string(KeySchema::kLayout)});
  auto replies = conn.Execute(p);
  if (!replies.ok()) return replies.status();
  for (const RedisReply& r : *replies) {
    if (r.is_error()) return r.ToStatus();
  }
  auto recorded = RecordedShards(conn, keys);  // a concurrent first start may have won
  if (!recorded.ok()) return recorded.status();
  return *recorded == keys.shards() ? absl::OkStatus() : Mismatch(keys, *recorded);
}

absl::Status EnsureLayout(RedisConnection& conn, const KeySchema& keys) {
  auto recorded = RecordedShards(conn, keys);
  if (!recorded.ok()) return recorded.status();
  if (*recorded != 0)
    return *recorded == keys.shards() ? absl::OkStatus() : Mismatch(keys, *recorded);
  auto legacy = HasLegacyLayout(conn, keys);
  if (!legacy.ok()) return legacy.status();
  if (*legacy) {
    return absl::FailedPreconditionError(absl::StrCat(
        "redis: this Redis holds hookrelay data in the unsharded layout of earlier releases "
        "(keys under \"",
        keys.prefix(),
        "\"); nothing was changed. Stop every registry and worker of the old release, run "
        "`delivery-worker --migrate_layout` once with the same --redis_url, --key_prefix and "
        "--shards (it moves hooks, events, records, pending deliveries and retries into the "
        "sharded layout), then start this release"));
  }
  return RecordLayout(conn, keys);
}

}  // namespace hookrelay::store
