#include "libs/queue/fan_out.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "libs/queue/task_queue.h"

namespace hookrelay::queue {
namespace {

using store::Pipeline;
using store::RedisReply;

// Idle publish connections kept per shard, and the tenants' versions each keeps watched.
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
  for (const store::NewDelivery& d : plan.deliveries) out.delivery_ids.push_back(d.delivery_id);
  return out;
}

absl::Status FirstError(const std::vector<RedisReply>& replies) {
  for (const RedisReply& r : replies) {
    if (r.is_error()) return r.ToStatus();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Durability::Validate() const {
  if (min_replicas < 0 || min_replicas > 16) {
    return absl::InvalidArgumentError("publish_min_replicas: must be in [0, 16]");
  }
  if (min_replicas > 0 && (timeout < absl::Milliseconds(1) || timeout > absl::Seconds(60))) {
    return absl::InvalidArgumentError("publish_replica_timeout: must be in [1ms, 60s]");
  }
  return absl::OkStatus();
}

FanOut::FanOut(store::RedisPool& pool, const store::KeySchema& keys,
               store::EventStoreOptions options, Durability durability)
    : pool_(pool),
      keys_(keys),
      options_(options),
      durability_(durability),
      armed_(static_cast<size_t>(keys.shards())) {}

FanOut::~FanOut() {
  for (auto& shard : armed_) {
    for (std::unique_ptr<Armed>& a : shard) {
      if (!a->versions.empty()) (void)a->conn->Command({"UNWATCH"});
    }
  }
}

absl::StatusOr<PublishOutcome> FanOut::Publish(const PublishPlan& plan, absl::Time now) {
  auto outcomes = PublishBatch(absl::MakeConstSpan(&plan, 1), now);
  return std::move(outcomes[0]);
}

absl::StatusOr<std::unique_ptr<FanOut::Armed>> FanOut::TakeArmed(int shard) {
  {
    std::lock_guard<std::mutex> lock(armed_mu_);
    auto& idle = armed_[static_cast<size_t>(shard)];
    if (!idle.empty()) {
      std::unique_ptr<Armed> a = std::move(idle.back());
      idle.pop_back();
      return a;
    }
  }
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return std::make_unique<Armed>(*std::move(conn));
}

void FanOut::GiveBack(int shard, std::unique_ptr<Armed> armed) {
  {
    std::lock_guard<std::mutex> lock(armed_mu_);
    auto& idle = armed_[static_cast<size_t>(shard)];
    if (idle.size() < kMaxIdleArmed) {
      idle.push_back(std::move(armed));
      return;
    }
  }
  // One too many: back to the shared pool, where a WATCH would make others' EXEC fail.
  if (!armed->versions.empty()) (void)armed->conn->Command({"UNWATCH"});
}

std::vector<absl::StatusOr<PublishOutcome>> FanOut::PublishBatch(
    absl::Span<const PublishPlan> plans, absl::Time now, bool all_or_nothing) {
  std::vector<ShardBatch> batches;
  {
    absl::flat_hash_map<int, size_t> of_shard;
    for (size_t i = 0; i < plans.size(); ++i) {
      const int shard = keys_.ShardOf(plans[i].event.tenant());
      auto [it, added] = of_shard.emplace(shard, batches.size());
      if (added) batches.emplace_back().shard = shard;
      ShardBatch& b = batches[it->second];
      b.index.push_back(i);
      b.plans.push_back(&plans[i]);
      b.version_keys.push_back(keys_.Version(plans[i].event.tenant()));
    }
  }
  for (ShardBatch& b : batches) {
    auto armed = TakeArmed(b.shard);
    if (armed.ok()) {
      b.armed = *std::move(armed);
    } else {
      b.status = armed.status();
    }
  }
  // Round trip 1, for the shards whose plans their connection does not watch: the read.
  std::vector<Pipeline> reads(batches.size());
  std::vector<Pipeline*> pipes(batches.size(), nullptr);
  for (size_t k = 0; k < batches.size(); ++k) {
    ShardBatch& b = batches[k];
    if (!b.status.ok()) continue;
    if (Watched(b)) {
      b.decided.outcomes.resize(b.plans.size());
      for (size_t i = 0; i < b.plans.size(); ++i) b.decided.to_write.push_back(i);
      continue;
    }
    PrepareRead(b, &reads[k]);
    pipes[k] = &reads[k];
  }
  RoundTrip(batches, pipes, [this](ShardBatch& b, const std::vector<RedisReply>& replies) {
    return FinishRead(b, replies);
  });
  // Round trip 2: the writes (none at all when one caller's batch has a conflict).
  bool conflict = false;
  for (const ShardBatch& b : batches) conflict |= b.status.ok() && b.decided.conflict;
  for (size_t k = 0; k < batches.size(); ++k) {
    ShardBatch& b = batches[k];
    if (!b.status.ok()) continue;
    PrepareWrite(b, now, all_or_nothing && conflict);
    pipes[k] = &b.armed->writes;
  }
  RoundTrip(batches, pipes, [this](ShardBatch& b, const std::vector<RedisReply>& replies) {
    return FinishWrite(b, replies);
  });
  std::vector<absl::StatusOr<PublishOutcome>> out(plans.size(), absl::UnknownError("unset"));
  for (ShardBatch& b : batches) {
    for (size_t i = 0; i < b.index.size(); ++i) {
      if (b.status.ok()) {
        out[b.index[i]] = std::move(b.decided.outcomes[i]);
      } else {
        out[b.index[i]] = b.status;
      }
    }
    if (b.armed == nullptr) continue;
    if (!b.status.ok()) {
      // What the connection watches is unknown now.
      b.armed->versions.clear();
      (void)b.armed->conn->Command({"UNWATCH"});
    }
    GiveBack(b.shard, std::move(b.armed));
  }
  return out;
}

template <typename Finish>
void FanOut::RoundTrip(std::vector<ShardBatch>& batches, std::vector<Pipeline*>& pipes,
                       Finish finish) {
  for (size_t k = 0; k < batches.size(); ++k) {
    if (pipes[k] == nullptr) continue;
    if (absl::Status st = batches[k].armed->conn->Send(*pipes[k]); !st.ok()) {
      batches[k].status = st;
      pipes[k] = nullptr;
    }
  }
  for (size_t k = 0; k < batches.size(); ++k) {
    if (pipes[k] == nullptr) continue;
    auto replies = batches[k].armed->conn->Receive(pipes[k]->size());
    batches[k].status = replies.ok() ? finish(batches[k], *replies) : replies.status();
    pipes[k] = nullptr;
  }
}

bool FanOut::Watched(ShardBatch& b) const {
  const Armed& armed = *b.armed;
  if (armed.versions.empty()) return false;
  for (size_t i = 0; i < b.plans.size(); ++i) {
    auto it = armed.versions.find(b.version_keys[i]);
    if (!b.plans[i]->event.idempotency_key().empty() || it == armed.versions.end() ||
        it->second != b.plans[i]->expected_version) {
      return false;
    }
  }
  return true;
}

void FanOut::PrepareRead(ShardBatch& b, Pipeline* p) const {
  b.armed->versions.clear();  // the read watches other keys
  b.version_of.assign(b.plans.size(), 0);
  b.key_of.assign(b.plans.size(), 0);  // 0: no idempotency key
  absl::flat_hash_map<std::string, size_t> slot;
  auto watch = [&](std::string key) {
    auto [it, added] = slot.emplace(key, b.watched.size());
    if (added) b.watched.push_back(std::move(key));
    return it->second;
  };
  for (size_t i = 0; i < b.plans.size(); ++i) b.version_of[i] = watch(b.version_keys[i]);
  for (size_t i = 0; i < b.plans.size(); ++i) {
    const v1::Event& e = b.plans[i]->event;
    if (!e.idempotency_key().empty()) {
      b.key_of[i] = watch(keys_.Idempotency(e.tenant(), e.idempotency_key()));
    }
  }
  AddWatchAndRead(b.watched, p);
}

absl::Status FanOut::FinishRead(ShardBatch& b, const std::vector<RedisReply>& replies) {
  const RedisReply& values = replies[1];
  if (values.is_error()) return values.ToStatus();
  if (values.type != RedisReply::Type::kArray || values.elements.size() != b.watched.size()) {
    return absl::InternalError("redis: unexpected MGET reply");
  }
  auto decided = Decide(b.plans, values.elements, b.version_of, b.key_of);
  if (!decided.ok()) return decided.status();
  b.decided = *std::move(decided);
  return absl::OkStatus();
}

void FanOut::PrepareWrite(ShardBatch& b, absl::Time now, bool write_nothing) {
  Decision& d = b.decided;
  if (write_nothing) {
    d.to_write.clear();
    d.duplicates.clear();
  }
  if (d.to_write.empty() && d.duplicates.empty()) {
    // Nothing to write: the plans were copies, stale or in conflict. Stop watching.
    Pipeline& p = b.armed->writes;
    p.Clear();
    p.Add({"UNWATCH"});
    return;
  }
  // The versions to watch for the next batch: this batch's tenants, then the ones watched
  // before, up to kMaxArmedTenants.
  b.rearm.clear();
  {
    absl::flat_hash_set<absl::string_view> seen;
    for (const std::string& k : b.version_keys) {
      if (b.rearm.size() < kMaxArmedTenants && seen.insert(k).second) b.rearm.push_back(k);
    }
    for (const auto& [k, v] : b.armed->versions) {
      if (b.rearm.size() < kMaxArmedTenants && seen.insert(k).second) b.rearm.push_back(k);
    }
  }
  // The duplicates' deliveries; the writes of every plan that passed, in one transaction that
  // Redis refuses if a watched key changed since it was read; then the WATCH and read for the
  // next batch.
  Pipeline& p = b.armed->writes;
  p.Clear();
  for (size_t i : d.duplicates) {
    p.Add({"LRANGE", keys_.EventDeliveries(b.plans[i]->event.tenant(), d.outcomes[i].event_id), "0",
           "-1"});
  }
  p.BeginTransaction();
  absl::flat_hash_set<std::string> indexes;
  for (size_t i : d.to_write) {
    const PublishPlan& plan = *b.plans[i];
    store::AddPublishWrites(keys_, options_, {plan.event, plan.fingerprint, plan.test},
                            plan.deliveries, now, &indexes, &p);
    AddPlanTasks(keys_, b.shard, plan.tasks, plan.ordered, &p);
  }
  store::AddIndexUpkeep(options_, indexes, now, &p);
  p.EndTransaction();
  if (durability_.min_replicas > 0) {
    p.Add({"WAIT", absl::StrCat(durability_.min_replicas),
           absl::StrCat(absl::ToInt64Milliseconds(durability_.timeout))});
  }
  AddWatchAndRead(b.rearm, &p);
}

absl::Status FanOut::FinishWrite(ShardBatch& b, const std::vector<RedisReply>& replies) {
  Decision& d = b.decided;
  std::vector<PublishOutcome>& out = d.outcomes;
  // A plan repeating an earlier plan's idempotency key gets that plan's outcome.
  auto resolve_copies = [&] {
    for (size_t i : d.copies) {
      const bool conflict = out[i].kind == PublishOutcome::Kind::kConflict;  // requests differ
      out[i] = out[d.copy_of[i]];
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
  if (d.to_write.empty() && d.duplicates.empty()) {  // the UNWATCH
    if (absl::Status st = FirstError(replies); !st.ok()) return st;
    b.armed->versions.clear();
    resolve_copies();
    return absl::OkStatus();
  }
  b.armed->versions.clear();
  for (size_t k = 0; k < d.duplicates.size(); ++k) {
    const RedisReply& ids = replies[k];
    if (ids.is_error()) return ids.ToStatus();
    for (const RedisReply& id : ids.elements) out[d.duplicates[k]].delivery_ids.push_back(id.str);
  }
  const bool waited = durability_.min_replicas > 0;
  const RedisReply& exec = replies[replies.size() - (waited ? 4 : 3)];
  if (exec.is_error()) return exec.ToStatus();
  if (absl::Status st = FirstError(exec.elements); !st.ok()) return st;
  if (const RedisReply& wait = replies[replies.size() - 3]; waited && !exec.is_nil()) {
    if (wait.is_error()) return wait.ToStatus();
    if (wait.integer < durability_.min_replicas) {
      return absl::UnavailableError(
          absl::StrCat("publish: stored, but ", wait.integer, " of ", durability_.min_replicas,
                       " replicas confirmed it within ", absl::FormatDuration(durability_.timeout),
                       " (--publish_min_replicas); it may be lost if its Redis master fails now. "
                       "Publishing again with the same idempotency_key is safe"));
    }
  }
  const RedisReply& versions = replies.back();
  if (versions.type != RedisReply::Type::kArray || versions.elements.size() != b.rearm.size()) {
    return absl::InternalError("redis: unexpected MGET reply");
  }
  for (size_t k = 0; k < b.rearm.size(); ++k) {
    long long v = 0;
    if (!versions.elements[k].is_nil() && !absl::SimpleAtoi(versions.elements[k].str, &v)) {
      return absl::InternalError("redis: hook version is not a number");
    }
    b.armed->versions.emplace(std::move(b.rearm[k]), v);
  }
  for (size_t i : d.to_write) {
    if (exec.is_nil()) {  // a version or key moved in between: the caller plans again
      out[i].kind = PublishOutcome::Kind::kStaleVersion;
      out[i].current_version = -1;
    } else {
      out[i] = Published(*b.plans[i]);
    }
  }
  resolve_copies();
  return absl::OkStatus();
}

// Sorts the plans of a shard by what the read found (`values`: the watched keys' values): an
// idempotency key already stored makes a duplicate of that event (a conflict when it was
// stored with another request fingerprint); a version other than the plan's makes it stale;
// the rest are written, except a plan repeating a key of an earlier plan in the batch, which
// gets the earlier plan's outcome (a conflict when the requests differ).
absl::StatusOr<FanOut::Decision> FanOut::Decide(const std::vector<const PublishPlan*>& plans,
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
        const store::IdempotencyEntry stored = store::ParseIdempotencyValue(first.str);
        out.event_id = stored.event_id;
        if (stored.SameRequest(plans[i]->fingerprint)) {
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
        const store::IdempotencyEntry earlier{.fingerprint = plans[it->second]->fingerprint};
        if (!earlier.SameRequest(plans[i]->fingerprint)) {
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
    if (current != plans[i]->expected_version) {
      out.kind = PublishOutcome::Kind::kStaleVersion;
      out.current_version = current;
    } else {
      d.to_write.push_back(i);
    }
  }
  return d;
}

}  // namespace hookrelay::queue
