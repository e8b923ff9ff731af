#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/http/sender.h"
#include "libs/queue/task_queue.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"
#include "services/worker/caches.h"
#include "services/worker/hook_slots.h"
#include "services/worker/job.h"
#include "services/worker/rate_gate.h"

namespace hookrelay::worker {

struct DispatcherOptions {
  HookSlots::Options slots;
  RateGate::Options gate;
  // Hook changes reach the cache at once through pub/sub and are checked against each task's
  // version; the TTL is the last safety net.
  absl::Duration hook_cache_ttl = absl::Seconds(30);
  // Events fetched for delivery are kept for the next deliveries of the same event (fan-out
  // tasks arrive together), up to this many bytes.
  size_t event_cache_bytes = 8 << 20;
  // An entry reclaimed more often than this is failed instead of crash-looping the fleet.
  int max_reclaims = 5;
  absl::Status Validate() const;
};

// Where rendered requests go: the worker's HttpSenders (a fake in tests of the dispatcher).
class RequestSender {
 public:
  virtual ~RequestSender() = default;
  // `done` runs exactly once, on any thread.
  virtual void Submit(http::HttpRequest request, http::HttpSender::Completion done) = 0;
};

// Where a job goes when the dispatcher is done with it: the recorder. Thread-safe.
class JobSink {
 public:
  virtual ~JobSink() = default;
  virtual void Finish(std::unique_ptr<Job> job) = 0;
};

// The worker's first stage: from stream entries to requests on the wire.
//   Prepare()  entries → jobs: parses each task, takes an event carried inline, fails
//              entries reclaimed too often;
//   Fetch()    reads the hooks and events the caches miss, in one round trip; a cached hook
//              read at a version older than the task's is read again, so a delivery never
//              goes out with a configuration older than its publish saw;
//   Launch()   starts each job within its hook's slots (HookSlots): renders, signs and
//              submits it; a job that cannot be sent, or is put off, goes to the sink at once.
//              Jobs of hooks with a rate limit, or paused by a receiver's Retry-After, wait
//              in the RateGate first; ReleaseDue() starts them when their time comes.
// A 429 or 503 answered with Retry-After pauses the hook here at once and, through
// TakePauses() and the caller, on every worker.
// Completions go to the sink and pass the freed slot to the hook's next queued job.
// Thread-safe: the reader and the maintainer both dispatch; completions arrive on sender
// threads.
class Dispatcher {
 public:
  Dispatcher(DispatcherOptions options, const store::KeySchema& keys, core::Clock& clock,
             RequestSender& sender, JobSink& sink);

  std::vector<std::unique_ptr<Job>> Prepare(std::vector<queue::StreamEntry> entries) const;
  // UNAVAILABLE or INTERNAL when Redis failed; the jobs are then unchanged (call again).
  absl::Status Fetch(std::vector<std::unique_ptr<Job>>& jobs, store::RedisConnection& conn);
  void Launch(std::vector<std::unique_ptr<Job>> jobs);
  // Hands the queued jobs of stalled hooks to the sink, deferred.
  void DeferStalled();
  // Starts the jobs the RateGate lets go now; those it puts off go to the sink.
  void ReleaseDue();
  // A pause a receiver asked for, for the caller to tell the other workers.
  struct PauseNotice {
    std::string tenant;
    std::string hook_id;
    std::optional<queue::RateSpec> spec;
    absl::Time until;  // fixed when the answer came, however late it is published
  };
  std::vector<PauseNotice> TakePauses();
  // Removes every queued or held job (shutdown), for the caller to hand back.
  std::vector<std::unique_ptr<Job>> TakeQueued();
  HookCache& hooks() { return hooks_; }
  RateGate& gate() { return gate_; }

 private:
  void Start(std::unique_ptr<Job> job);
  // Renders, signs and submits a job holding a slot of its hook. False (and the job handed to
  // the sink as a render failure) when it could not be sent; the slot is then still taken.
  bool Send(std::unique_ptr<Job> job, const std::string& key);
  // Passes a freed slot to the hook's next queued job, if any.
  void OnSlotFreed(const std::string& key);
  // Pauses the job's hook when its receiver answered 429 or 503 with a Retry-After.
  void PauseIfAsked(const Job& job, const std::string& key);
  static std::string EventKey(const v1::DeliveryTask& t);

  const DispatcherOptions options_;
  const store::KeySchema& keys_;
  core::Clock& clock_;
  RequestSender& sender_;
  JobSink& sink_;
  HookCache hooks_;
  EventCache events_;
  HookSlots slots_;
  RateGate gate_;
  std::mutex pauses_mu_;
  std::vector<PauseNotice> pauses_;
};

}  // namespace hookrelay::worker
