#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "hookrelay/v1/registry.pb.h"
#include "libs/core/clock.h"
#include "libs/queue/fan_out.h"
#include "libs/store/hook_store.h"

namespace hookrelay::queue {

// What makes two publishes with the same idempotency key "the same request": the tenant, the
// type, the payload's bytes, the attributes (as a map: their order does not matter),
// occurred_at (whether set, and its value) and the ordering key (when set). Returns 32 hex
// digits (128 bits of HMAC-SHA256 under a fixed label over a length-framed encoding of those),
// stable across processes and versions: it is stored beside the key.
std::string RequestFingerprint(const v1::PublishEventRequest& req);

// The in-memory index of each tenant's hooks that publishes match against, tagged with the
// tenant version it was read at. It may be stale: the publish script compares the version
// and, on a mismatch, the publisher calls Reload(). So a hook change made through any
// process is honoured by the next publish in every other one. Thread-safe.
class HookIndex {
 public:
  explicit HookIndex(store::HookStore& hooks) : hooks_(hooks) {}

  // The cached snapshot, loading it on first use.
  absl::StatusOr<std::shared_ptr<const store::TenantHooks>> Get(const std::string& tenant);
  // Reads the tenant's hooks again and replaces the snapshot.
  absl::StatusOr<std::shared_ptr<const store::TenantHooks>> Reload(const std::string& tenant);

 private:
  store::HookStore& hooks_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const store::TenantHooks>> tenants_;
};

// Turns publish requests into stored events, delivery records and stream tasks: matches
// each event against the tenant's hooks in memory, then publishes with FanOut,
// re-planning while the tenant's hooks change underneath (stale version).
// With `inline_event_bytes` > 0, an event with exactly one delivery and at most that many
// bytes serialized, published in a round trip of at most kMaxInlineBatch events, also
// travels inside its task, so the worker need not read it back. That saves a Redis round
// trip between publish and delivery, worth having while round trips are what costs: at low
// rates each one is a wakeup of Redis and of the worker (~40 µs of CPU on our benchmark
// machine), and latency. Per event it costs Redis more on the XADD of the larger entry than
// it saves on the read (+6 µs per 1 KB event published, -2 µs per delivery) and a second
// copy of the event while the task is pending, which loses once batches are large, as
// they are under load or from PublishEvents. Fan-out tasks always name the stored event,
// which the worker fetches once for all of them.
// Requests must be validated already. Used by the registry for callers' events and by the
// worker for the events hookrelay itself emits (webhook.disabled). Thread-safe.
class Publisher {
 public:
  static constexpr size_t kDefaultInlineEventBytes = 8 * 1024;  // the registry's default
  static constexpr size_t kMaxInlineEventBytes = 64 * 1024;     // inline_event_bytes at most
  static constexpr size_t kMaxInlineBatch = 4;  // events per round trip that may be inlined

  Publisher(store::HookStore& hooks, FanOut& fan_out, core::Clock& clock,
            size_t inline_event_bytes = 0)
      : fan_out_(fan_out), clock_(clock), inline_event_bytes_(inline_event_bytes), index_(hooks) {}

  // An idempotency key reused with another request (RequestFingerprint) is
  // FAILED_PRECONDITION naming the key; the same request again returns the first event with
  // `duplicate` set.
  absl::StatusOr<v1::PublishEventResponse> Publish(const v1::PublishEventRequest& req);
  // All events in one pipelined round trip (plus one per event whose tenant changed). An
  // idempotency key conflict of one event ("events[i].idempotency_key: ...") writes none. A
  // Redis failure is atomic per tenant, not across tenants: events of other tenants may then
  // be stored (a caller retrying with idempotency keys gets those back as duplicates).
  absl::StatusOr<std::vector<v1::PublishEventResponse>> PublishBatch(
      const google::protobuf::RepeatedPtrField<v1::PublishEventRequest>& reqs);
  // Publishes requests from independent callers together: one pipelined round trip for
  // all, each with its own result (one request's failure is not another's).
  std::vector<absl::StatusOr<v1::PublishEventResponse>> PublishEach(
      absl::Span<const v1::PublishEventRequest* const> reqs);
  // A test send: the event goes to hook `hook_id` only, whatever it subscribes to; the task
  // is marked `test` (sent even if the hook is disabled, never retried).
  absl::StatusOr<v1::PublishEventResponse> PublishTest(const v1::PublishEventRequest& req,
                                                       const std::string& hook_id);

 private:
  // `batch`: events published in the same round trip (decides inlining).
  absl::StatusOr<PublishPlan> Plan(const v1::PublishEventRequest& req, absl::Time now,
                                   const std::string* only, size_t batch);
  std::vector<absl::StatusOr<v1::PublishEventResponse>> PublishPlans(
      std::vector<PublishPlan> plans, const v1::PublishEventRequest* const* reqs, absl::Time now);
  // The answer to `req` whose plan had `outcome`: a stale plan is planned and published
  // again on its own.
  absl::StatusOr<v1::PublishEventResponse> Settle(PublishOutcome outcome,
                                                  const v1::PublishEventRequest& req);
  absl::StatusOr<v1::PublishEventResponse> PublishPlanned(PublishPlan plan,
                                                          const v1::PublishEventRequest& req,
                                                          const std::string* only);

  FanOut& fan_out_;
  core::Clock& clock_;
  const size_t inline_event_bytes_;
  HookIndex index_;
};

}  // namespace hookrelay::queue
