// bench_fill: publishes --count events of the 1 KB benchmark payload for --tenant straight
// into Redis, through the same queue::Publisher the registry uses (match against the
// tenant's hooks, then the atomic publish script: event, delivery records, indexes, stream
// tasks), in pipelined batches of --batch events. No gRPC, so a large backlog fills fast and
// is byte-for-byte what publishes through the registry would leave.
// Prints {"events":N,"deliveries":N,"seconds":S} on stdout.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/clock.h"
#include "libs/queue/fan_out.h"
#include "libs/queue/publisher.h"
#include "libs/store/hook_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "tests/bench/payload.h"

ABSL_FLAG(std::string, redis_url, "redis://127.0.0.1:6379", "Redis to fill");
ABSL_FLAG(std::string, key_prefix, "hookrelay:", "Redis key prefix");
ABSL_FLAG(int, shards, hookrelay::store::KeySchema::kDefaultShards, "as the services' --shards");
ABSL_FLAG(std::string, print_stream_of, "",
          "print the stream key of this tenant's shard (for run.sh) and exit");
ABSL_FLAG(std::string, tenant, "bench", "tenant whose hooks receive the events");
ABSL_FLAG(std::string, type, "bench.event", "event type");
ABSL_FLAG(int64_t, count, 200000, "events to publish");
ABSL_FLAG(int, batch, 500, "events per pipelined round trip");
ABSL_FLAG(int, payload_bytes, 1024, "event payload size");
ABSL_FLAG(int, ordering_keys, 0, "events get ordering keys k0..k<N-1> in turn (0: none)");
ABSL_FLAG(int, inline_event_bytes,
          static_cast<int>(hookrelay::queue::Publisher::kDefaultInlineEventBytes),
          "as the registry's flag (events carried in their task, in small batches only)");

namespace hr = hookrelay;

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const hr::store::KeySchema keys(absl::GetFlag(FLAGS_key_prefix), absl::GetFlag(FLAGS_shards));
  if (const std::string t = absl::GetFlag(FLAGS_print_stream_of); !t.empty()) {
    printf("%s\n", keys.StreamOf(t).c_str());
    return 0;
  }
  hr::store::RedisPool pool({.url = absl::GetFlag(FLAGS_redis_url)});
  hr::store::HookStore hooks(pool, keys);
  hr::queue::FanOut fan_out(pool, keys, hr::store::EventStoreOptions{});
  hr::queue::Publisher publisher(hooks, fan_out, hr::core::Clock::Real(),
                                 static_cast<size_t>(absl::GetFlag(FLAGS_inline_event_bytes)));
  hr::bench::Payload payload(absl::GetFlag(FLAGS_payload_bytes));

  const int64_t count = absl::GetFlag(FLAGS_count);
  const absl::Time start = absl::Now();
  int64_t published = 0, deliveries = 0;
  while (published < count) {
    google::protobuf::RepeatedPtrField<hr::v1::PublishEventRequest> reqs;
    const int64_t n = std::min<int64_t>(absl::GetFlag(FLAGS_batch), count - published);
    for (int64_t i = 0; i < n; ++i) {
      hr::v1::PublishEventRequest* r = reqs.Add();
      r->set_tenant(absl::GetFlag(FLAGS_tenant));
      r->set_type(absl::GetFlag(FLAGS_type));
      r->set_payload(payload.Stamp(0, published + i));
      if (const int keys = absl::GetFlag(FLAGS_ordering_keys); keys > 0) {
        r->set_ordering_key(absl::StrCat("k", (published + i) % keys));
      }
    }
    auto out = publisher.PublishBatch(reqs);
    if (!out.ok()) {
      fprintf(stderr, "bench_fill: %s\n", out.status().ToString().c_str());
      return 1;
    }
    for (const auto& r : *out) deliveries += r.delivery_ids_size();
    published += n;
  }
  printf("{\"events\":%lld,\"deliveries\":%lld,\"seconds\":%.3f}\n",
         static_cast<long long>(published), static_cast<long long>(deliveries),
         absl::ToDoubleSeconds(absl::Now() - start));
  return 0;
}
