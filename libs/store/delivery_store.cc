#include "libs/store/delivery_store.h"

#include <algorithm>
#include <cstdint>

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
  else if (k == dlv::kTest)
    d->set_test(n != 0);
}

// Index entries one listing call examines at most: kMaxScans reads of a chunk of at least
// kMinChunk entries.
constexpr int kMaxScans = 10;
constexpr long long kMinChunk = 64;

absl::Status BadCursor() {
  return absl::InvalidArgumentError("page_token: does not hold a delivery listing position");
}

// A hook listing's cursor, "<creation ms>:<delivery id>".
bool SplitHookCursor(absl::string_view cursor, std::string* score, std::string* id) {
  const size_t colon = cursor.find(':');
  int64_t ms = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(cursor.substr(0, colon), &ms)) {
    return false;
  }
  *score = std::to_string(ms);
  *id = std::string(cursor.substr(colon + 1));
  return !id->empty();
}

// KEYS[1]: a hook's delivery index. ARGV: cursor score ("" = from the newest), cursor id,
// count. Returns up to `count` entries after the cursor, newest first, as {id, score, ...}.
// The cursor's position is its entry's rank while the entry is there; once it is gone (the
// index loses entries only to retention, oldest scores first, so none of its score is left),
// the number of entries newer than its score. Atomic, so concurrent inserts cannot shift
// the position between the two reads.
const RedisScript& HookPageScript() {
  static const RedisScript* script = new RedisScript(R"lua(
local start = 0
if ARGV[1] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
  if rank then
    start = rank + 1
  else
    start = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
  end
end
return redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[3]) - 1, 'WITHSCORES')
)lua");
  return *script;
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

struct DeliveryStore::IndexEntry {
  std::string id;
  std::string cursor;  // the position just after this entry
};

absl::Status DeliveryStore::CheckParent(RedisConnection& conn, const DeliveryQuery& q) {
  const bool by_hook = !q.webhook_id.empty();
  auto exists = conn.Command(
      {"EXISTS", by_hook ? keys_.Hook(q.tenant, q.webhook_id) : keys_.Event(q.tenant, q.event_id)});
  if (!exists.ok()) return exists.status();
  if (exists->integer != 0) return absl::OkStatus();
  return absl::NotFoundError(by_hook ? absl::StrCat("webhook ", q.webhook_id, " not found")
                                     : absl::StrCat("event ", q.event_id, " not found"));
}

absl::StatusOr<std::vector<DeliveryStore::IndexEntry>> DeliveryStore::IndexRange(
    RedisConnection& conn, const DeliveryQuery& q, const std::string& after, long long count) {
  std::vector<IndexEntry> out;
  if (q.webhook_id.empty()) {  // an event's list: the cursor is the index of the next entry
    long long start = 0;
    if (!after.empty() && (!absl::SimpleAtoi(after, &start) || start < 0)) return BadCursor();
    auto reply = conn.Command({"LRANGE", keys_.EventDeliveries(q.tenant, q.event_id),
                               std::to_string(start), std::to_string(start + count - 1)});
    if (!reply.ok()) return reply.status();
    for (RedisReply& e : reply->elements) {
      out.push_back({std::move(e.str), std::to_string(++start)});
    }
    return out;
  }
  std::string score, id;
  if (!after.empty() && !SplitHookCursor(after, &score, &id)) return BadCursor();
  const std::string keys[] = {keys_.HookDeliveries(q.tenant, q.webhook_id)};
  const std::string args[] = {score, id, std::to_string(count)};
  auto reply = conn.Eval(HookPageScript(), keys, args);
  if (!reply.ok()) return reply.status();
  const int64_t since_ms =
      q.since == absl::InfinitePast() ? INT64_MIN : absl::ToUnixMillis(q.since);
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(reply->elements[i + 1].str, &ms) || ms < since_ms) break;
    out.push_back({reply->elements[i].str, absl::StrCat(ms, ":", reply->elements[i].str)});
  }
  return out;
}

absl::StatusOr<std::vector<std::optional<v1::Delivery>>> DeliveryStore::Summaries(
    RedisConnection& conn, absl::string_view tenant, const std::vector<IndexEntry>& entries) {
  Pipeline p;
  for (const IndexEntry& e : entries) {
    const std::string key = keys_.Delivery(tenant, e.id);
    std::vector<absl::string_view> argv = {"HMGET", key};
    argv.insert(argv.end(), std::begin(dlv::kSummary), std::end(dlv::kSummary));
    p.Add(absl::MakeConstSpan(argv));
  }
  auto records = conn.Execute(p);
  if (!records.ok()) return records.status();
  std::vector<std::optional<v1::Delivery>> out(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const RedisReply& r = (*records)[i];
    if (r.is_error() || r.elements.empty() || r.elements[0].is_nil()) continue;  // expired
    v1::Delivery& d = out[i].emplace(NewDelivery(tenant, entries[i].id));
    for (size_t f = 0; f < r.elements.size() && f < std::size(dlv::kSummary); ++f) {
      if (!r.elements[f].is_nil()) SetRecordField(dlv::kSummary[f], r.elements[f].str, &d);
    }
  }
  return out;
}

absl::StatusOr<DeliveryPage> DeliveryStore::List(const DeliveryQuery& q) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  if (absl::Status st = CheckParent(**conn, q); !st.ok()) return st;
  // One entry more than a page, so a full page sees whether anything follows it.
  const long long chunk = std::max<long long>(q.page_size + 1, kMinChunk);
  DeliveryPage page;
  std::string after = q.after;  // after the last entry examined
  std::string after_returned;   // after the last entry returned
  for (int scans = 0; scans < kMaxScans; ++scans) {
    auto entries = IndexRange(**conn, q, after, chunk);
    if (!entries.ok()) return entries.status();
    auto summaries = Summaries(**conn, q.tenant, *entries);
    if (!summaries.ok()) return summaries.status();
    for (size_t i = 0; i < entries->size(); ++i) {
      std::optional<v1::Delivery>& d = (*summaries)[i];
      const bool match =
          d.has_value() && (q.status == v1::DELIVERY_STATUS_UNSPECIFIED || d->status() == q.status);
      if (match && static_cast<int>(page.deliveries.size()) == q.page_size) {
        page.next_cursor = after_returned;  // more follow the full page
        return page;
      }
      if (match) {
        page.deliveries.push_back(*std::move(d));
        after_returned = (*entries)[i].cursor;
      }
      after = (*entries)[i].cursor;
    }
    if (static_cast<long long>(entries->size()) < chunk) return page;  // the index ended
  }
  page.next_cursor = after;  // examined enough for one call
  return page;
}

}  // namespace hookrelay::store
