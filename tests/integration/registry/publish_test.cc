// Publishing over the real gRPC API: fan-out to 1,000 hooks in one script call, matching by
// tenant, event type and attributes, idempotency under concurrent duplicates, and hook
// changes made through one registry honoured at once by another (in-process and a real
// webhook-registry process).

#include <sys/syscall.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/delivery.pb.h"
#include "libs/store/delivery_record.h"
#include "libs/store/redis_client.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::registry {
namespace {

using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAreArray;

using PublishTest = RegistryTest;

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

v1::Webhook FilteredHook(absl::string_view tenant, std::vector<std::string> types,
                         absl::string_view key, std::vector<std::string> any_of,
                         bool absent = false) {
  v1::Webhook hook = Hook(tenant, std::move(types));
  v1::AttributeFilter* f = hook.add_filters();
  f->set_key(std::string(key));
  for (std::string& v : any_of) f->add_any_of(std::move(v));
  f->set_absent(absent);
  return hook;
}

TEST_F(PublishTest, OnePublishFansOutToAThousandHooksInOneTransaction) {
  constexpr int kHooks = 1000;
  std::vector<std::string> hook_ids;
  for (int i = 0; i < kHooks; ++i) {
    ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"order.created"})));
    hook_ids.push_back(hook.id());
  }
  // Subscribers of another tenant and another type must not be matched.
  for (int i = 0; i < 5; ++i) ASSERT_OK(CreateWebhook(Hook("globex", {"*"})).status());
  ASSERT_OK(CreateWebhook(Hook("acme", {"order.cancelled"})).status());

  // Warm up: loads acme's hooks into the index and the publish script into Redis.
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse warm, PublishEvent(Event("acme", "noop")));
  EXPECT_THAT(warm.delivery_ids(), IsEmpty());
  const long long stream_before = StreamLength();
  ASSERT_OK(redis_->Command({"CONFIG", "RESETSTAT"}).status());

  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse resp, PublishEvent(Event("acme", "order.created")));

  ASSERT_THAT(resp.delivery_ids(), SizeIs(kHooks));
  const std::set<std::string> unique(resp.delivery_ids().begin(), resp.delivery_ids().end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kHooks));
  EXPECT_EQ(StreamLength() - stream_before, kHooks);
  // One transaction wrote every record and task after one version check, and the index was
  // not reloaded (no SMEMBERS).
  EXPECT_THAT(redis_->Command({"INFO", "commandstats"}),
              IsOkAndHolds(AllOf(
                  HasSubstr("cmdstat_mget:calls=1,"), HasSubstr("cmdstat_exec:calls=1,"),
                  HasSubstr("cmdstat_xadd:calls=1000,"), HasSubstr("cmdstat_hset:calls=1000,"),
                  Not(HasSubstr("cmdstat_smembers")))));

  // Each delivery has a PENDING record pointing at its hook and the event.
  ASSERT_OK_AND_ASSIGN(auto conn,
                       store::RedisConnection::Connect(store::RedisOptions{.url = redis_->url()}));
  store::Pipeline p;
  for (const std::string& id : resp.delivery_ids()) {
    p.Add({"HMGET", keys_.Delivery("acme", id), store::dlv::kStatus, store::dlv::kHook,
           store::dlv::kEvent});
  }
  ASSERT_OK_AND_ASSIGN(std::vector<store::RedisReply> records, conn->Execute(p));
  std::vector<std::string> record_hooks;
  for (const store::RedisReply& r : records) {
    ASSERT_EQ(r.elements.size(), 3u);
    EXPECT_EQ(r.elements[0].str, absl::StrCat(static_cast<int>(v1::DELIVERY_STATUS_PENDING)));
    EXPECT_EQ(r.elements[2].str, resp.event_id());
    record_hooks.push_back(r.elements[1].str);
  }
  EXPECT_EQ(Sorted(record_hooks), Sorted(hook_ids));

  // The stream carries one task per delivery.
  ASSERT_OK_AND_ASSIGN(store::RedisReply entries,
                       conn->Command({"XRANGE", keys_.StreamOf("acme"), "-", "+"}));
  std::vector<std::string> task_deliveries;
  for (const store::RedisReply& e : entries.elements) {
    v1::DeliveryTask task;
    ASSERT_TRUE(task.ParseFromString(e.elements[1].elements[1].str));
    EXPECT_EQ(task.tenant(), "acme");
    EXPECT_EQ(task.event_id(), resp.event_id());
    EXPECT_EQ(task.attempt(), 1);
    task_deliveries.push_back(task.delivery_id());
  }
  EXPECT_THAT(task_deliveries, UnorderedElementsAreArray(resp.delivery_ids()));

  ASSERT_OK_AND_ASSIGN(v1::Delivery first, GetDelivery("acme", resp.delivery_ids(0)));
  EXPECT_EQ(first.status(), v1::DELIVERY_STATUS_PENDING);
}

