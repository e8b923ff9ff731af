// delivery-worker: delivers webhook tasks from the Redis streams. Flags also read
// HOOKRELAY_<FLAG> environment variables; see README "Configuration".
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/flags.h"
#include "libs/core/shutdown.h"
#include "libs/queue/migrate.h"
#include "libs/store/redis_flags.h"
#include "libs/telemetry/admin_server.h"
#include "libs/telemetry/log.h"
#include "services/worker/worker.h"

ABSL_FLAG(std::string, metrics_address, "0.0.0.0:9092", "/metrics, /healthz, /readyz");
ABSL_FLAG(std::string, key_prefix, "hookrelay:", "Prefix of every Redis key");
ABSL_FLAG(int, shards, hookrelay::store::KeySchema::kDefaultShards,
          "Shards of the Redis keyspace; the same for every registry and worker of a deployment");
ABSL_FLAG(bool, migrate_layout, false,
          "Convert a Redis holding the unsharded layout of earlier releases, then exit (stop "
          "every old registry and worker first)");
ABSL_FLAG(int, max_in_flight, 256, "HTTP requests in flight per worker");
ABSL_FLAG(int, senders, 1,
          "HTTP sender threads (each with its own connections and epoll loop); more help only "
          "when one sender thread is saturated");
ABSL_FLAG(int, max_in_flight_per_hook, 32, "HTTP requests in flight to one webhook");
ABSL_FLAG(int, batch_size, 128, "Stream entries one read of a busy shard brings at most");
ABSL_FLAG(std::string, allow_cidrs, "", "Comma-separated CIDRs exempt from the SSRF guard");
ABSL_FLAG(bool, allow_http, false, "Allow plain http:// targets");
ABSL_FLAG(std::string, ca_file, "",
          "PEM bundle of the CAs subscribers' certificates must chain to (default: the system's)");
ABSL_FLAG(absl::Duration, record_linger, absl::Milliseconds(2),
          "At low rates, how long a few finished requests wait to be recorded together");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(25), "Graceful shutdown deadline");
ABSL_FLAG(absl::Duration, visibility_timeout, absl::Seconds(60), "Reclaim entries idle this long");
ABSL_FLAG(int, max_reclaims, 5, "Fail an entry reclaimed more often than this");
ABSL_FLAG(int, disable_after_failures, 10, "Disable a hook after N consecutive failed deliveries");
ABSL_FLAG(absl::Duration, disable_after, absl::Hours(120), "Disable a hook failing this long");
ABSL_FLAG(absl::Duration, retention, absl::Hours(720), "Keep delivery records this long");
ABSL_FLAG(std::string, consumer_name, "", "Consumer name in the group (default: hostname)");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");

namespace hr = hookrelay;

