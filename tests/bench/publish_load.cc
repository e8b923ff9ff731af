// publish_load: gRPC load generator for webhook-registry, on one completion queue.
//
//   closed loop   --concurrency=256 [--batch=100]    keep N calls outstanding
//   open loop     --rate=5000                        start calls on a fixed schedule; latency
//                                                    counts from the scheduled send time, so a
//                                                    stalled server is not hidden
//   setup         --create_hooks=N --hook_url=URL    create N webhooks for --tenant, then exit
//
// Each event carries the 1 KB payload of payload.h stamped with its (scheduled) send time, so
// bench_receiver measures publish-to-delivered latency. With --redis_url the stream backlog
// (group lag + pending) is sampled every 100 ms. Prints one JSON object on stdout.
#include <grpcpp/grpcpp.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "hookrelay/v1/registry.grpc.pb.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"
#include "tests/bench/payload.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "registry gRPC address");
ABSL_FLAG(std::string, api_key, "", "API key sent as a bearer token");
ABSL_FLAG(std::string, tenant, "bench", "tenant of the hooks and events");
ABSL_FLAG(int, tenants, 0,
          "0: every event is --tenant's; N: tenants <tenant>-0 .. <tenant>-(N-1), in turn");
ABSL_FLAG(std::string, type, "bench.event", "event type");
ABSL_FLAG(int, channels, 2, "gRPC channels (TCP connections) calls are spread over");
ABSL_FLAG(int, concurrency, 256, "closed loop: calls kept outstanding");
ABSL_FLAG(double, rate, 0, "open loop: events per second (0: closed loop)");
ABSL_FLAG(double, seconds, 10, "how long to publish");
ABSL_FLAG(int64_t, total, 0, "stop after this many events (0: --seconds only)");
ABSL_FLAG(int, batch, 1, "events per call: 1 = PublishEvent, more = PublishEvents");
ABSL_FLAG(int, payload_bytes, 1024, "event payload size");
ABSL_FLAG(int, max_outstanding, 20000, "open loop: calls outstanding at most (more: 'behind')");
ABSL_FLAG(std::string, redis_url, "", "sample the stream backlog in this Redis");
ABSL_FLAG(std::string, key_prefix, "hookrelay:", "Redis key prefix");
ABSL_FLAG(int, shards, hookrelay::store::KeySchema::kDefaultShards, "as the services' --shards");
ABSL_FLAG(int, create_hooks, 0, "setup: create this many webhooks, then exit");
ABSL_FLAG(std::string, hook_url, "", "setup: the webhooks' URL");
ABSL_FLAG(int, hook_rate_limit, 0, "setup: the webhooks' rate limit per second (0: none)");
ABSL_FLAG(bool, hook_ordered, false, "setup: the webhooks deliver in order per ordering key");

namespace {

namespace v1 = hookrelay::v1;
using Stub = v1::WebhookRegistry::Stub;

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

struct Call {
  grpc::ClientContext ctx;
  v1::PublishEventRequest one_req;
  v1::PublishEventsRequest many_req;
  v1::PublishEventResponse one;
  v1::PublishEventsResponse many;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::PublishEventResponse>> one_reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::PublishEventsResponse>> many_reader;
  grpc::Status status;
  int64_t start_ns = 0;
};

// Samples XINFO GROUPS lag + pending of the stream in the background.
class BacklogSampler {
 public:
  explicit BacklogSampler(const std::string& url) {
    if (url.empty()) return;
    auto conn = hookrelay::store::RedisConnection::Connect({.url = url});
    if (!conn.ok()) {
      fprintf(stderr, "publish_load: redis: %s\n", conn.status().ToString().c_str());
      return;
    }
    thread_ = std::thread([this, c = std::shared_ptr(*std::move(conn))] {
      const hookrelay::store::KeySchema keys(absl::GetFlag(FLAGS_key_prefix),
                                             absl::GetFlag(FLAGS_shards));
      while (!stop_) {
        const long long b = Sample(*c, keys);
        if (b >= 0) {
          last_ = b;
          max_ = std::max<long long>(max_, b);
        }
        absl::SleepFor(absl::Milliseconds(100));
      }
    });
  }
  ~BacklogSampler() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long long max() const { return max_; }
  long long last() const { return last_; }

