#include "services/worker/worker.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/core/thread_name.h"
#include "libs/render/renderer.h"
#include "libs/store/delivery_store.h"
#include "libs/store/subscriber.h"
#include "libs/telemetry/log.h"
#include "services/worker/job.h"
#include "services/worker/outcome.h"

namespace hookrelay::worker {

using telemetry::LogField;
using telemetry::LogLevel;

absl::Status WorkerOptions::Validate() const {
  if (max_in_flight < 1) return absl::InvalidArgumentError("max_in_flight: must be positive");
  if (senders < 1 || senders > 64) return absl::InvalidArgumentError("senders: must be in [1, 64]");
  if (max_in_flight_per_hook < 1) {
    return absl::InvalidArgumentError("max_in_flight_per_hook: must be positive");
  }
  if (batch_size < 1 || batch_size > 10000) {
    return absl::InvalidArgumentError("batch_size: must be in [1, 10000]");
  }
  if (visibility_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("visibility_timeout: at least 1s");
  }
  if (max_reclaims < 0) return absl::InvalidArgumentError("max_reclaims: must be >= 0");
  if (disable_after_failures < 0) {
    return absl::InvalidArgumentError("disable_after_failures: must be >= 0");
  }
  if (disable_after < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("disable_after: must not be negative");
  }
  if (record_linger < absl::ZeroDuration() || record_linger > absl::Seconds(1)) {
    return absl::InvalidArgumentError("record_linger: must be in [0, 1s]");
  }
  if (drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("drain_timeout: must not be negative");
  }
  if (consumer_name.empty()) return absl::InvalidArgumentError("consumer_name: must be set");
  store::RedisOptions redis;
  redis.url = redis_url;
  return redis.Validate();
}

Worker::Worker(WorkerOptions options, core::Clock& clock, WorkerMetrics& metrics)
    : options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      keys_(options_.key_prefix),
      probe_pool_(store::RedisOptions{.url = options_.redis_url}, 2),
      hook_store_(probe_pool_, keys_),
      event_store_(probe_pool_, keys_, store::EventStoreOptions{.retention = options_.retention}),
      publisher_(hook_store_, event_store_, clock_),
      hooks_(options_.hook_cache_ttl),
      slots_(options_.max_in_flight_per_hook, options_.stalled_hook_after),
      events_(options_.event_cache_bytes) {}

Worker::~Worker() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(WorkerOptions options, core::Clock& clock,
                                                       WorkerMetrics& metrics) {
  if (absl::Status st = options.Validate(); !st.ok()) return st;
  auto guard = http::AddressGuard::Create(options.allow_cidrs);
  if (!guard.ok()) return guard.status();
  std::unique_ptr<Worker> w(new Worker(std::move(options), clock, metrics));
  http::SenderOptions sender;
  sender.max_in_flight = w->options_.max_in_flight;
  sender.allow_http = w->options_.allow_http;
  sender.ca_file = w->options_.ca_file;
  sender.user_agent = w->options_.user_agent;
  for (int i = 0; i < w->options_.senders; ++i) {
    auto s = http::HttpSender::Start(sender, *guard);
    if (!s.ok()) return s.status();
    w->senders_.push_back(*std::move(s));
  }
  return w;
}

absl::Status Worker::Start() {
  store::RedisOptions redis{.url = options_.redis_url};
  auto conn = store::RedisConnection::Connect(redis);
  if (!conn.ok()) return conn.status();
  queue::TaskStream stream(**conn, keys_, options_.consumer_name);
  if (absl::Status st = stream.EnsureGroup(); !st.ok()) return st;
  reader_ = std::thread([this] {
    core::NameThisThread("hr-reader");
    ReadLoop();
  });
  recorder_ = std::thread([this] {
    core::NameThisThread("hr-recorder");
    RecordLoop();
  });
  maintainer_ = std::thread([this] {
    core::NameThisThread("hr-maintainer");
    MaintainLoop();
  });
  subscriber_ = std::thread([this] {
    core::NameThisThread("hr-subscriber");
    SubscribeLoop();
  });
  telemetry::LogInfo("worker started", {{"consumer", options_.consumer_name},
                                        {"max_in_flight", options_.max_in_flight}});
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
  room_cv_.notify_all();
  if (reader_.joinable()) reader_.join();
  if (maintainer_.joinable()) maintainer_.join();
  if (subscriber_.joinable()) subscriber_.join();
  int sending = 0;
  for (const auto& s : senders_) sending += s->InFlight();
  telemetry::LogInfo("worker draining", {{"in_flight", sending}});
  for (std::unique_ptr<Job>& job : slots_.TakeAll()) {  // queued, never sent: hand back
    job->response.failure = http::FailureKind::kAborted;
    Complete(std::move(job));
  }
  // Aborted requests are handed back. The senders drain together, against one deadline.
  const absl::Time drain_deadline = absl::Now() + options_.drain_timeout;
  for (const auto& s : senders_) {
    s->Stop(std::max(absl::ZeroDuration(), drain_deadline - absl::Now()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorder_stop_ = true;
  }
  done_cv_.notify_all();
  if (recorder_.joinable()) recorder_.join();
  telemetry::LogInfo("worker stopped");
}

// Listens for hook changes (the registry publishes the tenant on every change) and drops
// that tenant's cached hooks; after a reconnect, when messages may have been missed, drops
// them all.
void Worker::SubscribeLoop() {
  store::Subscriber sub(store::RedisOptions{.url = options_.redis_url},
                        keys_.HooksChangedChannel());
  while (!stopping_) {
    absl::Status st = sub.Poll(
        absl::Milliseconds(200),
        [this](const std::string& tenant) {
          hooks_.InvalidateTenant(absl::StrCat("{", tenant, "}:"));
        },
        [this] { hooks_.InvalidateAll(); });
    if (!st.ok()) WaitUnlessStopping(absl::Milliseconds(500));
  }
}

void Worker::ReadLoop() {
  std::unique_ptr<store::RedisConnection> conn;
  absl::Duration backoff = absl::Milliseconds(100);
  std::vector<std::unique_ptr<Job>> spent;
  while (!stopping_) {
    int room = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Reads wait for room for a useful batch (a quarter of the window), not for a single
      // freed slot: under load, fewer and larger XREADGROUPs.
      const int want = std::max(1, std::min(options_.batch_size, options_.max_in_flight / 4));
      room_cv_.wait(lock, [&] {
        return stopping_ || in_flight_ == 0 || options_.max_in_flight - in_flight_ >= want;
      });
      room = options_.max_in_flight - in_flight_;
      spent.swap(spent_);
    }
    spent.clear();  // here, not under the lock
    if (stopping_) break;
    if (conn == nullptr) {
      auto c = store::RedisConnection::Connect(store::RedisOptions{.url = options_.redis_url});
      if (!c.ok()) {
        telemetry::LogEvery(10, LogLevel::kError, "redis unavailable",
                            {{"error", c.status().ToString()}});
        WaitUnlessStopping(backoff);
        backoff = std::min(backoff * 2, absl::Seconds(2));
        continue;
      }
      conn = *std::move(c);
    }
    queue::TaskStream stream(*conn, keys_, options_.consumer_name);
    auto entries = stream.Read(std::min(room, options_.batch_size), options_.read_block);
    if (!entries.ok()) {
      telemetry::LogEvery(10, LogLevel::kError, "stream read failed",
                          {{"error", entries.status().ToString()}});
      WaitUnlessStopping(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(2));
      continue;
    }
    backoff = absl::Milliseconds(100);
    if (!entries->empty()) Dispatch(*std::move(entries), *conn);
  }
}

}  // namespace hookrelay::worker