TEST_F(PublishTest, MatchesByTenantEventTypeAndAttributes) {
  auto create = [&](const v1::Webhook& hook) {
    absl::StatusOr<v1::Webhook> created = CreateWebhook(hook);
    EXPECT_OK(created.status());
    return created.ok() ? created->id() : "<create failed>";
  };
  const std::string exact = create(Hook("acme", {"review.created"}));
  const std::string prefix = create(Hook("acme", {"review.*"}));
  const std::string star = create(Hook("acme", {"*"}));
  const std::string build = create(Hook("acme", {"build.finished", "review.closed"}));
  const std::string repo_core_or_web = create(FilteredHook("acme", {"*"}, "repo", {"core", "web"}));
  const std::string not_draft = create(FilteredHook("acme", {"*"}, "draft", {}, true));
  const std::string has_repo = create(FilteredHook("acme", {"review.*"}, "repo", {}));
  const std::string other_tenant = create(Hook("globex", {"*"}));

  auto publish = [&](absl::string_view tenant, absl::string_view type,
                     std::vector<std::pair<std::string, std::string>> attrs) {
    v1::PublishEventRequest req = Event(tenant, type);
    for (auto& [k, v] : attrs) (*req.mutable_attributes())[k] = v;
    absl::StatusOr<v1::PublishEventResponse> resp = PublishEvent(req);
    EXPECT_OK(resp.status());
    return resp.ok() ? HookIdsOf(tenant, *resp) : std::vector<std::string>{"<publish failed>"};
  };

  EXPECT_EQ(publish("acme", "review.created", {{"repo", "core"}}),
            Sorted({exact, prefix, star, repo_core_or_web, not_draft, has_repo}));
  EXPECT_EQ(publish("acme", "review.created", {{"repo", "docs"}, {"draft", "true"}}),
            Sorted({exact, prefix, star, has_repo}));
  EXPECT_EQ(publish("acme", "review.closed", {}), Sorted({prefix, star, build, not_draft}));
  // "review.*" does not cover "review" itself, nor "reviewer.added".
  EXPECT_EQ(publish("acme", "review", {}), Sorted({star, not_draft}));
  EXPECT_EQ(publish("acme", "reviewer.added", {{"repo", "web"}}),
            Sorted({star, repo_core_or_web, not_draft}));
  EXPECT_EQ(publish("acme", "build.finished", {{"draft", "false"}}), Sorted({star, build}));
  EXPECT_EQ(publish("globex", "review.created", {{"repo", "core"}}), Sorted({other_tenant}));
  EXPECT_THAT(publish("initech", "review.created", {}), IsEmpty());
}

