#include "libs/queue/task_reader.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::queue {
namespace {

using store::KeySchema;
using store::RedisReply;

// Appends the entries of an XREADGROUP reply ([[stream, [[id, [field, value...]]...]]]).
void AppendRead(const RedisReply& reply, int shard, std::vector<StreamEntry>* out) {
  for (const RedisReply& stream : reply.elements) {
    if (stream.elements.size() != 2) continue;
    for (const RedisReply& entry : stream.elements[1].elements) {
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
}

}  // namespace

absl::Status TaskReaderOptions::Validate() const {
  if (consumer.empty()) return absl::InvalidArgumentError("consumer_name: must be set");
  if (batch_size < 1 || batch_size > 10000) {
    return absl::InvalidArgumentError("batch_size: must be in [1, 10000]");
  }
  if (quiet_batch < 1 || quiet_batch > batch_size) {
    return absl::InvalidArgumentError("quiet_batch: must be in [1, batch_size]");
  }
  if (block < absl::Milliseconds(1) || block >= redis.command_timeout) {
    return absl::InvalidArgumentError(
        "read_block: must be at least 1ms and below the command timeout");
  }
  return redis.Validate();
}

TaskReader::TaskReader(const KeySchema& keys, TaskReaderOptions options)
    : keys_(keys), options_(std::move(options)), shards_(static_cast<size_t>(keys.shards())) {}

TaskReader::~TaskReader() = default;

void TaskReader::Wake() { wake_.Notify(); }

absl::Status TaskReader::Issue(int s, int count, bool counted) {
  Shard& shard = shards_[static_cast<size_t>(s)];
  if (shard.conn == nullptr) {
    auto conn = store::RedisConnection::Connect(options_.redis);
    if (!conn.ok()) return conn.status();
    shard.conn = *std::move(conn);
  }
  store::Pipeline p;
  p.Add({"XREADGROUP", "GROUP", KeySchema::kGroup, options_.consumer, "COUNT",
         std::to_string(count), "BLOCK", std::to_string(absl::ToInt64Milliseconds(options_.block)),
         "STREAMS", keys_.Stream(s), ">"});
  if (absl::Status st = shard.conn->Send(p); !st.ok()) {
    shard.conn.reset();
    return st;
  }
  shard.asked = count;
  shard.counted = counted;
  if (counted) outstanding_ += count;
  return absl::OkStatus();
}

absl::Status TaskReader::Collect(int s, std::vector<StreamEntry>* out) {
  Shard& shard = shards_[static_cast<size_t>(s)];
  if (shard.counted) outstanding_ -= shard.asked;
  const int asked = std::exchange(shard.asked, 0);
  auto reply = shard.conn->Receive(1);
  if (!reply.ok()) {
    shard.conn.reset();
    shard.busy = false;
    return reply.status();
  }
  const RedisReply& r = (*reply)[0];
  if (r.is_error()) {
    shard.busy = false;
    // The group vanishes when the stream key is deleted (FLUSHALL, a restart without AOF).
    if (absl::StartsWith(r.str, "NOGROUP")) return TaskQueue(*shard.conn, keys_).EnsureGroups();
    return r.ToStatus();
  }
  const size_t before = out->size();
  AppendRead(r, s, out);
  shard.busy = static_cast<int>(out->size() - before) >= asked;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StreamEntry>> TaskReader::Read(int room, absl::Duration wait) {
  absl::Status failed;
  const int n = keys_.shards();
  int busy_idle = 0;  // busy shards without a read out
  for (const Shard& s : shards_) busy_idle += s.busy && s.asked == 0;
  int budget = room - outstanding_;
  for (int k = 0; k < n; ++k) {
    const int s = (next_ + k) % n;
    const Shard& shard = shards_[static_cast<size_t>(s)];
    if (shard.asked > 0) continue;
    int count = options_.quiet_batch;
    if (shard.busy) {
      count = std::min(options_.batch_size, budget / std::max(1, busy_idle--));
      if (count < 1) continue;
      budget -= count;
    }
    if (absl::Status st = Issue(s, count, shard.busy); !st.ok()) failed = st;
  }
  next_ = (next_ + 1) % n;
  std::vector<store::RedisConnection*> conns;
  std::vector<int> which;
  for (int s = 0; s < n; ++s) {
    if (shards_[static_cast<size_t>(s)].asked == 0) continue;
    conns.push_back(shards_[static_cast<size_t>(s)].conn.get());
    which.push_back(s);
  }
  std::vector<StreamEntry> out;
  for (size_t i : store::RedisConnection::WaitReadable(conns, &wake_, wait)) {
    if (absl::Status st = Collect(which[i], &out); !st.ok()) failed = st;
  }
  wake_.Clear();
  if (out.empty() && !failed.ok()) return failed;
  return out;
}

std::vector<StreamEntry> TaskReader::Drain() {
  std::vector<StreamEntry> out;
  const absl::Time deadline = absl::Now() + options_.block + absl::Milliseconds(200);
  auto out_any = [&] {
    for (const Shard& s : shards_) {
      if (s.asked > 0) return true;
    }
    return false;
  };
  while (out_any() && absl::Now() < deadline) {
    std::vector<store::RedisConnection*> conns;
    std::vector<int> which;
    for (int s = 0; s < keys_.shards(); ++s) {
      if (shards_[static_cast<size_t>(s)].asked == 0) continue;
      conns.push_back(shards_[static_cast<size_t>(s)].conn.get());
      which.push_back(s);
    }
    for (size_t i : store::RedisConnection::WaitReadable(conns, nullptr, deadline - absl::Now())) {
      (void)Collect(which[i], &out);
    }
  }
  return out;
}

}  // namespace hookrelay::queue
