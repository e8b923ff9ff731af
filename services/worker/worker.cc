#include "services/worker/worker.h"

#include <algorithm>

#include "libs/core/thread_name.h"
#include "libs/store/layout.h"
#include "libs/telemetry/log.h"

namespace hookrelay::worker {

absl::Status WorkerOptions::Validate() const {
  if (absl::Status st = redis.Validate(); !st.ok()) return st;
  if (absl::Status st = store::ValidateShards(shards); !st.ok()) return st;
  if (consumer_name.empty()) return absl::InvalidArgumentError("consumer_name: must be set");
  if (max_in_flight < 1) return absl::InvalidArgumentError("max_in_flight: must be positive");
  if (senders < 1 || senders > 64) return absl::InvalidArgumentError("senders: must be in [1, 64]");
  if (batch_size < 1 || batch_size > 10000) {
    return absl::InvalidArgumentError("batch_size: must be in [1, 10000]");
  }
  if (read_block < absl::Milliseconds(1) || read_block >= redis.command_timeout) {
    return absl::InvalidArgumentError(
        "read_block: must be at least 1ms and below the command timeout");
  }
  if (record_linger < absl::ZeroDuration() || record_linger > absl::Seconds(1)) {
    return absl::InvalidArgumentError("record_linger: must be in [0, 1s]");
  }
  if (drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("drain_timeout: must not be negative");
  }
  if (absl::Status st = dispatch.Validate(); !st.ok()) return st;
  if (absl::Status st = health.Validate(); !st.ok()) return st;
  return maintain.Validate();
}

namespace {

queue::TaskReaderOptions ReaderOptions(const WorkerOptions& o) {
  queue::TaskReaderOptions r;
  r.redis = o.redis;
  r.consumer = o.consumer_name;
  r.batch_size = o.batch_size;
  r.block = o.read_block;
  // Quiet shards' reads together may bring half a window beyond it.
  r.quiet_batch = std::clamp(o.max_in_flight / (2 * o.shards), 1, std::min(8, o.batch_size));
  return r;
}

}  // namespace

Worker::Worker(WorkerOptions options, core::Clock& clock, WorkerMetrics& metrics)
    : options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      keys_(options_.key_prefix, options_.shards),
      probe_pool_(options_.redis, 2),
      hook_store_(probe_pool_, keys_),
      fan_out_(probe_pool_, keys_,
               store::EventStoreOptions{.retention = options_.health.retention}),
      publisher_(hook_store_, fan_out_, clock_),
      dispatcher_(options_.dispatch, keys_, clock_, *this, *this),
      health_(options_.health, keys_, clock_, hook_store_, publisher_, dispatcher_.hooks(),
              metrics_),
      recorder_(keys_, options_.consumer_name, clock_, rng_, health_, metrics_),
      reader_(keys_, ReaderOptions(options_)) {}

Worker::~Worker() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(WorkerOptions options, core::Clock& clock,
                                                       WorkerMetrics& metrics) {
  if (absl::Status st = options.Validate(); !st.ok()) return st;
  auto guard = http::AddressGuard::Create(options.allow_cidrs);
  if (!guard.ok()) return guard.status();
  options.sender.max_in_flight = options.max_in_flight;
  // A job waits in its hook's queue a quarter of the visibility timeout at most (then it is
  // put off, before another worker could reclaim it).
  options.dispatch.slots.max_wait =
      std::min(options.dispatch.slots.max_wait, options.maintain.visibility_timeout / 4);
  options.dispatch.gate.max_hold =
      std::min(options.dispatch.gate.max_hold, options.maintain.visibility_timeout / 4);
  // The gate holds at most half the window: the other hooks keep the rest.
  options.dispatch.gate.max_held = std::max(1, options.max_in_flight / 2);
  std::unique_ptr<Worker> w(new Worker(std::move(options), clock, metrics));
  for (int i = 0; i < w->options_.senders; ++i) {
    auto s = http::HttpSender::Start(w->options_.sender, *guard);
    if (!s.ok()) return s.status();
    w->senders_.push_back(*std::move(s));
  }
  return w;
}

absl::Status Worker::Start() {
  auto conn = store::RedisConnection::Connect(options_.redis);
  if (!conn.ok()) return conn.status();
  if (absl::Status st = store::EnsureLayout(**conn, keys_); !st.ok()) return st;
  if (absl::Status st = queue::TaskQueue(**conn, keys_).EnsureGroups(); !st.ok()) return st;
  auto start = [](const char* name, auto loop) {
    return std::thread([name, loop] {
      core::NameThisThread(name);
      loop();
    });
  };
  reader_thread_ = start("hr-reader", [this] { ReadLoop(); });
  recorder_thread_ = start("hr-recorder", [this] { RecordLoop(); });
  maintainer_thread_ = start("hr-maintainer", [this] { MaintainLoop(); });
  subscriber_thread_ = start("hr-subscriber", [this] { SubscribeLoop(); });
  gate_thread_ = start("hr-gate", [this] { GateLoop(); });
  pause_thread_ = start("hr-pauses", [this] { PauseLoop(); });
  telemetry::LogInfo("worker started", {{"consumer", options_.consumer_name},
                                        {"max_in_flight", options_.max_in_flight},
                                        {"shards", keys_.shards()}});
  return absl::OkStatus();
}

absl::Status Worker::Ready() {
  auto conn = probe_pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return (*conn)->Ping();
}

bool Worker::WaitUnlessStopping(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(d), [this] { return stopping_.load(); });
  return !stopping_.load();
}