TEST_F(PublishTest, ConcurrentDuplicatesStoreExactlyOneEvent) {
  constexpr int kThreads = 16;
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"order.*"})));
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    const std::string key = absl::StrCat("order-", round);
    std::vector<absl::StatusOr<v1::PublishEventResponse>> results(kThreads);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        // The same request from every thread: a client's retries racing each other.
        v1::PublishEventRequest req =
            Event("acme", "order.paid", absl::StrCat(R"({"r":)", round, "}"));
        req.set_idempotency_key(key);
        start.arrive_and_wait();
        results[t] = PublishEvent(req);
      });
    }
    for (std::thread& t : threads) t.join();

    int firsts = 0;
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_OK(results[t].status()) << "thread " << t;
      EXPECT_EQ(results[t]->event_id(), results[0]->event_id());
      ASSERT_THAT(results[t]->delivery_ids(), SizeIs(1));
      EXPECT_EQ(results[t]->delivery_ids(0), results[0]->delivery_ids(0));
      if (!results[t]->duplicate()) ++firsts;
    }
    EXPECT_EQ(firsts, 1);
  }
  // Exactly one event (and one delivery, one task) per key.
  ASSERT_OK_AND_ASSIGN(std::string events,
                       redis_->Command({"KEYS", keys_.TenantKey("acme", "evt:*")}));
  EXPECT_EQ(std::count(events.begin(), events.end(), '\n') + 1, 3 * 2);  // event + its :dlvs
  ASSERT_OK_AND_ASSIGN(std::string dlvs,
                       redis_->Command({"KEYS", keys_.TenantKey("acme", "dlv:*")}));
  EXPECT_EQ(std::count(dlvs.begin(), dlvs.end(), '\n') + 1, 3);
  EXPECT_EQ(StreamLength(), 3);
}

// Different requests racing with one key: one is published, every other is refused naming
// the key (none is answered with an event it did not send).
TEST_F(PublishTest, ConcurrentDifferentRequestsWithOneKeyPublishOneAndRefuseTheRest) {
  constexpr int kThreads = 16;
  ASSERT_OK(CreateWebhook(Hook("acme", {"order.*"})).status());
  std::vector<absl::StatusOr<v1::PublishEventResponse>> results(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      v1::PublishEventRequest req = Event("acme", "order.paid", absl::StrCat(R"({"t":)", t, "}"));
      req.set_idempotency_key("shared");
      start.arrive_and_wait();
      results[t] = PublishEvent(req);
    });
  }
  for (std::thread& t : threads) t.join();
  int published = 0;
  int winner = -1;
  for (int t = 0; t < kThreads; ++t) {
    if (results[t].ok()) {
      EXPECT_FALSE(results[t]->duplicate());
      ++published;
      winner = t;
    } else {
      EXPECT_THAT(results[t], StatusIs(absl::StatusCode::kFailedPrecondition,
                                       StartsWith("idempotency_key: \"shared\"")));
    }
  }
  ASSERT_EQ(published, 1);
  ASSERT_OK_AND_ASSIGN(v1::Event event, GetEvent("acme", results[winner]->event_id()));
  EXPECT_EQ(event.payload(), absl::StrCat(R"({"t":)", winner, "}"));
  EXPECT_EQ(StreamLength(), 1);
}

// The defect: a key reused with another payload silently answered the first event.
TEST_F(PublishTest, AKeyReusedWithADifferentRequestIsRefusedAndTheSameRequestIsADuplicate) {
  ASSERT_OK(CreateWebhook(Hook("acme")).status());
  v1::PublishEventRequest req = Event("acme", "review.created", R"({"id":7})");
  req.set_idempotency_key("once");
  (*req.mutable_attributes())["repo"] = "core";
  (*req.mutable_attributes())["draft"] = "false";
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse first, PublishEvent(req));
  EXPECT_FALSE(first.duplicate());
  // A new hook since: the duplicate still answers with the first event's deliveries.
  ASSERT_OK(CreateWebhook(Hook("acme")).status());
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse again, PublishEvent(req));
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.event_id(), first.event_id());
  EXPECT_THAT(again.delivery_ids(), ElementsAre(first.delivery_ids(0)));
  // The attributes are a map: the order a client sets them in does not matter.
  v1::PublishEventRequest reordered = req;
  reordered.clear_attributes();
  (*reordered.mutable_attributes())["draft"] = "false";
  (*reordered.mutable_attributes())["repo"] = "core";
  ASSERT_OK_AND_ASSIGN(again, PublishEvent(reordered));
  EXPECT_TRUE(again.duplicate());
  const long long stream = StreamLength();
  const std::vector<std::string> keys = AllKeys();

  // Anything else under the key is another request.
  const std::vector<std::pair<std::string, std::function<void(v1::PublishEventRequest&)>>> changes =
      {{"payload", [](v1::PublishEventRequest& r) { r.set_payload(R"({"id": 7})"); }},
       {"type", [](v1::PublishEventRequest& r) { r.set_type("review.updated"); }},
       {"attribute value",
        [](v1::PublishEventRequest& r) { (*r.mutable_attributes())["repo"] = "web"; }},
       {"attribute added", [](v1::PublishEventRequest& r) { (*r.mutable_attributes())["x"] = ""; }},
       {"attribute removed",
        [](v1::PublishEventRequest& r) { r.mutable_attributes()->erase("draft"); }},
       {"occurred_at set",
        [](v1::PublishEventRequest& r) { r.mutable_occurred_at()->set_seconds(1700000000); }}};
  for (const auto& [what, change] : changes) {
    SCOPED_TRACE(what);
    v1::PublishEventRequest other = req;
    change(other);
    EXPECT_THAT(PublishEvent(other), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              AllOf(StartsWith("idempotency_key: \"once\""),
                                                    HasSubstr(first.event_id()))));
  }
  EXPECT_EQ(StreamLength(), stream);
  EXPECT_EQ(AllKeys(), keys);  // nothing written

  // Another tenant may use the same key.
  req.set_tenant("globex");
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse other, PublishEvent(req));
  EXPECT_FALSE(other.duplicate());
  EXPECT_NE(other.event_id(), first.event_id());
}

