// Walks the error table of README.md ("| situation | code |") and provokes every row's
// situation against a registry over a real gRPC channel: the code returned must be the one
// the README promises (AIP-193 / AIP-211). A row without a scenario here, or a scenario whose
// row is gone, fails the test, so the table and the behaviour cannot drift apart.

#include <atomic>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::registry {
namespace {

using Stub = v1::WebhookRegistry::Stub;

struct Row {
  std::string situation;
  std::string code;  // e.g. "INVALID_ARGUMENT"
};

// The rows of the README table whose header is "| situation | code |".
std::vector<Row> ReadErrorTable() {
  std::ifstream in(HOOKRELAY_README);
  EXPECT_TRUE(in) << "cannot read " << HOOKRELAY_README;
  std::vector<Row> rows;
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "| situation | code |") {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (!absl::StartsWith(line, "|")) break;
    if (absl::StartsWith(line, "| ---")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    if (cells.size() != 4) {
      ADD_FAILURE() << "not a two-column row: " << line;
      continue;
    }
    absl::string_view code = absl::StripAsciiWhitespace(cells[2]);
    absl::ConsumePrefix(&code, "`");
    absl::ConsumeSuffix(&code, "`");
    rows.push_back({std::string(absl::StripAsciiWhitespace(cells[1])), std::string(code)});
  }
  return rows;
}

class ErrorTableTest : public RegistryTest {
 protected:
  template <typename Req, typename Resp>
  absl::Status Rpc(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                   const Req& req, absl::string_view key = kAdminKey) {
    return CallRpc(registry_->stub(), method, req, key).status();
  }
  std::string TenantKey(const std::string& tenant, v1::ApiKeyRole role) {
    v1::CreateApiKeyRequest req;
    req.set_tenant(tenant);
    req.set_role(role);
    auto key = CallRpc(registry_->stub(), &Stub::CreateApiKey, req, kAdminKey);
    EXPECT_OK(key.status());
    return key.ok() ? key->key() : "";
  }

