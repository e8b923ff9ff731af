#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/http/sender.h"
#include "libs/queue/fan_out.h"
#include "libs/queue/publisher.h"
#include "libs/queue/task_reader.h"
#include "libs/store/hook_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "services/worker/dispatcher.h"
#include "services/worker/endpoint_health.h"
#include "services/worker/maintainer.h"
#include "services/worker/recorder.h"
#include "services/worker/worker_metrics.h"

namespace hookrelay::worker {

struct WorkerOptions {
  store::RedisOptions redis;
  std::string key_prefix = "hookrelay:";
  // Shards of the keyspace; the same for every process of a deployment (store::KeySchema).
  int shards = store::KeySchema::kDefaultShards;
  // Unique per process: the name of this consumer in the workers' group.
  std::string consumer_name = "worker";
  // Jobs read and not yet recorded (in flight, or waiting in their hook's queue: HookSlots);
  // also the senders' limit of requests in flight.
  int max_in_flight = 256;
  // HTTP sender threads, each with its own epoll loop and connections; requests are spread
  // over them in turn. More than one uses more cores for the HTTP work.
  int senders = 1;
  // Entries one read of a busy shard brings at most.
  int batch_size = 128;
  // How long a read waits in Redis on a quiet shard.
  absl::Duration read_block = absl::Milliseconds(500);
  // At low rates each finished request would cost the recorder (and Redis) a round trip of
  // its own: a batch of fewer than 16 waits this long for more to join it, as long as the
  // window is less than half full. The delivery has happened by then; only its record and
  // ack wait. 0 records at once.
  absl::Duration record_linger = absl::Milliseconds(2);
  absl::Duration drain_timeout = absl::Seconds(25);
  // Addresses exempt from the SSRF guard.
  std::vector<std::string> allow_cidrs;
  http::SenderOptions sender;  // its max_in_flight is set from ours
  // Its slots.max_wait is set to at most a quarter of the visibility timeout.
  DispatcherOptions dispatch;
  EndpointHealthOptions health;
  MaintainerOptions maintain;
  absl::Status Validate() const;
};

// The delivery worker: reads DeliveryTasks from every shard's stream with the workers'
// consumer group, renders and signs each request, sends it, records the attempt, schedules
// retries and acknowledges. Wired from stages, each with its own collaborators:
//   reader thread      queue::TaskReader (every shard, fairly) → Dispatcher: fetch hooks and
//                      events, per-hook slots, render, sign → HttpSender
//   sender threads     HttpSender: kept-alive connections on epoll; completions → recorder
//   recorder thread    Recorder: per batch of finished jobs one MULTI/EXEC per shard (records,
//                      retries, health, acks), all in one round trip; EndpointHealth disables
//                      failing hooks; a small batch waits record_linger for more
//   maintainer thread  Maintainer: promotes due retries, reclaims entries of dead consumers
//                      (dispatched like fresh ones), trims, refreshes the backlog gauges;
//                      Dispatcher::DeferStalled
//   subscriber thread  hook changes over pub/sub → the dispatcher's hook cache
//   gate thread        RateGate: reserves rate limit tokens (one round trip per round for
//                      every limited hook), publishes pauses, starts the jobs whose time came
//   pause thread       receivers' pauses other workers met, over pub/sub → RateGate
// Shutdown(): stop reading, let in-flight requests finish until drain_timeout, hand the rest
// back to the stream, flush the recorder.
class Worker : private JobSink, private RequestSender {
 public:
  static absl::StatusOr<std::unique_ptr<Worker>> Create(WorkerOptions options, core::Clock& clock,
                                                        WorkerMetrics& metrics);
  ~Worker() override;

  // Connects, checks the key layout (FAILED_PRECONDITION when Redis holds another one),
  // creates the consumer groups and starts the threads. UNAVAILABLE if Redis cannot be
  // reached.
  absl::Status Start();
  // Graceful stop; returns once everything in flight is recorded or handed back.
  void Shutdown();
  // OK when Redis answers (readiness probe).
  absl::Status Ready();

 private:
  Worker(WorkerOptions options, core::Clock& clock, WorkerMetrics& metrics);

  // JobSink: a job for the recorder. RequestSender: to the senders in turn.
  void Finish(std::unique_ptr<Job> job) override;
  void Submit(http::HttpRequest request, http::HttpSender::Completion done) override;

  void ReadLoop();
  void RecordLoop();
  void MaintainLoop();
  void SubscribeLoop();
  // Reserves tokens for the RateGate's held jobs, tells the other workers of pauses and
  // starts the jobs whose time came.
  void GateLoop();
  // Pauses other workers were asked for (pub/sub) → the RateGate.
  void PauseLoop();
  // Entries → jobs → fetched → launched; counted in the window until recorded.
  void Dispatch(std::vector<queue::StreamEntry> entries,
                std::unique_ptr<store::RedisConnection>& conn);
  // Hands entries back to the stream through the recorder (shutdown).
  void HandBack(std::vector<std::unique_ptr<Job>> jobs);
  // Room in the read window: max_in_flight less the jobs read and not recorded.
  int Room();
  // Writes a batch, retrying while Redis is unavailable (giving up a while after Shutdown).
  void RecordBatch(std::vector<std::unique_ptr<Job>>& batch,
                   std::unique_ptr<store::RedisConnection>& conn);
  bool WaitUnlessStopping(absl::Duration d);
  // A connection of the worker's own, or nullptr (and the cause logged) when Redis is down.
  std::unique_ptr<store::RedisConnection> Connect(const char* what);

  const WorkerOptions options_;
  core::Clock& clock_;
  WorkerMetrics& metrics_;
  const store::KeySchema keys_;
  store::RedisPool probe_pool_;  // readiness probes and the rare hook writes
  store::HookStore hook_store_;
  queue::FanOut fan_out_;
  queue::Publisher publisher_;  // webhook.disabled events
  std::vector<std::unique_ptr<http::HttpSender>> senders_;
  std::atomic<uint64_t> next_sender_{0};
  Dispatcher dispatcher_;
  absl::BitGen rng_;  // the recorder's
  EndpointHealth health_;
  Recorder recorder_;
  queue::TaskReader reader_;

  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards in_flight_, done_, spent_, recorder_stop_
  std::condition_variable done_cv_;
  std::condition_variable stop_cv_;
  int in_flight_ = 0;
  std::vector<std::unique_ptr<Job>> done_;
  // Recorded jobs, handed back for the reader to free: glibc frees memory of another
  // thread's arena under that arena's lock, which the reader's allocations then wait on.
  std::vector<std::unique_ptr<Job>> spent_;
  bool recorder_stop_ = false;

  std::thread reader_thread_;
  std::thread recorder_thread_;
  std::thread maintainer_thread_;
  std::thread subscriber_thread_;
  std::thread gate_thread_;
  std::thread pause_thread_;
};

}  // namespace hookrelay::worker