TEST_F(PublishTest, OccurredAtIsPartOfTheRequestAnIdempotencyKeyStandsFor) {
  v1::PublishEventRequest req = Event("acme", "review.created");
  req.set_idempotency_key("at");
  req.mutable_occurred_at()->set_seconds(1700000000);
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse first, PublishEvent(req));
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse again, PublishEvent(req));
  EXPECT_TRUE(again.duplicate());
  req.mutable_occurred_at()->set_nanos(1);
  EXPECT_THAT(PublishEvent(req), StatusIs(absl::StatusCode::kFailedPrecondition));
  req.clear_occurred_at();  // unset is not "now": a retry without it is a different request
  EXPECT_THAT(PublishEvent(req), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// PublishEvents is all or nothing: a key reused with another request refuses the whole batch,
// naming the event.
TEST_F(PublishTest, PublishEventsWithAConflictingKeyWritesNothingAndNamesTheEvent) {
  ASSERT_OK(CreateWebhook(Hook("acme")).status());
  v1::PublishEventRequest first = Event("acme", "review.created", R"({"n":1})");
  first.set_idempotency_key("k1");
  ASSERT_OK(PublishEvent(first).status());
  const long long stream = StreamLength();
  const std::vector<std::string> keys = AllKeys();

  v1::PublishEventsRequest batch;
  *batch.add_events() = Event("acme", "review.created", R"({"n":2})");
  *batch.add_events() = first;
  batch.mutable_events(1)->set_payload(R"({"n":3})");
  EXPECT_THAT(PublishEvents(batch), StatusIs(absl::StatusCode::kFailedPrecondition,
                                             StartsWith("events[1].idempotency_key: \"k1\"")));
  // Two events of one batch with one key and different requests.
  v1::PublishEventsRequest twins;
  for (const char* payload : {R"({"a":1})", R"({"a":2})"}) {
    *twins.add_events() = Event("acme", "review.created", payload);
    twins.mutable_events(twins.events_size() - 1)->set_idempotency_key("twin");
  }
  EXPECT_THAT(PublishEvents(twins), StatusIs(absl::StatusCode::kFailedPrecondition,
                                             StartsWith("events[1].idempotency_key: \"twin\"")));
  EXPECT_EQ(StreamLength(), stream);
  EXPECT_EQ(AllKeys(), keys);

  // The same request again in a batch is a duplicate, beside a new event.
  batch.mutable_events(1)->set_payload(first.payload());
  ASSERT_OK_AND_ASSIGN(v1::PublishEventsResponse ok, PublishEvents(batch));
  EXPECT_FALSE(ok.results(0).duplicate());
  EXPECT_TRUE(ok.results(1).duplicate());
}

// Publishes `type` for acme through `instance` and returns the hooks it reached.
std::vector<std::string> PublishThrough(RegistryInstance& instance, absl::string_view type) {
  absl::StatusOr<v1::PublishEventResponse> resp = CallRpc(
      instance.stub(), &v1::WebhookRegistry::Stub::PublishEvent, Event("acme", type), kAdminKey);
  EXPECT_OK(resp.status());
  if (!resp.ok()) return {"<publish failed>"};
  return std::vector<std::string>(resp->delivery_ids().begin(), resp->delivery_ids().end());
}

TEST_F(PublishTest, HookChangeThroughOneRegistryIsSeenByAnotherAtOnce) {
  ASSERT_OK_AND_ASSIGN(auto b, RegistryInstance::Start({.redis_url = redis_->url()}));
  // B caches acme (no hooks yet).
  EXPECT_THAT(PublishThrough(*b, "review.created"), IsEmpty());

  // A (the fixture's registry) creates a hook; B's very next publish reaches it.
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"review.*"})));
  std::vector<std::string> delivered = PublishThrough(*b, "review.created");
  ASSERT_THAT(delivered, SizeIs(1));
  ASSERT_OK_AND_ASSIGN(v1::Delivery d, GetDelivery("acme", delivered[0]));
  EXPECT_EQ(d.webhook_id(), hook.id());

  // The batch path re-plans too.
  ASSERT_OK_AND_ASSIGN(v1::Webhook second, CreateWebhook(Hook("acme", {"*"})));
  v1::PublishEventsRequest batch;
  *batch.add_events() = Event("acme", "review.updated");
  *batch.add_events() = Event("acme", "build.finished");
  ASSERT_OK_AND_ASSIGN(
      v1::PublishEventsResponse results,
      CallRpc(b->stub(), &v1::WebhookRegistry::Stub::PublishEvents, batch, kAdminKey));
  ASSERT_THAT(results.results(), SizeIs(2));
  EXPECT_THAT(HookIdsOf("acme", results.results(0)), Sorted({hook.id(), second.id()}));
  EXPECT_THAT(HookIdsOf("acme", results.results(1)), ElementsAre(second.id()));

  // A deletes both; B stops fanning out to them at once.
  ASSERT_OK(DeleteWebhook("acme", hook.id()));
  ASSERT_OK(DeleteWebhook("acme", second.id()));
  EXPECT_THAT(PublishThrough(*b, "review.created"), IsEmpty());
}

