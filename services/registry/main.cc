// webhook-registry: the gRPC API to configure webhooks and publish events. Flags also read
// HOOKRELAY_<FLAG> environment variables; see README "Configuration".
#include <cstdint>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/flags.h"
#include "libs/core/shutdown.h"
#include "libs/queue/publisher.h"
#include "libs/store/redis_flags.h"
#include "libs/telemetry/admin_server.h"
#include "libs/telemetry/log.h"
#include "services/registry/grpc_service.h"
#include "services/registry/server.h"

ABSL_FLAG(std::string, grpc_address, "0.0.0.0:50051", "gRPC listen address");
ABSL_FLAG(std::string, metrics_address, "0.0.0.0:9091", "/metrics, /healthz, /readyz");
ABSL_FLAG(std::string, key_prefix, "hookrelay:", "Prefix of every Redis key");
ABSL_FLAG(int, shards, hookrelay::store::KeySchema::kDefaultShards,
          "Shards of the Redis keyspace; the same for every registry and worker of a deployment");
ABSL_FLAG(std::string, admin_api_key_file, "", "File holding the bootstrap admin API key");
ABSL_FLAG(std::string, admin_api_key, "", "The bootstrap admin API key (prefer the file)");
ABSL_FLAG(bool, insecure_no_auth, false, "Accept every caller as admin (development only)");
ABSL_FLAG(absl::Duration, api_key_cache_ttl, absl::Seconds(2),
          "How long a replica remembers an API key: a key revoked through another replica "
          "stops working here within this time (at once through this one)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate for the gRPC port");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for the gRPC port");
ABSL_FLAG(int, max_payload_bytes, 256 * 1024, "Largest event payload accepted");
ABSL_FLAG(bool, allow_http, false, "Accept plain http:// hook URLs");
ABSL_FLAG(absl::Duration, retention, absl::Hours(720), "Keep events and deliveries this long");
ABSL_FLAG(int, publish_flushers, 2,
          "Threads writing PublishEvent group commits to Redis (each one pipelined round trip)");
ABSL_FLAG(int, publish_batch, 256, "Most PublishEvent calls written in one group commit");
ABSL_FLAG(int, inline_event_bytes,
          static_cast<int>(hookrelay::queue::Publisher::kDefaultInlineEventBytes),
          "Events for one hook up to this size, published at most 4 per Redis round trip, "
          "travel inside their stream task (0: never)");
static_assert(hookrelay::queue::Publisher::kMaxInlineBatch == 4,
              "--inline_event_bytes's help names the batch size");
ABSL_FLAG(int, publish_min_replicas, 0,
          "Answer a publish only once this many replicas hold it (Redis WAIT); 0: when its "
          "master has it");
ABSL_FLAG(absl::Duration, publish_replica_timeout, absl::Seconds(1),
          "How long a publish waits for --publish_min_replicas before failing UNAVAILABLE");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");

namespace hr = hookrelay;

