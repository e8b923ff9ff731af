#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/core/clock.h"
#include "libs/http/sender.h"
#include "libs/queue/publisher.h"
#include "libs/queue/task_stream.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "services/worker/caches.h"
#include "services/worker/hook_slots.h"
#include "services/worker/worker_metrics.h"

namespace hookrelay::worker {

struct Job;

struct WorkerOptions {
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string key_prefix = "hookrelay:";
  // Unique per process: the name of this consumer in the workers' group.
  std::string consumer_name = "worker";
  int max_in_flight = 256;
  // HTTP sender threads, each with its own epoll loop and connections; requests
  // are spread over them in turn. More than one uses more cores for the HTTP work.
  int senders = 1;
  // Requests in flight to one hook at most; more wait in the hook's queue. A hook at its
  // limit that finished nothing for `stalled_hook_after` has its queue put off for a while,
  // so one slow or dead endpoint cannot take every slot.
  int max_in_flight_per_hook = 32;
  absl::Duration stalled_hook_after = absl::Seconds(1);
  int batch_size = 128;
  absl::Duration read_block = absl::Milliseconds(500);
  // A stream entry pending this long in a consumer that stopped is reclaimed by another.
  absl::Duration visibility_timeout = absl::Seconds(60);
  // An entry reclaimed more often than this is failed instead of crash-looping the fleet.
  int max_reclaims = 5;
  // Endpoint health: a hook is disabled (with a reason and a webhook.disabled event for its
  // tenant) after this many consecutive failed deliveries, or after failing without a
  // success for `disable_after`. 0 turns either off.
  int disable_after_failures = 10;
  absl::Duration disable_after = absl::Hours(24 * 5);
  absl::Duration drain_timeout = absl::Seconds(25);
  absl::Duration retention = absl::Hours(24 * 30);
  // Hook changes reach the cache at once through pub/sub; the TTL is the safety net.
  absl::Duration hook_cache_ttl = absl::Seconds(30);
  // Events fetched for delivery are kept for the next deliveries of the same event (fan-out
  // tasks arrive together), up to this many bytes.
  size_t event_cache_bytes = 8 << 20;
  absl::Duration maintenance_interval = absl::Milliseconds(200);
  // At low rates each finished request would cost the recorder (and Redis) a round trip of
  // its own: a batch of fewer than 16 waits this long for more to join it, as long as the
  // window is less than half full. The delivery has happened by then; only its record and
  // ack wait. 0 records at once.
  absl::Duration record_linger = absl::Milliseconds(2);
  std::vector<std::string> allow_cidrs;
  bool allow_http = false;
  std::string ca_file;  // PEM CA bundle for subscribers' certificates; empty: the system's
  std::string user_agent = "hookrelay/0.1";
  absl::Status Validate() const;
};

// The delivery worker: reads DeliveryTasks from the stream with the consumer group, renders
// and signs each request, sends it through the HttpSender, records the attempt, schedules
// retries and acknowledges.
//
// Threads and flow:
//   reader      XREADGROUP a batch (only while fewer than max_in_flight are out) → one
//               round trip of MGETs (one per tenant) for the hooks and events not cached →
//               render, sign → Submit; frees the jobs the recorder is done with
//   sender      HttpSender: kept-alive connections on epoll (libcurl dials them); completions
//               go to the recorder's queue
//   recorder    per batch of completions, one MULTI/EXEC: per job one HSET of status and
//               attempt, retry-set ZADDs, and one XACK for the batch, so an ack never lands
//               without its record; a small batch waits record_linger for more
//   maintainer  promotes due retries, reclaims entries of dead consumers, trims the stream,
//               refreshes the backlog gauges
// Shutdown(): stop reading, let in-flight requests finish until drain_timeout, hand the
// rest back to the stream, flush the recorder.
class Worker {
 public:
  static absl::StatusOr<std::unique_ptr<Worker>> Create(WorkerOptions options, core::Clock& clock,
                                                        WorkerMetrics& metrics);
  ~Worker();