 public:
  // One scenario per row: the statuses it provoked (each must carry the row's code).
  std::vector<absl::Status> BadField();
  std::vector<absl::Status> BadPageToken();
  std::vector<absl::Status> BadUpdateMask();
  std::vector<absl::Status> NoKey();
  std::vector<absl::Status> WrongTenant();
  std::vector<absl::Status> UnknownId();
  std::vector<absl::Status> IdempotencyConflict();
  std::vector<absl::Status> RedeliverWithoutHook();
  std::vector<absl::Status> TestWithoutWorker();
  std::vector<absl::Status> HooksKeptChanging();
  std::vector<absl::Status> RedisDown();
  std::vector<absl::Status> TooFewReplicas();
};

std::vector<absl::Status> ErrorTableTest::BadField() {
  v1::CreateWebhookRequest create;
  *create.mutable_webhook() = Hook("acme");
  create.mutable_webhook()->set_url("http://example.com/in");
  v1::PublishEventRequest publish = Event("acme", "x.y", "not json");
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_tenant("acme");
  rotate.set_id("nope");
  return {Rpc(&Stub::CreateWebhook, create), Rpc(&Stub::PublishEvent, publish),
          Rpc(&Stub::RotateWebhookSecret, rotate)};
}

std::vector<absl::Status> ErrorTableTest::BadPageToken() {
  v1::ListWebhooksRequest req;
  req.set_tenant("acme");
  req.set_page_token("bm90IGEgdG9rZW4");
  return {Rpc(&Stub::ListWebhooks, req)};
}

std::vector<absl::Status> ErrorTableTest::BadUpdateMask() {
  auto hook = CreateWebhook(Hook("acme"));
  if (!hook.ok()) return {hook.status()};
  v1::UpdateWebhookRequest req;
  *req.mutable_webhook() = *hook;
  req.mutable_update_mask()->add_paths("signing.secret");
  return {Rpc(&Stub::UpdateWebhook, req)};
}

std::vector<absl::Status> ErrorTableTest::NoKey() {
  v1::GetWebhookRequest req;
  req.set_tenant("acme");
  req.set_id("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV");
  return {Rpc(&Stub::GetWebhook, req, ""), Rpc(&Stub::GetWebhook, req, "hr_unknown")};
}

std::vector<absl::Status> ErrorTableTest::WrongTenant() {
  v1::ListWebhooksRequest list;
  list.set_tenant("acme");
  v1::ListApiKeysRequest keys;
  return {Rpc(&Stub::ListWebhooks, list, TenantKey("globex", v1::API_KEY_ROLE_TENANT)),
          Rpc(&Stub::ListWebhooks, list, TenantKey("acme", v1::API_KEY_ROLE_PUBLISHER)),
          Rpc(&Stub::ListApiKeys, keys, TenantKey("acme", v1::API_KEY_ROLE_TENANT))};
}

std::vector<absl::Status> ErrorTableTest::UnknownId() {
  constexpr char kUlid[] = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  v1::GetWebhookRequest hook;
  hook.set_tenant("acme");
  hook.set_id(absl::StrCat("wh_", kUlid));
  v1::GetEventRequest event;
  event.set_tenant("acme");
  event.set_id(absl::StrCat("evt_", kUlid));
  v1::GetDeliveryRequest delivery;
  delivery.set_tenant("acme");
  delivery.set_id(absl::StrCat("dlv_", kUlid));
  v1::RevokeApiKeyRequest key;
  key.set_id(absl::StrCat("key_", kUlid));
  v1::ListDeliveriesRequest list;
  list.set_tenant("acme");
  list.set_webhook_id(hook.id());
  return {Rpc(&Stub::GetWebhook, hook), Rpc(&Stub::GetEvent, event),
          Rpc(&Stub::GetDelivery, delivery), Rpc(&Stub::RevokeApiKey, key),
          Rpc(&Stub::ListDeliveries, list)};
}

std::vector<absl::Status> ErrorTableTest::IdempotencyConflict() {
  v1::PublishEventRequest req = Event("acme", "order.paid", R"({"amount":1})");
  req.set_idempotency_key("order-1");
  if (absl::Status st = Rpc(&Stub::PublishEvent, req); !st.ok()) return {st};
  req.set_payload(R"({"amount":2})");
  return {Rpc(&Stub::PublishEvent, req)};
}

std::vector<absl::Status> ErrorTableTest::RedeliverWithoutHook() {
  // A tenant of its own: other scenarios' hooks would receive the event too.
  auto hook = CreateWebhook(Hook("initech", {"gone.*"}));
  if (!hook.ok()) return {hook.status()};
  auto published = PublishEvent(Event("initech", "gone.soon"));
  if (!published.ok()) return {published.status()};
  if (published->delivery_ids_size() != 1) return {absl::InternalError("want one delivery")};
  if (absl::Status st = DeleteWebhook("initech", hook->id()); !st.ok()) return {st};
  v1::RedeliverDeliveryRequest req;
  req.set_tenant("initech");
  req.set_id(published->delivery_ids(0));
  return {Rpc(&Stub::RedeliverDelivery, req)};
}

std::vector<absl::Status> ErrorTableTest::TestWithoutWorker() {
  v1::Webhook spec = Hook("acme");
  spec.set_timeout_ms(1);  // the registry waits the hook's timeout and a few seconds more
  auto hook = CreateWebhook(spec);
  if (!hook.ok()) return {hook.status()};
  v1::TestWebhookRequest req;
  req.set_tenant("acme");
  req.set_id(hook->id());
  return {Rpc(&Stub::TestWebhook, req)};
}

// Another client bumps the tenant's hook version without pause, so every plan the publisher
// makes is stale by the time it writes; after its tries the publish is ABORTED.
std::vector<absl::Status> ErrorTableTest::HooksKeptChanging() {
  auto conn = store::RedisConnection::Connect({.url = redis_->url()});
  if (!conn.ok()) return {conn.status()};
  std::atomic<bool> stop{false};
  std::thread changer([&] {
    store::Pipeline bumps;
    for (int i = 0; i < 20; ++i) bumps.Add({"INCR", store::KeySchema().Version("acme")});
    while (!stop.load() && (*conn)->Execute(bumps).ok()) {
    }
  });
  absl::Status last;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(20); absl::Now() < deadline;) {
    last = Rpc(&Stub::PublishEvent, Event("acme", "x.y"));
    if (absl::IsAborted(last)) break;
  }
  stop = true;
  changer.join();
  return {last};
}