void Worker::Shutdown() {
  if (stopping_.exchange(true)) return;
  stop_cv_.notify_all();
  reader_.Wake();
  if (reader_thread_.joinable()) reader_thread_.join();
  if (maintainer_thread_.joinable()) maintainer_thread_.join();
  if (subscriber_thread_.joinable()) subscriber_thread_.join();
  dispatcher_.gate().Notify();
  if (gate_thread_.joinable()) gate_thread_.join();
  if (pause_thread_.joinable()) pause_thread_.join();
  int sending = 0;
  for (const auto& s : senders_) sending += s->InFlight();
  telemetry::LogInfo("worker draining", {{"in_flight", sending}});
  HandBack(dispatcher_.TakeQueued());  // queued or held, never sent
  // Requests still out at the deadline are aborted and handed back. The senders drain
  // together, against one deadline (real time: it bounds how long the process takes to stop).
  const absl::Time drain_deadline = absl::Now() + options_.drain_timeout;
  for (const auto& s : senders_) {
    s->Stop(std::max(absl::ZeroDuration(), drain_deadline - absl::Now()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorder_stop_ = true;
  }
  done_cv_.notify_all();
  if (recorder_thread_.joinable()) recorder_thread_.join();
  telemetry::LogInfo("worker stopped");
}

void Worker::HandBack(std::vector<std::unique_ptr<Job>> jobs) {
  for (std::unique_ptr<Job>& job : jobs) {
    job->kind = Job::Kind::kHandBack;
    Finish(std::move(job));
  }
}

void Worker::Submit(http::HttpRequest request, http::HttpSender::Completion done) {
  http::HttpSender& sender =
      *senders_[next_sender_.fetch_add(1, std::memory_order_relaxed) % senders_.size()];
  sender.Submit(std::move(request), std::move(done));
}

void Worker::Finish(std::unique_ptr<Job> job) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The recorder waits only on an empty queue; while it writes a batch, completions
    // just pile up for its next one.
    wake = done_.empty();
    done_.push_back(std::move(job));
  }
  if (wake) done_cv_.notify_one();
}

int Worker::Room() {
  std::lock_guard<std::mutex> lock(mu_);
  return options_.max_in_flight - in_flight_;
}

std::unique_ptr<store::RedisConnection> Worker::Connect(const char* what) {
  auto c = store::RedisConnection::Connect(options_.redis);
  if (c.ok()) return *std::move(c);
  telemetry::LogEvery(10, telemetry::LogLevel::kError, "redis unavailable",
                      {{"for", what}, {"error", c.status().ToString()}});
  return nullptr;
}

}  // namespace hookrelay::worker