  // Connects, creates the consumer group and starts the threads. UNAVAILABLE if Redis
  // cannot be reached.
  absl::Status Start();
  // Graceful stop; returns once everything in flight is recorded or handed back.
  void Shutdown();
  // OK when Redis answers (readiness probe).
  absl::Status Ready();

 private:
  Worker(WorkerOptions options, core::Clock& clock, WorkerMetrics& metrics);

  void ReadLoop();
  void MaintainLoop();
  void SubscribeLoop();
  void RecordLoop();
  void Dispatch(std::vector<queue::StreamEntry> entries, store::RedisConnection& conn);
  absl::Status FetchMissing(std::vector<std::unique_ptr<Job>>& jobs, store::RedisConnection& conn);
  void Send(std::unique_ptr<Job> job);
  void Complete(std::unique_ptr<Job> job);
  bool Launch(std::unique_ptr<Job> job, const std::string& key);
  void OnSlotFreed(const std::string& key);
  void DeferStalled();
  void RecordBatch(std::vector<std::unique_ptr<Job>>& batch,
                   std::unique_ptr<store::RedisConnection>& conn);
  // Disables hooks that answered 410 or whose deliveries keep failing (per `exec`, the
  // recorder's EXEC replies).
  void DisableUnhealthyHooks(const std::vector<std::unique_ptr<Job>>& batch,
                             const std::vector<store::RedisReply>& exec, absl::Time now);
  void AddHealthWrites(Job& job, absl::Time now, store::Pipeline* p);
  void DisableHook(const v1::DeliveryTask& task, const std::string& reason);
  // The EXEC replies of the batch's transaction.
  absl::StatusOr<std::vector<store::RedisReply>> ExecuteRecord(
      const store::Pipeline& p, std::unique_ptr<store::RedisConnection>& conn);
  // The writes of one finished job but its ack (RecordBatch acks the batch in one XACK).
  void AddJobWrites(Job& job, absl::Time now, store::Pipeline* p);
  void AddHttpOutcome(Job& job, absl::Time now, store::Pipeline* p);
  void CountRecorded(const Job& job, absl::Time now);
  void Maintain(store::RedisConnection& conn, absl::Time now);
  void RefreshGauges(store::RedisConnection& conn);
  void TrimStream(store::RedisConnection& conn);
  bool WaitUnlessStopping(absl::Duration d);

  const WorkerOptions options_;
  core::Clock& clock_;
  WorkerMetrics& metrics_;
  const store::KeySchema keys_;
  store::RedisPool probe_pool_;  // readiness probes and the rare hook writes
  store::HookStore hook_store_;
  store::EventStore event_store_;
  queue::Publisher publisher_;  // webhook.disabled events
  std::vector<std::unique_ptr<http::HttpSender>> senders_;
  std::atomic<uint64_t> next_sender_{0};
  HookCache hooks_;
  HookSlots slots_;  // keyed "<tenant>/<hook id>"
  EventCache events_;
  std::mutex rng_mu_;  // guards rng_
  absl::BitGen rng_;

  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards in_flight_, done_, spent_, recorder_stop_
  std::condition_variable room_cv_;
  std::condition_variable done_cv_;
  std::condition_variable stop_cv_;
  int in_flight_ = 0;

  std::vector<std::unique_ptr<Job>> done_;
  // Recorded jobs, handed back for the reader to free: glibc frees memory of another
  // thread's arena under that arena's lock, which the reader's allocations then wait on.
  std::vector<std::unique_ptr<Job>> spent_;
  bool recorder_stop_ = false;

  // Recorder thread only: when each hook's failure count was last reset, and the batch's
  // writes (reused, so a large batch does not fault in a fresh buffer each time).
  absl::flat_hash_map<std::string, absl::Time> health_reset_;
  store::Pipeline record_writes_;

  std::thread reader_;
  std::thread recorder_;
  std::thread maintainer_;
  std::thread subscriber_;
};

}  // namespace hookrelay::worker