namespace {

absl::StatusOr<hr::worker::WorkerOptions> OptionsFromFlags() {
  char host[256] = "worker";
  gethostname(host, sizeof(host) - 1);
  hr::worker::WorkerOptions o;
  auto redis = hr::store::RedisOptionsFromFlags();
  if (!redis.ok()) return redis.status();
  o.redis = *std::move(redis);
  o.key_prefix = absl::GetFlag(FLAGS_key_prefix);
  o.shards = absl::GetFlag(FLAGS_shards);
  // Unique per process, so a restarted worker reclaims what its previous life left pending.
  o.consumer_name = absl::GetFlag(FLAGS_consumer_name);
  absl::StrAppend(&o.consumer_name, o.consumer_name.empty() ? host : "", "-", getpid(), "-",
                  absl::Uniform<uint32_t>(absl::BitGen(), 0, 1u << 20));
  o.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  o.senders = absl::GetFlag(FLAGS_senders);
  o.batch_size = absl::GetFlag(FLAGS_batch_size);
  o.record_linger = absl::GetFlag(FLAGS_record_linger);
  o.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  o.allow_cidrs = absl::StrSplit(absl::GetFlag(FLAGS_allow_cidrs), ',', absl::SkipEmpty());
  o.sender.allow_http = absl::GetFlag(FLAGS_allow_http);
  o.sender.ca_file = absl::GetFlag(FLAGS_ca_file);
  o.dispatch.slots.per_hook = absl::GetFlag(FLAGS_max_in_flight_per_hook);
  o.dispatch.slots.queue_per_hook = o.dispatch.slots.per_hook;
  o.dispatch.max_reclaims = absl::GetFlag(FLAGS_max_reclaims);
  o.health.disable_after_failures = absl::GetFlag(FLAGS_disable_after_failures);
  o.health.disable_after = absl::GetFlag(FLAGS_disable_after);
  o.health.retention = absl::GetFlag(FLAGS_retention);
  o.maintain.visibility_timeout = absl::GetFlag(FLAGS_visibility_timeout);
  return o;
}

// --migrate_layout: converts an unsharded Redis, logs what moved; exit status 0 or 1.
int MigrateLayout(const hr::worker::WorkerOptions& o) {
  const hr::store::KeySchema keys(o.key_prefix, o.shards);
  auto conn = hr::store::RedisConnection::Connect(o.redis);
  auto report = conn.ok() ? hr::queue::MigrateLegacyLayout(**conn, keys)
                          : absl::StatusOr<hr::queue::MigrationReport>(conn.status());
  if (!report.ok()) {
    hr::telemetry::LogError("layout migration failed", {{"error", report.status().ToString()}});
    return 1;
  }
  hr::telemetry::LogInfo("layout migrated", {{"shards", o.shards},
                                             {"tenant_keys", report->tenant_keys},
                                             {"api_keys", report->api_keys},
                                             {"tasks", report->tasks},
                                             {"retries", report->retries},
                                             {"dropped", report->dropped}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  hr::core::BlockShutdownSignals();
  if (absl::Status st = hr::core::ParseFlagsWithEnvironment(argc, argv, "delivery-worker", nullptr);
      !st.ok()) {
    std::cerr << st.message() << "\n";
    return 2;
  }
  if (absl::Status st =
          hr::telemetry::InitLogging("delivery-worker", absl::GetFlag(FLAGS_log_level));
      !st.ok()) {
    std::cerr << st.message() << "\n";
    return 2;
  }
  auto options = OptionsFromFlags();
  if (!options.ok()) {
    hr::telemetry::LogError("invalid configuration", {{"error", options.status().ToString()}});
    return 2;
  }
  const hr::worker::WorkerOptions& o = *options;
  if (absl::GetFlag(FLAGS_migrate_layout)) return MigrateLayout(o);
  auto registry = std::make_shared<prometheus::Registry>();
  hr::worker::WorkerMetrics metrics(*registry);
  auto worker = hr::worker::Worker::Create(o, hr::core::Clock::Real(), metrics);
  if (!worker.ok()) {
    hr::telemetry::LogError("invalid configuration", {{"error", worker.status().ToString()}});
    return 2;
  }
  auto admin = hr::telemetry::AdminServer::Start(absl::GetFlag(FLAGS_metrics_address), registry,
                                                 [&] { return (*worker)->Ready(); });
  absl::Status started = admin.ok() ? (*worker)->Start() : admin.status();
  // Redis not reachable yet (it may start after us): keep trying. Wrong credentials, TLS or
  // ACL permissions will not fix themselves: those end the process, with their cause.
  for (absl::Duration wait = absl::Seconds(1); absl::IsUnavailable(started);
       wait = std::min(2 * wait, absl::Seconds(10))) {
    hr::telemetry::LogWarn(
        "redis not reachable; retrying",
        {{"error", started.ToString()}, {"retry_in", absl::FormatDuration(wait)}});
    if (const int sig = hr::core::WaitForShutdownSignalFor(wait); sig != 0) {
      hr::telemetry::LogInfo("shutting down", {{"signal", sig}});
      return 0;
    }
    started = (*worker)->Start();
  }
  if (!started.ok()) {
    hr::telemetry::LogError("cannot start", {{"error", started.ToString()}});
    return 1;
  }
  hr::telemetry::LogInfo("listening", {{"metrics_port", (*admin)->port()}});
  const int sig = hr::core::WaitForShutdownSignal();
  hr::telemetry::LogInfo("shutting down", {{"signal", sig}});
  (*worker)->Shutdown();
  (*admin)->Stop();
  return 0;
}
