// The worker's stages on their own, without the worker's threads: the Dispatcher, Recorder
// and Maintainer against a private redis-server, driven by a SimulatedClock, with a fake
// request sender that the test answers (the real one has its own tests in tests/*/http).
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/queue/fan_out.h"
#include "libs/queue/publisher.h"
#include "libs/queue/task_queue.h"
#include "libs/store/delivery_store.h"
#include "libs/store/hook_store.h"
#include "libs/store/redis_pool.h"
#include "prometheus/registry.h"
#include "services/worker/dispatcher.h"
#include "services/worker/endpoint_health.h"
#include "services/worker/maintainer.h"
#include "services/worker/recorder.h"
#include "services/worker/worker_metrics.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::worker {
namespace {

using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::RedisServer;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Requests the dispatcher submitted, answered when the test says.
class FakeSender : public RequestSender {
 public:
  struct Sent {
    http::HttpRequest request;
    http::HttpSender::Completion done;
  };
  void Submit(http::HttpRequest request, http::HttpSender::Completion done) override {
    sent.push_back({std::move(request), std::move(done)});
  }
  // Answers the oldest request not yet answered.
  void Answer(int status) {
    Sent s = std::move(sent.front());
    sent.pop_front();
    s.done(http::HttpResponse{.status = status, .duration = absl::Milliseconds(3)});
  }
  std::deque<Sent> sent;
};

// Jobs the dispatcher finished with.
class Collect : public JobSink {
 public:
  void Finish(std::unique_ptr<Job> job) override { jobs.push_back(std::move(job)); }
  std::vector<std::unique_ptr<Job>> jobs;
};

class StagesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    ASSERT_OK_AND_ASSIGN(conn_, store::RedisConnection::Connect({.url = redis_->url()}));
    ASSERT_OK(queue::TaskQueue(*conn_, keys_).EnsureGroups());
  }

  v1::Webhook CreateHook(const std::string& tenant, const std::string& url) {
    v1::Webhook hook;
    hook.set_id(core::NewId(core::kWebhookIdPrefix, clock_.Now()));
    hook.set_tenant(tenant);
    hook.set_url(url);
    hook.add_event_types("*");
    hook.set_enabled(true);
    hook.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_STANDARD);
    hook.mutable_signing()->set_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    EXPECT_OK(hooks_.Create(hook));
    return hook;
  }
  std::string Publish(const std::string& tenant) {
    v1::PublishEventRequest req;
    req.set_tenant(tenant);
    req.set_type("order.created");
    req.set_payload(R"({"n":1})");
    auto resp = publisher_.Publish(req);
    EXPECT_OK(resp.status());
    return resp.ok() && resp->delivery_ids_size() > 0 ? resp->delivery_ids(0) : "";
  }
  // Every entry of every shard's stream, as a consumer of the workers' group reads them.
  std::vector<queue::StreamEntry> ReadAll(const std::string& consumer = "stages") {
    std::vector<queue::StreamEntry> out;
    for (int s = 0; s < keys_.shards(); ++s) {
      auto r = conn_->Command({"XREADGROUP", "GROUP", "workers", consumer, "COUNT", "1000",
                               "STREAMS", keys_.Stream(s), ">"});
      EXPECT_OK(r.status());
      if (!r.ok() || r->is_nil()) continue;
      for (const auto& e : r->elements[0].elements[1].elements) {
        out.push_back({.shard = s, .id = e.elements[0].str, .task = e.elements[1].elements[1].str});
      }
    }
    return out;
  }
  // Prepare → Fetch → Launch, as the worker's reader does.
  void Dispatch(Dispatcher& d, std::vector<queue::StreamEntry> entries) {
    auto jobs = d.Prepare(std::move(entries));
    ASSERT_OK(d.Fetch(jobs, *conn_));
    d.Launch(std::move(jobs));
  }
  v1::Delivery Delivery(const std::string& tenant, const std::string& id) {
    auto d = deliveries_.Get(tenant, id);
    EXPECT_OK(d.status());
    return d.ok() ? *d : v1::Delivery();
  }
  long long Integer(const std::vector<std::string>& argv) {
    long long n = -1;
    auto r = redis_->Command(argv);
    EXPECT_TRUE(r.ok() && absl::SimpleAtoi(r->substr(0, r->find('\n')), &n)) << r.status();
    return n;
  }

  inline static std::unique_ptr<RedisServer> redis_;
  core::SimulatedClock clock_;
  const store::KeySchema keys_{"hookrelay:", 4};
  store::RedisPool pool_{store::RedisOptions{.url = redis_->url()}};
  store::HookStore hooks_{pool_, keys_};
  store::DeliveryStore deliveries_{pool_, keys_};
  queue::FanOut fan_out_{pool_, keys_, store::EventStoreOptions{}};
  queue::Publisher publisher_{hooks_, fan_out_, clock_};
  std::unique_ptr<store::RedisConnection> conn_;
  FakeSender sender_;
  Collect sink_;
  prometheus::Registry prometheus_;
  WorkerMetrics metrics_{prometheus_};
};