 private:
  static long long Sample(hookrelay::store::RedisConnection& c,
                          const hookrelay::store::KeySchema& keys) {
    hookrelay::store::Pipeline p;
    for (int s = 0; s < keys.shards(); ++s) p.Add({"XINFO", "GROUPS", keys.Stream(s)});
    auto replies = c.Execute(p);
    if (!replies.ok()) return -1;
    long long total = 0;
    for (const auto& r : *replies) {
      for (const auto& g : r.elements) {
        for (size_t i = 0; i + 1 < g.elements.size(); i += 2) {
          const std::string& k = g.elements[i].str;
          if (k == "lag" || k == "pending") total += g.elements[i + 1].integer;
        }
      }
    }
    return total;
  }
  std::atomic<bool> stop_{false};
  std::atomic<long long> max_{0}, last_{0};
  std::thread thread_;
};

// The tenants events go to (--tenant, --tenants).
std::vector<std::string> Tenants() {
  const std::string base = absl::GetFlag(FLAGS_tenant);
  const int n = absl::GetFlag(FLAGS_tenants);
  if (n <= 0) return {base};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(absl::StrCat(base, "-", i));
  return out;
}

class Load {
 public:
  Load() : payload_(absl::GetFlag(FLAGS_payload_bytes)) {
    for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
      grpc::ChannelArguments args;
      args.SetInt("hookrelay.bench.channel", i);  // distinct args: one TCP connection each
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      // The generator shares the measured cores, so it runs the leanest client stack gRPC
      // has: no retry filter (it holds every call's messages for a retry we never make)
      // and the minimal filter stack (no client-side deadline timer: the registry still
      // enforces the deadline it is sent): 43-48 µs of CPU per call instead of 53-61.
      args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
      args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
      stubs_.push_back(v1::WebhookRegistry::NewStub(grpc::CreateCustomChannel(
          absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), args)));
    }
  }

  int Run() {
    const double rate = absl::GetFlag(FLAGS_rate);
    const int batch = std::max(1, absl::GetFlag(FLAGS_batch));
    const int64_t total = absl::GetFlag(FLAGS_total);
    const int64_t max_calls = total > 0 ? (total + batch - 1) / batch : INT64_MAX;
    const int64_t duration_ns = absl::GetFlag(FLAGS_seconds) * 1e9;
    BacklogSampler backlog(absl::GetFlag(FLAGS_redis_url));
    start_ns_ = NowNs();
    const int64_t end_ns = start_ns_ + duration_ns;
    if (rate > 0) {
      // Open loop: this thread starts calls on schedule, sleeping to each due time (with
      // the timer slack at 1 µs); another takes the answers as they come. Latency counts
      // from the due time, so a call started late is not hidden.
      prctl(PR_SET_TIMERSLACK, 1UL);
      std::thread answers([this] {
        void* tag;
        bool ok;
        while (cq_.Next(&tag, &ok)) Handle(tag, ok);
      });
      const double interval_ns = 1e9 * batch / rate;
      const int max_out = absl::GetFlag(FLAGS_max_outstanding);
      while (calls_ < max_calls) {
        const int64_t due = start_ns_ + static_cast<int64_t>(calls_ * interval_ns);
        if (due >= end_ns) break;
        const int64_t wait = due - NowNs();
        if (wait > 0) absl::SleepFor(absl::Nanoseconds(wait));
        if (outstanding_ < max_out) {
          StartCall(due, batch);
        } else {
          std::lock_guard<std::mutex> lock(mu_);
          ++behind_;
          ++calls_;
        }
      }
      const int64_t sent_end_ns = NowNs();
      while (outstanding_ > 0 && NowNs() < sent_end_ns + 30'000'000'000) {
        absl::SleepFor(absl::Milliseconds(1));
      }
      end_ns_ = NowNs();
      cq_.Shutdown();
      answers.join();
      backlog.Stop();
      Print(rate, batch, sent_end_ns, backlog);
      return 0;
    } else {
      const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
      while (calls_ < max_calls && outstanding_ < concurrency) StartCall(NowNs(), batch);
      while (outstanding_ > 0 && NowNs() < end_ns) {
        Poll(end_ns);
        while (calls_ < max_calls && outstanding_ < concurrency && NowNs() < end_ns) {
          StartCall(NowNs(), batch);
        }
      }
    }
    const int64_t sent_end_ns = NowNs();
    while (outstanding_ > 0 && NowNs() < sent_end_ns + 30'000'000'000) Poll(sent_end_ns + 30e9);
    end_ns_ = NowNs();
    backlog.Stop();
    Print(rate, batch, sent_end_ns, backlog);
    return 0;
  }

 private:
  void StartCall(int64_t start_ns, int batch) {
    auto* call = new Call;
    call->start_ns = start_ns;
    call->ctx.AddMetadata("authorization", authorization_);
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    Stub& stub = *stubs_[calls_ % stubs_.size()];
    auto fill = [&](v1::PublishEventRequest* r) {
      r->set_tenant(tenants_[static_cast<size_t>(seq_) % tenants_.size()]);
      r->set_type(type_);
      r->set_payload(payload_.Stamp(start_ns, seq_++));
    };
    if (batch == 1) {
      fill(&call->one_req);
      call->one_reader = stub.AsyncPublishEvent(&call->ctx, call->one_req, &cq_);
      call->one_reader->Finish(&call->one, &call->status, call);
    } else {
      for (int i = 0; i < batch; ++i) fill(call->many_req.add_events());
      call->many_reader = stub.AsyncPublishEvents(&call->ctx, call->many_req, &cq_);
      call->many_reader->Finish(&call->many, &call->status, call);
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    ++outstanding_;
  }

  // Waits until `deadline_ns` for a completion and handles it; false if none came.
  bool Poll(int64_t deadline_ns) {
    void* tag;
    bool ok;
    const auto deadline = gpr_time_add(gpr_time_0(GPR_CLOCK_REALTIME),
                                       gpr_time_from_nanos(deadline_ns, GPR_TIMESPAN));
    if (cq_.AsyncNext(&tag, &ok, deadline) != grpc::CompletionQueue::GOT_EVENT) return false;
    Handle(tag, ok);
    return true;
  }

  void Handle(void* tag, bool ok) {
    std::unique_ptr<Call> call(static_cast<Call*>(tag));
    const int64_t now = NowNs();
    std::lock_guard<std::mutex> lock(mu_);
    --outstanding_;
    if (!ok || !call->status.ok()) {
      if (errors_++ == 0) first_error_ = call->status.error_message();
      return;
    }
    latencies_.push_back(now - call->start_ns);
    if (call->one_reader) {
      ++events_;
      deliveries_ += call->one.delivery_ids_size();
    } else {
      for (const auto& r : call->many.results()) {
        ++events_;
        deliveries_ += r.delivery_ids_size();
      }
    }
  }

  double QuantileMs(double q) {
    if (latencies_.empty()) return -1;
    const size_t i = std::min(latencies_.size() - 1, static_cast<size_t>(q * latencies_.size()));
    std::nth_element(latencies_.begin(), latencies_.begin() + i, latencies_.end());
    return latencies_[i] / 1e6;
  }

  void Print(double rate, int batch, int64_t sent_end_ns, const BacklogSampler& backlog) {
    const double send_s = (sent_end_ns - start_ns_) / 1e9;
    const double all_s = (end_ns_ - start_ns_) / 1e9;
    std::string err = first_error_;
    std::replace(err.begin(), err.end(), '"', '\'');
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu_s =
        ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("%s\n", absl::StrFormat(
                       "{\"rate\":%.1f,\"batch\":%d,\"calls\":%d,\"behind\":%d,\"errors\":%d,"
                       "\"first_error\":\"%s\",\"events\":%d,\"deliveries\":%d,\"send_s\":%.3f,"
                       "\"elapsed_s\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
                       "\"max_ms\":%.3f,\"start_ns\":%d,\"end_ns\":%d,\"max_backlog\":%d,"
                       "\"final_backlog\":%d,\"load_cpu_s\":%.3f}",
                       rate, batch, calls_, behind_, errors_, err, events_, deliveries_, send_s,
                       all_s, events_ / all_s, QuantileMs(0.5), QuantileMs(0.99), QuantileMs(1.0),
                       start_ns_, end_ns_, backlog.max(), backlog.last(), cpu_s)
                       .c_str());
  }

  hookrelay::bench::Payload payload_;
  // Read once: a string flag is copied under the flag's lock on every GetFlag.
  const std::string authorization_ = "Bearer " + absl::GetFlag(FLAGS_api_key);
  const std::vector<std::string> tenants_ = Tenants();
  const std::string type_ = absl::GetFlag(FLAGS_type);
  std::vector<std::unique_ptr<Stub>> stubs_;
  grpc::CompletionQueue cq_;
  std::mutex mu_;  // the open loop's answer thread updates the counters below
  std::atomic<int64_t> calls_ = 0, outstanding_ = 0;
  int64_t behind_ = 0, errors_ = 0, seq_ = 0;
  int64_t events_ = 0, deliveries_ = 0, start_ns_ = 0, end_ns_ = 0;
  std::string first_error_;
  std::vector<int64_t> latencies_;
};

// Creates --create_hooks webhooks (standard signing, envelope) for each tenant's events.
int CreateHooks() {
  auto stub = v1::WebhookRegistry::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials()));
  const int64_t start = NowNs();
  const std::vector<std::string> tenants = Tenants();
  for (int i = 0; i < absl::GetFlag(FLAGS_create_hooks) * static_cast<int>(tenants.size()); ++i) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + absl::GetFlag(FLAGS_api_key));
    v1::CreateWebhookRequest req;
    v1::Webhook* h = req.mutable_webhook();
    h->set_tenant(tenants[static_cast<size_t>(i) % tenants.size()]);
    h->set_url(absl::GetFlag(FLAGS_hook_url));
    h->add_event_types(absl::GetFlag(FLAGS_type));
    h->set_description(absl::StrCat("bench hook ", i));
    if (const int rate = absl::GetFlag(FLAGS_hook_rate_limit); rate > 0) {
      h->mutable_rate_limit()->set_per_second(rate);
    }
    if (absl::GetFlag(FLAGS_hook_ordered)) h->set_ordering(v1::ORDERING_PER_KEY);
    v1::Webhook created;
    grpc::Status st = stub->CreateWebhook(&ctx, req, &created);
    if (!st.ok()) {
      fprintf(stderr, "publish_load: CreateWebhook: %s\n", st.error_message().c_str());
      return 1;
    }
  }
  printf("{\"hooks\":%d,\"seconds\":%.3f}\n",
         absl::GetFlag(FLAGS_create_hooks) * static_cast<int>(tenants.size()),
         (NowNs() - start) / 1e9);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // As in the registry: Debian's Abseil checks every absl::Mutex (gRPC's) for lock-order
  // cycles, a global lock and a graph update per call; the load shares the measured cores.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_create_hooks) > 0) return CreateHooks();
  return Load().Run();
}
