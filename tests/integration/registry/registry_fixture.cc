#include "tests/integration/registry/registry_fixture.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace hookrelay::registry {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::StatusOr<std::unique_ptr<RegistryInstance>> RegistryInstance::Start(const Options& options) {
  std::unique_ptr<RegistryInstance> r(new RegistryInstance());
  RegistryOptions registry_options;
  registry_options.redis.url = options.redis_url;
  registry_options.durability = options.durability;
  registry_options.limits.allow_http = options.allow_http;
  auto registry = Registry::Create(registry_options, core::Clock::Real());
  if (!registry.ok()) return registry.status();
  r->registry_ = *std::move(registry);
  r->metrics_ = std::make_unique<RegistryMetrics>(r->prometheus_);
  // As in main.cc: keys made with CreateApiKey authenticate too.
  r->auth_ = std::make_unique<Authenticator>(options.insecure, options.admin_key,
                                             &r->registry_->api_keys(), options.api_key_cache_ttl);
  r->service_ = std::make_unique<GrpcService>(*r->registry_, *r->auth_, *r->metrics_);
  // As in main.cc: health follows Redis.
  HealthOptions health{.service_name = v1::WebhookRegistry::service_full_name(),
                       .ready = [registry = r->registry_.get()] { return registry->Ready(); },
                       .interval = options.health_interval};
  auto server =
      GrpcServer::Start({.grpc_address = "127.0.0.1:0"}, r->service_.get(), std::move(health));
  if (!server.ok()) return server.status();
  r->server_ = *std::move(server);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(32 * 1024 * 1024);
  r->channel_ = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", r->server_->port()),
                                          grpc::InsecureChannelCredentials(), args);
  r->stub_ = v1::WebhookRegistry::NewStub(r->channel_);
  return r;
}

RegistryInstance::~RegistryInstance() {
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
}

absl::StatusOr<int> CheckHealth(std::shared_ptr<grpc::Channel> channel, absl::string_view service) {
  // HealthCheckRequest{service = 1} by hand: Debian ships no generated health stubs.
  std::string request;
  if (!service.empty()) {
    request = absl::StrCat(std::string(1, '\x0a'),
                           std::string(1, static_cast<char>(service.size())), service);
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1), resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::GenericStub stub(std::move(channel));
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                 [&](grpc::Status st) {
                   status = std::move(st);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return FromGrpc(status);
  std::vector<grpc::Slice> slices;
  if (!resp.Dump(&slices).ok()) return absl::InternalError("health: unreadable response");
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status = 1}: "\x08<status>", or nothing for UNKNOWN (0).
  if (bytes.empty()) return 0;
  if (bytes.size() != 2 || bytes[0] != '\x08')
    return absl::InternalError("health: unexpected response");
  return static_cast<int>(bytes[1]);
}

v1::Webhook Hook(absl::string_view tenant, std::vector<std::string> event_types) {
  v1::Webhook hook;
  hook.set_tenant(std::string(tenant));
  hook.set_url("https://example.com/hooks/{{data.n}}");
  for (std::string& t : event_types) hook.add_event_types(std::move(t));
  (*hook.mutable_headers())["Authorization"] = "Bearer receiver-token";
  hook.set_description("test hook");
  return hook;
}

v1::PublishEventRequest Event(absl::string_view tenant, absl::string_view type,
                              absl::string_view payload) {
  v1::PublishEventRequest req;
  req.set_tenant(std::string(tenant));
  req.set_type(std::string(type));
  req.set_payload(std::string(payload));
  return req;
}

void RegistryTest::SetUpTestSuite() { redis_ = testing::RedisServer::Start().value(); }

void RegistryTest::TearDownTestSuite() { redis_.reset(); }

void RegistryTest::SetUp() {
  ASSERT_OK(redis_->FlushAll());
  ASSERT_OK_AND_ASSIGN(registry_, RegistryInstance::Start({.redis_url = redis_->url()}));
}

void RegistryTest::TearDown() { registry_.reset(); }

absl::StatusOr<v1::Webhook> RegistryTest::CreateWebhook(const v1::Webhook& hook,
                                                        absl::string_view key) {
  v1::CreateWebhookRequest req;
  *req.mutable_webhook() = hook;
  return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::CreateWebhook, req, key);
}

absl::StatusOr<v1::Webhook> RegistryTest::GetWebhook(absl::string_view tenant, absl::string_view id,
                                                     absl::string_view key) {
  v1::GetWebhookRequest req;
  req.set_tenant(std::string(tenant));
  req.set_id(std::string(id));
  return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::GetWebhook, req, key);
}

absl::Status RegistryTest::DeleteWebhook(absl::string_view tenant, absl::string_view id) {
  v1::DeleteWebhookRequest req;
  req.set_tenant(std::string(tenant));
  req.set_id(std::string(id));
  return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::DeleteWebhook, req, kAdminKey)
      .status();
}

absl::StatusOr<v1::PublishEventResponse> RegistryTest::PublishEvent(
    const v1::PublishEventRequest& req, absl::string_view key) {
  return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::PublishEvent, req, key);
}

absl::StatusOr<v1::PublishEventsResponse> RegistryTest::PublishEvents(
    const v1::PublishEventsRequest& req) {
  return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::PublishEvents, req, kAdminKey);
}

absl::StatusOr<v1::Event> RegistryTest::GetEvent(absl::string_view tenant, absl::string_view id) {
  v1::GetEventRequest req;
  req.set_tenant(std::string(tenant));
  req.set_id(std::string(id));
  return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::GetEvent, req, kAdminKey);
}

absl::StatusOr<v1::Delivery> RegistryTest::GetDelivery(absl::string_view tenant,
                                                       absl::string_view id) {
  v1::GetDeliveryRequest req;
  req.set_tenant(std::string(tenant));
  req.set_id(std::string(id));
  return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::GetDelivery, req, kAdminKey);
}

std::vector<std::string> RegistryTest::HookIdsOf(absl::string_view tenant,
                                                 const v1::PublishEventResponse& resp) {
  std::vector<std::string> hook_ids;
  for (const std::string& id : resp.delivery_ids()) {
    absl::StatusOr<v1::Delivery> d = GetDelivery(tenant, id);
    EXPECT_OK(d.status()) << id;
    hook_ids.push_back(d.ok() ? d->webhook_id() : "<missing " + id + ">");
  }
  std::sort(hook_ids.begin(), hook_ids.end());
  return hook_ids;
}

std::vector<std::string> RegistryTest::AllKeys() {
  absl::StatusOr<std::string> keys = redis_->Command({"KEYS", "*"});
  EXPECT_OK(keys.status());
  std::vector<std::string> out;
  if (keys.ok() && !keys->empty()) out = absl::StrSplit(*keys, '\n');
  // Not what a request writes: the layout record (a readiness probe makes it) and the
  // workers' maintenance leases (they come and go).
  std::erase_if(
      out, [&](const std::string& k) { return k == keys_.Meta() || absl::EndsWith(k, "}:maint"); });
  std::sort(out.begin(), out.end());
  return out;
}

long long RegistryTest::StreamLength() {
  long long total = 0;
  for (int s = 0; s < keys_.shards(); ++s) {
    absl::StatusOr<std::string> len = redis_->Command({"XLEN", keys_.Stream(s)});
    long long n = -1;
    EXPECT_OK(len.status());
    if (len.ok()) {
      EXPECT_TRUE(absl::SimpleAtoi(*len, &n)) << *len;
    }
    total += n;
  }
  return total;
}

}  // namespace hookrelay::registry