TEST_F(StagesTest, DispatcherRendersSignsAndSendsAPublishedDelivery) {
  const v1::Webhook hook = CreateHook("acme", "https://receiver.example/hook");
  const std::string delivery = Publish("acme");
  Dispatcher d({}, keys_, clock_, sender_, sink_);
  Dispatch(d, ReadAll());
  ASSERT_THAT(sender_.sent, SizeIs(1));
  const http::HttpRequest& req = sender_.sent[0].request;
  EXPECT_EQ(req.url, hook.url());
  EXPECT_THAT(req.body, HasSubstr(R"("data":{"n":1})"));
  EXPECT_EQ(req.timeout, http::kDefaultDeliveryTimeout);
  auto header = [&](absl::string_view name) {
    for (const auto& [k, v] : req.headers) {
      if (k == name) return v;
    }
    return std::string();
  };
  EXPECT_EQ(header("webhook-id"), delivery);
  EXPECT_TRUE(absl::StartsWith(header("webhook-signature"), "v1,"));
  EXPECT_TRUE(sink_.jobs.empty());
  sender_.Answer(204);
  ASSERT_THAT(sink_.jobs, SizeIs(1));
  EXPECT_EQ(sink_.jobs[0]->kind, Job::Kind::kHttp);
  EXPECT_EQ(sink_.jobs[0]->response.status, 204);
}

// The dispatcher's cache is not told of the change here (no pub/sub): only the task's
// version makes it read the hook again.
TEST_F(StagesTest, DispatcherReadsAHookAgainWhenATaskWasPlannedAtANewerVersion) {
  v1::Webhook hook = CreateHook("acme", "https://old.example/hook");
  Publish("acme");
  Dispatcher d({}, keys_, clock_, sender_, sink_);
  Dispatch(d, ReadAll());
  ASSERT_EQ(sender_.sent.back().request.url, "https://old.example/hook");
  hook.set_url("https://new.example/hook");
  ASSERT_OK(hooks_.Replace(hook));
  Publish("acme");
  Dispatch(d, ReadAll());
  ASSERT_THAT(sender_.sent, SizeIs(2));
  EXPECT_EQ(sender_.sent.back().request.url, "https://new.example/hook");
}

TEST_F(StagesTest, DispatcherCancelsADeletedHooksDeliveryAndFailsAnExpiredEvent) {
  const v1::Webhook hook = CreateHook("acme", "https://receiver.example/hook");
  Publish("acme");
  Publish("acme");
  std::vector<queue::StreamEntry> entries = ReadAll();
  ASSERT_THAT(entries, SizeIs(2));
  ASSERT_OK(hooks_.Delete("acme", hook.id()));
  Dispatcher d({}, keys_, clock_, sender_, sink_);
  Dispatch(d, {entries[0]});
  ASSERT_THAT(sink_.jobs, SizeIs(1));
  EXPECT_EQ(sink_.jobs[0]->kind, Job::Kind::kCancelled);

  CreateHook("acme", "https://receiver.example/hook");
  const std::string id = Publish("acme");
  entries = ReadAll();
  v1::DeliveryTask task;
  ASSERT_TRUE(task.ParseFromString(entries[0].task));
  ASSERT_OK(redis_->Command({"DEL", keys_.Event("acme", task.event_id())}).status());
  task.clear_event();  // as a retry, which reads the stored event
  entries[0].task = task.SerializeAsString();
  Dispatch(d, {entries[0]});
  ASSERT_THAT(sink_.jobs, SizeIs(2));
  EXPECT_EQ(sink_.jobs[1]->kind, Job::Kind::kExpired);
}

