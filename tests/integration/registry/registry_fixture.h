#pragma once

// A webhook-registry served in-process over a real gRPC channel (127.0.0.1, port 0), backed
// by one private redis-server per test binary, and a fixture that starts a fresh registry for
// every test (so no hook index outlives the FLUSHALL between tests).
//
//   TEST_F(RegistryTest, X) {
//     ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
//     EXPECT_THAT(PublishEvent(Event("acme", "review.created")), IsOk());
//   }

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "hookrelay/v1/registry.grpc.pb.h"
#include "libs/core/clock.h"
#include "libs/store/keys.h"
#include "prometheus/registry.h"
#include "services/registry/auth.h"
#include "services/registry/grpc_service.h"
#include "services/registry/registry.h"
#include "services/registry/registry_metrics.h"
#include "services/registry/server.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::registry {

inline constexpr absl::string_view kAdminKey = "secret-admin-key";

// The grpc::Status of an RPC as an absl::Status (same code and message).
absl::Status FromGrpc(const grpc::Status& status);

// One registry: Registry + GrpcService + GrpcServer, and a stub on a channel to it.
class RegistryInstance {
 public:
  struct Options {
    std::string redis_url;
    bool insecure = false;
    std::string admin_key = std::string(kAdminKey);
    bool allow_http = false;  // plain http:// hook URLs (tests with a local receiver)
    absl::Duration api_key_cache_ttl = absl::Seconds(2);
    absl::Duration health_interval = absl::Milliseconds(100);
    queue::Durability durability;  // --publish_min_replicas
  };
  static absl::StatusOr<std::unique_ptr<RegistryInstance>> Start(const Options& options);
  ~RegistryInstance();

  v1::WebhookRegistry::Stub& stub() { return *stub_; }
  int port() const { return server_->port(); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  RegistryInstance() = default;

  std::unique_ptr<Registry> registry_;
  prometheus::Registry prometheus_;
  std::unique_ptr<RegistryMetrics> metrics_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<GrpcService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WebhookRegistry::Stub> stub_;
};

// What grpc.health.v1.Health/Check answers on `channel` for `service`: 1 SERVING,
// 2 NOT_SERVING, or the call's error (NOT_FOUND for a service the server does not know).
absl::StatusOr<int> CheckHealth(std::shared_ptr<grpc::Channel> channel, absl::string_view service);

// Calls one unary RPC on `stub` with `authorization: Bearer <key>` (no header when `key` is
// empty) and a 60 s deadline.
template <typename Resp, typename Req>
absl::StatusOr<Resp> CallRpc(v1::WebhookRegistry::Stub& stub,
                             grpc::Status (v1::WebhookRegistry::Stub::*method)(grpc::ClientContext*,
                                                                               const Req&, Resp*),
                             const Req& req, absl::string_view key) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!key.empty()) ctx.AddMetadata("authorization", "Bearer " + std::string(key));
  Resp resp;
  const grpc::Status st = (stub.*method)(&ctx, req, &resp);
  if (!st.ok()) return FromGrpc(st);
  return resp;
}

// A valid hook for `tenant` subscribed to `event_types`.
v1::Webhook Hook(absl::string_view tenant, std::vector<std::string> event_types = {"*"});
// A valid publish of `type` for `tenant`.
v1::PublishEventRequest Event(absl::string_view tenant, absl::string_view type,
                              absl::string_view payload = R"({"n":1})");

class RegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Wrappers of the RPCs on the fixture's registry with the admin key (or `key`).
  absl::StatusOr<v1::Webhook> CreateWebhook(const v1::Webhook& hook,
                                            absl::string_view key = kAdminKey);
  absl::StatusOr<v1::Webhook> GetWebhook(absl::string_view tenant, absl::string_view id,
                                         absl::string_view key = kAdminKey);
  absl::Status DeleteWebhook(absl::string_view tenant, absl::string_view id);
  absl::StatusOr<v1::PublishEventResponse> PublishEvent(const v1::PublishEventRequest& req,
                                                        absl::string_view key = kAdminKey);
  absl::StatusOr<v1::PublishEventsResponse> PublishEvents(const v1::PublishEventsRequest& req);
  absl::StatusOr<v1::Event> GetEvent(absl::string_view tenant, absl::string_view id);
  absl::StatusOr<v1::Delivery> GetDelivery(absl::string_view tenant, absl::string_view id);

  // The hook ids the deliveries of `resp` go to, read back with GetDelivery, sorted.
  std::vector<std::string> HookIdsOf(absl::string_view tenant,
                                     const v1::PublishEventResponse& resp);
  // Every Redis key a request may write, sorted (not the layout record or the workers'
  // maintenance leases).
  std::vector<std::string> AllKeys();
  // Entries in every shard's delivery stream.
  long long StreamLength();

  inline static std::unique_ptr<testing::RedisServer> redis_;
  const store::KeySchema keys_;
  std::unique_ptr<RegistryInstance> registry_;
};

}  // namespace hookrelay::registry