// A real webhook-registry process on an ephemeral port, found from its "listening" log line.
class RegistryProcess {
 public:
  static absl::StatusOr<std::unique_ptr<RegistryProcess>> Start(const std::string& redis_url) {
    auto process = testing::Process::Start(
        {.binary = testing::BinaryPath("services/registry/webhook-registry"),
         .args = {"--grpc_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
                  absl::StrCat("--redis_url=", redis_url),
                  absl::StrCat("--admin_api_key=", kAdminKey)}});
    if (!process.ok()) return process.status();
    const std::string kPortField = "\"grpc_port\":";
    if (!(*process)->WaitForOutput(kPortField, absl::Seconds(20))) {
      return absl::DeadlineExceededError(
          absl::StrCat("webhook-registry did not start: ", (*process)->Output()));
    }
    const std::string out = (*process)->Output();
    const size_t at = out.find(kPortField) + kPortField.size();
    int port = 0;
    if (!absl::SimpleAtoi(out.substr(at, out.find_first_not_of("0123456789", at) - at), &port)) {
      return absl::InternalError(absl::StrCat("no grpc_port in: ", out));
    }
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    return std::unique_ptr<RegistryProcess>(
        new RegistryProcess(*std::move(process), v1::WebhookRegistry::NewStub(channel)));
  }

  v1::WebhookRegistry::Stub& stub() { return *stub_; }
  pid_t pid() const { return process_->pid(); }

 private:
  RegistryProcess(std::unique_ptr<testing::Process> process,
                  std::unique_ptr<v1::WebhookRegistry::Stub> stub)
      : process_(std::move(process)), stub_(std::move(stub)) {}
  std::unique_ptr<testing::Process> process_;
  std::unique_ptr<v1::WebhookRegistry::Stub> stub_;
};