TEST_F(StagesTest, DispatcherQueuesBeyondAHooksLimitAndPutsOffWhatItCannotQueue) {
  CreateHook("acme", "https://receiver.example/hook");
  for (int i = 0; i < 3; ++i) Publish("acme");
  DispatcherOptions options;
  options.slots = {.per_hook = 1, .queue_per_hook = 1};
  Dispatcher d(options, keys_, clock_, sender_, sink_);
  Dispatch(d, ReadAll());
  EXPECT_THAT(sender_.sent, SizeIs(1));  // one in flight
  ASSERT_THAT(sink_.jobs, SizeIs(1));    // one queued, one put off
  EXPECT_EQ(sink_.jobs[0]->kind, Job::Kind::kDeferred);
  EXPECT_EQ(sink_.jobs[0]->defer_for, absl::Seconds(1));
  sender_.Answer(204);  // the queued job takes the freed slot
  EXPECT_THAT(sender_.sent, SizeIs(1));
  EXPECT_THAT(sink_.jobs, SizeIs(2));
}

TEST_F(StagesTest, DispatcherHandsAStalledHooksQueueBack) {
  CreateHook("acme", "https://receiver.example/hook");
  for (int i = 0; i < 3; ++i) Publish("acme");
  DispatcherOptions options;
  options.slots = {.per_hook = 1, .queue_per_hook = 5};
  Dispatcher d(options, keys_, clock_, sender_, sink_);
  Dispatch(d, ReadAll());
  ASSERT_THAT(sender_.sent, SizeIs(1));
  d.DeferStalled();
  EXPECT_TRUE(sink_.jobs.empty());
  clock_.Advance(absl::Seconds(2));  // nothing finished meanwhile
  d.DeferStalled();
  ASSERT_THAT(sink_.jobs, SizeIs(2));
  for (const auto& job : sink_.jobs) {
    EXPECT_EQ(job->kind, Job::Kind::kDeferred);
    EXPECT_EQ(job->defer_for, absl::Seconds(2));
  }
}

// Finished jobs of two shards: one transaction per shard, both in one round trip; the
// records, the retry (at the simulated now plus the policy's delay, in its own shard) and the
// acks land together.
TEST_F(StagesTest, RecorderWritesEachShardsJobsInOneTransactionOfThatShard) {
  std::string a = "acme", b;
  for (int i = 0; b.empty(); ++i) {
    const std::string t = absl::StrCat("tenant-", i);
    if (keys_.ShardOf(t) != keys_.ShardOf(a)) b = t;
  }
  v1::Webhook hook_b = CreateHook(b, "https://b.example/hook");
  CreateHook(a, "https://a.example/hook");
  hook_b.mutable_retry_policy()->add_delays_ms(5000);
  hook_b.mutable_retry_policy()->set_jitter_percent(0);
  ASSERT_OK(hooks_.Replace(hook_b));
  const std::string ok_id = Publish(a), failed_id = Publish(b);
  Dispatcher d({}, keys_, clock_, sender_, sink_);
  Dispatch(d, ReadAll());
  ASSERT_THAT(sender_.sent, SizeIs(2));
  const bool a_first = absl::StrContains(sender_.sent[0].request.url, "a.example");
  sender_.Answer(a_first ? 204 : 503);
  sender_.Answer(a_first ? 503 : 204);

  absl::BitGen rng;
  EndpointHealth health({}, keys_, clock_, hooks_, publisher_, d.hooks(), metrics_);
  Recorder recorder(keys_, "test-worker", clock_, rng, health, metrics_);
  ASSERT_OK(redis_->Command({"CONFIG", "RESETSTAT"}).status());
  ASSERT_OK(recorder.Record(sink_.jobs, *conn_));
  EXPECT_THAT(redis_->Command({"INFO", "commandstats"}),
              IsOkAndHolds(HasSubstr("cmdstat_exec:calls=2,")));
  EXPECT_EQ(Delivery(a, ok_id).status(), v1::DELIVERY_STATUS_SUCCEEDED);
  const v1::Delivery failed = Delivery(b, failed_id);
  EXPECT_EQ(failed.status(), v1::DELIVERY_STATUS_RETRY_SCHEDULED);
  ASSERT_THAT(failed.attempts(), SizeIs(1));
  EXPECT_EQ(failed.attempts(0).http_status(), 503);
  const std::string due = std::to_string(absl::ToUnixMillis(clock_.Now() + absl::Seconds(5)));
  EXPECT_EQ(Integer({"ZCOUNT", keys_.RetrySetOf(b), due, due}), 1);
  EXPECT_EQ(Integer({"ZCARD", keys_.RetrySetOf(a)}), 0);
  for (const std::string& t : {a, b}) {
    EXPECT_EQ(Integer({"XPENDING", keys_.StreamOf(t), "workers"}), 0) << t;
  }
  EXPECT_EQ(metrics_.succeeded.Value(), 1);
  EXPECT_EQ(metrics_.retries_scheduled.Value(), 1);
}