// --publish_min_replicas=1 against a Redis without replicas: stored, never confirmed.
std::vector<absl::Status> ErrorTableTest::TooFewReplicas() {
  auto redis = testing::RedisServer::Start({.masters = 0});
  if (!redis.ok()) return {redis.status()};
  auto registry = RegistryInstance::Start(
      {.redis_url = (*redis)->url(),
       .durability = {.min_replicas = 1, .timeout = absl::Milliseconds(50)}});
  if (!registry.ok()) return {registry.status()};
  v1::CreateWebhookRequest create;
  *create.mutable_webhook() = Hook("acme");
  auto hook = CallRpc((*registry)->stub(), &Stub::CreateWebhook, create, kAdminKey);
  if (!hook.ok()) return {hook.status()};
  return {
      CallRpc((*registry)->stub(), &Stub::PublishEvent, Event("acme", "x.y"), kAdminKey).status()};
}

std::vector<absl::Status> ErrorTableTest::RedisDown() {
  auto redis = testing::RedisServer::Start();
  if (!redis.ok()) return {redis.status()};
  auto registry = RegistryInstance::Start({.redis_url = (*redis)->url()});
  if (!registry.ok()) return {registry.status()};
  if (absl::Status st = (*redis)->Stop(); !st.ok()) return {st};
  v1::GetWebhookRequest get;
  get.set_tenant("acme");
  get.set_id("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV");
  return {
      CallRpc((*registry)->stub(), &Stub::GetWebhook, get, kAdminKey).status(),
      CallRpc((*registry)->stub(), &Stub::PublishEvent, Event("acme", "x.y"), kAdminKey).status()};
}

TEST_F(ErrorTableTest, EveryRowOfTheReadmeErrorTableIsTheCodeReturned) {
  using Scenario = std::vector<absl::Status> (ErrorTableTest::*)();
  // A phrase of the row's situation → how to provoke it.
  const std::vector<std::pair<std::string, Scenario>> scenarios = {
      {"a bad field", &ErrorTableTest::BadField},
      {"page token", &ErrorTableTest::BadPageToken},
      {"update_mask", &ErrorTableTest::BadUpdateMask},
      {"no API key", &ErrorTableTest::NoKey},
      {"a key acting on", &ErrorTableTest::WrongTenant},
      {"does not exist", &ErrorTableTest::UnknownId},
      {"idempotency key", &ErrorTableTest::IdempotencyConflict},
      {"redelivering", &ErrorTableTest::RedeliverWithoutHook},
      {"TestWebhook", &ErrorTableTest::TestWithoutWorker},
      {"kept changing", &ErrorTableTest::HooksKeptChanging},
      {"Redis unreachable", &ErrorTableTest::RedisDown},
      {"publish_min_replicas", &ErrorTableTest::TooFewReplicas},
  };
  const std::vector<Row> rows = ReadErrorTable();
  ASSERT_EQ(rows.size(), scenarios.size()) << "the README table and this test differ in rows";
  std::vector<bool> used(scenarios.size(), false);
  for (const Row& row : rows) {
    SCOPED_TRACE(row.situation);
    std::vector<size_t> matches;
    for (size_t i = 0; i < scenarios.size(); ++i) {
      if (absl::StrContains(row.situation, scenarios[i].first)) matches.push_back(i);
    }
    ASSERT_EQ(matches.size(), 1u) << "want exactly one scenario for this row";
    used[matches[0]] = true;
    const std::vector<absl::Status> got = (this->*scenarios[matches[0]].second)();
    ASSERT_FALSE(got.empty());
    for (const absl::Status& st : got) {
      EXPECT_EQ(absl::StatusCodeToString(st.code()), row.code) << st;
    }
  }
  for (size_t i = 0; i < used.size(); ++i) EXPECT_TRUE(used[i]) << scenarios[i].first;
}

}  // namespace
}  // namespace hookrelay::registry