TEST_F(PublishTest, HookChangeInOneRegistryProcessIsHonouredByAnother) {
  ASSERT_OK_AND_ASSIGN(auto other, RegistryProcess::Start(redis_->url()));
  auto publish_via_other = [&] {
    absl::StatusOr<v1::PublishEventResponse> resp =
        CallRpc(other->stub(), &v1::WebhookRegistry::Stub::PublishEvent,
                Event("acme", "review.created"), kAdminKey);
    EXPECT_OK(resp.status());
    return resp.ok() ? HookIdsOf("acme", *resp) : std::vector<std::string>{"<failed>"};
  };
  EXPECT_THAT(publish_via_other(), IsEmpty());  // the process caches acme

  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"review.created"})));
  EXPECT_THAT(publish_via_other(), ElementsAre(hook.id()));

  // And the other way round: a hook created through the process reaches this registry's
  // publishes, which have acme cached as well.
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse warm, PublishEvent(Event("acme", "x")));
  v1::CreateWebhookRequest req;
  *req.mutable_webhook() = Hook("acme", {"x"});
  ASSERT_OK_AND_ASSIGN(
      v1::Webhook created,
      CallRpc(other->stub(), &v1::WebhookRegistry::Stub::CreateWebhook, req, kAdminKey));
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse after, PublishEvent(Event("acme", "x")));
  EXPECT_THAT(HookIdsOf("acme", after), ElementsAre(created.id()));

  ASSERT_OK(DeleteWebhook("acme", hook.id()));
  EXPECT_THAT(publish_via_other(), IsEmpty());
}

// Threads of process `pid` called `name` and how many of them are in clock_nanosleep now.
struct Sleepers {
  int threads = 0;
  int sleeping = 0;
};
Sleepers SleepingThreads(pid_t pid, absl::string_view name) {
  Sleepers out;
  const std::string task_dir = absl::StrCat("/proc/", pid, "/task");
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(task_dir, ec)) {
    std::string comm, syscall;
    std::ifstream(task.path() / "comm") >> comm;
    std::ifstream(task.path() / "syscall") >> syscall;  // first field: the syscall's number
    if (comm != name) continue;
    ++out.threads;
    if (syscall == std::to_string(SYS_clock_nanosleep)) ++out.sleeping;
  }
  return out;
}

// gRPC 1.51 runs callback methods (PublishEvent, PublishEvents) on two "nexting_thread"s
// that, after a second without work, sleep 100 ms; a publish that arrived while both slept
// waited for them (p99 100-110 ms over the first 1.5 s after a fresh start, 2 of 6 starts).
// GrpcServer::KeepAwake gives them work every 100 ms: sampled every 5 ms for 3 s, they are
// never both asleep and neither naps (a nap is ~20 samples; without KeepAwake, 54-108).
TEST_F(PublishTest, IdleRegistryProcessKeepsGrpcCallbackThreadsAwake) {
  ASSERT_OK_AND_ASSIGN(auto process, RegistryProcess::Start(redis_->url()));
  ASSERT_OK(CallRpc(process->stub(), &v1::WebhookRegistry::Stub::PublishEvent,
                    Event("acme", "order.created"), kAdminKey)
                .status());
  int threads = 0, napping_samples = 0, all_asleep_samples = 0;
  for (int i = 0; i < 600; ++i) {
    const Sleepers s = SleepingThreads(process->pid(), "nexting_thread");
    threads = std::max(threads, s.threads);
    napping_samples += s.sleeping;
    if (s.threads > 0 && s.sleeping == s.threads) ++all_asleep_samples;
    absl::SleepFor(absl::Milliseconds(5));
  }
  if (threads == 0) GTEST_SKIP() << "this gRPC has no nexting_thread (no idle naps to prevent)";
  EXPECT_EQ(all_asleep_samples, 0) << "samples with every nexting_thread asleep, of 600";
  EXPECT_LT(napping_samples, 20) << "samples of a nexting_thread asleep, of 600 x " << threads;
}

}  // namespace
}  // namespace hookrelay::registry