TEST_F(StagesTest, RecorderPutsOffDeferredJobsAndHandsBackUnfinishedOnes) {
  CreateHook("acme", "https://receiver.example/hook");
  Publish("acme");
  Publish("acme");
  Dispatcher d({}, keys_, clock_, sender_, sink_);
  std::vector<std::unique_ptr<Job>> jobs = d.Prepare(ReadAll());
  ASSERT_THAT(jobs, SizeIs(2));
  jobs[0]->kind = Job::Kind::kDeferred;
  jobs[0]->defer_for = absl::Seconds(7);
  jobs[1]->kind = Job::Kind::kHandBack;
  absl::BitGen rng;
  EndpointHealth health({}, keys_, clock_, hooks_, publisher_, d.hooks(), metrics_);
  Recorder recorder(keys_, "test-worker", clock_, rng, health, metrics_);
  ASSERT_OK(recorder.Record(jobs, *conn_));
  const std::string stream = keys_.StreamOf("acme");
  EXPECT_EQ(Integer({"XPENDING", stream, "workers"}), 0);
  const std::string due = std::to_string(absl::ToUnixMillis(clock_.Now() + absl::Seconds(7)));
  EXPECT_EQ(Integer({"ZCOUNT", keys_.RetrySetOf("acme"), due, due}), 1);
  EXPECT_EQ(Integer({"XLEN", stream}), 3);  // the two read, and the one handed back
}

TEST_F(StagesTest, MaintainerPromotesRetriesWhenDueOnTheSimulatedClock) {
  store::Pipeline p;
  queue::AddRetry(keys_, 2, clock_.Now() + absl::Seconds(5), "task", &p);
  ASSERT_OK(conn_->Execute(p).status());
  Maintainer m({.gauge_interval = absl::ZeroDuration()}, keys_, "w", clock_, metrics_);
  ASSERT_OK(m.Pass(*conn_, 10).status());
  EXPECT_EQ(Integer({"XLEN", keys_.Stream(2)}), 0);
  EXPECT_EQ(metrics_.retry_set_size.Value(), 1);
  clock_.Advance(absl::Seconds(5));
  ASSERT_OK(m.Pass(*conn_, 10).status());
  EXPECT_EQ(Integer({"XLEN", keys_.Stream(2)}), 1);
  EXPECT_EQ(metrics_.retry_set_size.Value(), 0);
  EXPECT_EQ(metrics_.stream_lag.Value(), 1);
}

// Each pass tends one shard, in turn, when no other worker has it: within one round of
// passes every shard's entries left by a dead consumer are reclaimed.
TEST_F(StagesTest, MaintainerReclaimsEveryShardsEntriesOfADeadConsumerInOneRound) {
  for (const char* t : {"acme", "globex", "initech", "umbrella", "hooli"}) {
    CreateHook(t, "https://receiver.example/hook");
    Publish(t);
  }
  ASSERT_THAT(ReadAll("dead"), SizeIs(5));
  Maintainer m({.visibility_timeout = absl::Seconds(1)}, keys_, "live", clock_, metrics_);
  std::vector<queue::StreamEntry> claimed;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (int s = 0; s < keys_.shards(); ++s) {
          auto c = m.Pass(*conn_, 100);
          if (c.ok()) claimed.insert(claimed.end(), c->begin(), c->end());
        }
        return claimed.size() >= 5;
      },
      absl::Seconds(10)));
  EXPECT_THAT(claimed, SizeIs(5));
  for (const auto& e : claimed) EXPECT_EQ(e.deliveries, 2);
}

}  // namespace
}  // namespace hookrelay::worker