int main(int argc, char** argv) {
  // Debian's Abseil is built with absl::Mutex deadlock detection on; gRPC locks its mutexes
  // per call, and the cycle bookkeeping cost ~7 % of the registry's CPU when publishing.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  hr::core::BlockShutdownSignals();
  if (absl::Status st =
          hr::core::ParseFlagsWithEnvironment(argc, argv, "webhook-registry", nullptr);
      !st.ok()) {
    std::cerr << st.message() << "\n";
    return 2;
  }
  if (absl::Status st =
          hr::telemetry::InitLogging("webhook-registry", absl::GetFlag(FLAGS_log_level));
      !st.ok()) {
    std::cerr << st.message() << "\n";
    return 2;
  }
  std::string admin_key = absl::GetFlag(FLAGS_admin_api_key);
  if (const std::string file = absl::GetFlag(FLAGS_admin_api_key_file); !file.empty()) {
    std::ifstream in(file);
    if (!std::getline(in, admin_key)) {
      hr::telemetry::LogError("admin_api_key_file: cannot read", {{"path", file}});
      return 2;
    }
  }
  admin_key = std::string(absl::StripAsciiWhitespace(admin_key));
  if (const absl::Duration ttl = absl::GetFlag(FLAGS_api_key_cache_ttl);
      ttl < absl::ZeroDuration() || ttl > absl::Minutes(10)) {
    hr::telemetry::LogError("api_key_cache_ttl: must be in [0s, 10m]");
    return 2;
  }
  const bool insecure = absl::GetFlag(FLAGS_insecure_no_auth);
  if (insecure) {
    hr::telemetry::LogWarn(
        "AUTHENTICATION IS OFF (--insecure_no_auth): every caller is admin; "
        "never run this way outside local development");
  } else if (admin_key.empty()) {
    hr::telemetry::LogWarn(
        "no admin API key configured (--admin_api_key_file); every call "
        "will be refused as UNAUTHENTICATED");
  }

  hr::registry::RegistryOptions o;
  auto redis = hr::store::RedisOptionsFromFlags();
  if (!redis.ok()) {
    hr::telemetry::LogError("invalid configuration", {{"error", redis.status().ToString()}});
    return 2;
  }
  o.redis = *std::move(redis);
  o.durability.min_replicas = absl::GetFlag(FLAGS_publish_min_replicas);
  o.durability.timeout = absl::GetFlag(FLAGS_publish_replica_timeout);
  o.key_prefix = absl::GetFlag(FLAGS_key_prefix);
  o.shards = absl::GetFlag(FLAGS_shards);
  o.limits.max_payload_bytes = absl::GetFlag(FLAGS_max_payload_bytes);
  o.limits.allow_http = absl::GetFlag(FLAGS_allow_http);
  o.events.retention = absl::GetFlag(FLAGS_retention);
  o.publish.flushers = absl::GetFlag(FLAGS_publish_flushers);
  o.publish.max_batch = absl::GetFlag(FLAGS_publish_batch);
  const int inline_bytes = absl::GetFlag(FLAGS_inline_event_bytes);
  o.inline_event_bytes = inline_bytes < 0 ? SIZE_MAX : static_cast<size_t>(inline_bytes);
  auto registry = hr::registry::Registry::Create(o, hr::core::Clock::Real());
  if (!registry.ok()) {
    hr::telemetry::LogError("invalid configuration", {{"error", registry.status().ToString()}});
    return 2;
  }
  // Redis not reachable yet: serve, not ready, until it is. Wrong credentials, TLS or ACL
  // permissions, or another layout, will not fix themselves: exit with the cause.
  if (absl::Status st = (*registry)->EnsureLayout(); !st.ok() && !absl::IsUnavailable(st)) {
    hr::telemetry::LogError("cannot start", {{"error", st.ToString()}});
    return 1;
  } else if (!st.ok()) {
    hr::telemetry::LogWarn("redis not ready; /readyz reports why until it is",
                           {{"error", st.ToString()}});
  }
  auto prom = std::make_shared<prometheus::Registry>();
  hr::registry::RegistryMetrics metrics(*prom);
  hr::registry::Authenticator auth(insecure, admin_key, &(*registry)->api_keys(),
                                   absl::GetFlag(FLAGS_api_key_cache_ttl));
  hr::registry::GrpcService service(**registry, auth, metrics);
  auto admin = hr::telemetry::AdminServer::Start(absl::GetFlag(FLAGS_metrics_address), prom,
                                                 [&] { return (*registry)->Ready(); });
  const hr::registry::HealthOptions health{
      .service_name = hr::v1::WebhookRegistry::service_full_name(),
      .ready = [&] { return (*registry)->Ready(); }};
  auto server = admin.ok() ? hr::registry::GrpcServer::Start({absl::GetFlag(FLAGS_grpc_address),
                                                              absl::GetFlag(FLAGS_tls_cert_file),
                                                              absl::GetFlag(FLAGS_tls_key_file)},
                                                             &service, health)
                           : admin.status();
  if (!server.ok()) {
    hr::telemetry::LogError("cannot start", {{"error", server.status().ToString()}});
    return 1;
  }
  hr::telemetry::LogInfo("listening",
                         {{"grpc_port", (*server)->port()}, {"metrics_port", (*admin)->port()}});
  const int sig = hr::core::WaitForShutdownSignal();
  hr::telemetry::LogInfo("shutting down", {{"signal", sig}});
  (*server)->Shutdown(absl::Seconds(10));
  (*admin)->Stop();
  return 0;
}
