// The conformance walk: every RPC of hookrelay.v1.WebhookRegistry, over a real gRPC channel to
// a registry on a real Redis with a delivery worker sending to a real HTTP receiver, checked
// against the API's rules: it succeeds for its tenant; it refuses a missing or unknown key
// (UNAUTHENTICATED) and a key of the wrong tenant or role (PERMISSION_DENIED) writing nothing;
// bad input is INVALID_ARGUMENT whose message starts with the request's own field path and
// writes nothing (AIP-193); an unknown id is NOT_FOUND; list RPCs page per AIP-158. The
// deeper rules have their own tests: paging_test, error_table_test, health_test, hooks_api_test
// (AIP-134), publish_test (idempotency).

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/integration/registry/worker_fixture.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::registry {
namespace {

using ::hookrelay::testing::StatusIs;
using ::testing::StartsWith;
using Stub = v1::WebhookRegistry::Stub;
using Call = std::function<absl::Status(absl::string_view key)>;

constexpr char kUnknownUlid[] = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

// Who may call an RPC: a tenant's own keys, also its publisher keys, or admins only.
enum class Access { kTenant, kPublish, kAdmin };

// A request that must fail with `code`, its message starting with `prefix`.
struct Bad {
  std::string what;
  Call call;
  absl::StatusCode code;
  std::string prefix;
};

struct Rpc {
  std::string method;
  Access access;
  Call ok;  // a valid request on acme's objects
  std::vector<Bad> bad;
};

class ConformanceTest : public RegistryWorkerTest {
 protected:
  void SetUp() override {
    RegistryWorkerTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK_AND_ASSIGN(receiver_, testing::HttpReceiver::Start());
    ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(HttpHook("acme", receiver_->Url("/in"))));
    hook_ = hook.id();
    StartWorker();
    ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse published, PublishEvent(Event("acme", "a.b")));
    event_ = published.event_id();
    delivery_ = published.delivery_ids(0);
    WaitForStatus("acme", delivery_, v1::DELIVERY_STATUS_SUCCEEDED, 1);
    tenant_key_ = Key(v1::API_KEY_ROLE_TENANT, "acme");
    publisher_key_ = Key(v1::API_KEY_ROLE_PUBLISHER, "acme");
    other_key_ = Key(v1::API_KEY_ROLE_TENANT, "globex");
  }

  std::string Key(v1::ApiKeyRole role, const std::string& tenant) {
    v1::CreateApiKeyRequest req;
    req.set_role(role);
    req.set_tenant(tenant);
    auto key = CallRpc(registry_->stub(), &Stub::CreateApiKey, req, kAdminKey);
    EXPECT_OK(key.status());
    return key.ok() ? key->key() : "";
  }

  // `method` with `req`, as a Call taking the key.
  template <typename Req, typename Resp>
  Call Do(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), Req req) {
    return [this, method, req](absl::string_view key) {
      return CallRpc(registry_->stub(), method, req, key).status();
    };
  }
  // As Do, the request built when called (for requests on objects made just before).
  template <typename Req, typename Resp>
  Call DoLater(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
               std::function<Req()> make) {
    return [this, method, make](absl::string_view key) {
      return CallRpc(registry_->stub(), method, make(), key).status();
    };
  }
  static Bad Invalid(std::string what, Call call, std::string prefix) {
    return {std::move(what), std::move(call), absl::StatusCode::kInvalidArgument,
            std::move(prefix)};
  }
  static Bad NotFound(std::string what, Call call) {
    return {std::move(what), std::move(call), absl::StatusCode::kNotFound, ""};
  }
  template <typename Req>
  static Req Ref(const std::string& tenant, const std::string& id) {
    Req req;
    req.set_tenant(tenant);
    req.set_id(id);
    return req;
  }

  std::vector<Rpc> Hooks();
  std::vector<Rpc> EventsAndDeliveries();
  std::vector<Rpc> ApiKeys();
  std::vector<Rpc> All() {
    std::vector<Rpc> all = Hooks();
    for (std::vector<Rpc> more : {EventsAndDeliveries(), ApiKeys()}) {
      for (Rpc& r : more) all.push_back(std::move(r));
    }
    return all;
  }

  std::unique_ptr<testing::HttpReceiver> receiver_;
  std::string hook_, event_, delivery_;
  std::string tenant_key_, publisher_key_, other_key_;
};

std::vector<Rpc> ConformanceTest::Hooks() {
  const std::string unknown = absl::StrCat("wh_", kUnknownUlid);
  v1::CreateWebhookRequest create;
  *create.mutable_webhook() = HttpHook("acme", receiver_->Url("/new"));
  auto create_with = [&](std::function<void(v1::Webhook*)> edit) {
    v1::CreateWebhookRequest r = create;
    edit(r.mutable_webhook());
    return Do(&Stub::CreateWebhook, r);
  };
  v1::ListWebhooksRequest list;
  list.set_tenant("acme");
  auto list_with = [&](std::function<void(v1::ListWebhooksRequest*)> edit) {
    v1::ListWebhooksRequest r = list;
    edit(&r);
    return Do(&Stub::ListWebhooks, r);
  };
  v1::UpdateWebhookRequest update;
  update.mutable_webhook()->set_tenant("acme");
  update.mutable_webhook()->set_id(hook_);
  update.mutable_webhook()->set_description("updated");
  update.mutable_update_mask()->add_paths("description");
  auto update_with = [&](std::function<void(v1::UpdateWebhookRequest*)> edit) {
    v1::UpdateWebhookRequest r = update;
    edit(&r);
    return Do(&Stub::UpdateWebhook, r);
  };
  using Rotate = v1::RotateWebhookSecretRequest;
  auto rotate_with = [&](std::function<void(Rotate*)> edit) {
    Rotate r = Ref<Rotate>("acme", hook_);
    edit(&r);
    return Do(&Stub::RotateWebhookSecret, r);
  };
  using Test = v1::TestWebhookRequest;
  // A throwaway hook to delete.
  std::function<v1::DeleteWebhookRequest()> doomed = [this] {
    auto hook = CreateWebhook(Hook("acme"));
    return Ref<v1::DeleteWebhookRequest>("acme", hook.ok() ? hook->id() : "");
  };
  return {
      {"CreateWebhook",
       Access::kTenant,
       Do(&Stub::CreateWebhook, create),
       {Invalid("http url", create_with([](v1::Webhook* h) { h->set_url("ftp://x.example/"); }),
                "webhook.url:"),
        Invalid("bad tenant", create_with([](v1::Webhook* h) { h->set_tenant("a b"); }),
                "webhook.tenant:"),
        Invalid("id set",
                create_with([](v1::Webhook* h) { h->set_id(absl::StrCat("wh_", kUnknownUlid)); }),
                "webhook.id:")}},
      {"GetWebhook",
       Access::kTenant,
       Do(&Stub::GetWebhook, Ref<v1::GetWebhookRequest>("acme", hook_)),
       {Invalid("bad id", Do(&Stub::GetWebhook, Ref<v1::GetWebhookRequest>("acme", "nope")), "id:"),
        Invalid("bad tenant", Do(&Stub::GetWebhook, Ref<v1::GetWebhookRequest>("a b", hook_)),
                "tenant:"),
        NotFound("unknown", Do(&Stub::GetWebhook, Ref<v1::GetWebhookRequest>("acme", unknown))),
        NotFound("other tenant's",
                 Do(&Stub::GetWebhook, Ref<v1::GetWebhookRequest>("globex", hook_)))}},
      {"ListWebhooks",
       Access::kTenant,
       Do(&Stub::ListWebhooks, list),
       {Invalid("negative page size", list_with([](auto* r) { r->set_page_size(-1); }),
                "page_size:"),
        Invalid("made-up token", list_with([](auto* r) { r->set_page_token("bm9wZQ"); }),
                "page_token:"),
        Invalid("bad event type", list_with([](auto* r) { r->set_event_type("a b"); }),
                "event_type:")}},
      {"UpdateWebhook",
       Access::kTenant,
       Do(&Stub::UpdateWebhook, update),
       {Invalid("unknown path",
                update_with([](auto* r) { r->mutable_update_mask()->add_paths("nope"); }),
                "update_mask:"),
        Invalid("bad id", update_with([](auto* r) { r->mutable_webhook()->set_id("nope"); }),
                "webhook.id:"),
        Invalid("bad url", update_with([](auto* r) {
                  r->mutable_webhook()->set_url("ftp://x.example/");
                  r->mutable_update_mask()->add_paths("url");
                }),
                "webhook.url:"),
        NotFound("unknown", update_with([&](auto* r) { r->mutable_webhook()->set_id(unknown); }))}},
      {"DeleteWebhook",
       Access::kTenant,
       DoLater(&Stub::DeleteWebhook, doomed),
       {Invalid("bad id", Do(&Stub::DeleteWebhook, Ref<v1::DeleteWebhookRequest>("acme", "nope")),
                "id:"),
        NotFound("unknown",
                 Do(&Stub::DeleteWebhook, Ref<v1::DeleteWebhookRequest>("acme", unknown)))}},
      // The defect: these three named "webhook.id" / "webhook.tenant", fields they lack.
      {"RotateWebhookSecret",
       Access::kTenant,
       rotate_with([](Rotate*) {}),
       {Invalid("bad id", rotate_with([](Rotate* r) { r->set_id("nope"); }), "id:"),
        Invalid("bad tenant", rotate_with([](Rotate* r) { r->set_tenant("a b"); }), "tenant:"),
        Invalid("negative grace", rotate_with([](Rotate* r) { r->set_grace_period_seconds(-1); }),
                "grace_period_seconds:"),
        Invalid("short secret", rotate_with([](Rotate* r) { r->set_new_secret("whsec_x"); }),
                "new_secret"),
        NotFound("unknown", rotate_with([&](Rotate* r) { r->set_id(unknown); }))}},
      {"TestWebhook",
       Access::kTenant,
       Do(&Stub::TestWebhook, Ref<Test>("acme", hook_)),
       {Invalid("bad id", Do(&Stub::TestWebhook, Ref<Test>("acme", "nope")), "id:"),
        Invalid("bad tenant", Do(&Stub::TestWebhook, Ref<Test>("a b", hook_)), "tenant:"),
        NotFound("unknown", Do(&Stub::TestWebhook, Ref<Test>("acme", unknown)))}},
  };
}

std::vector<Rpc> ConformanceTest::EventsAndDeliveries() {
  auto publish_with = [&](std::function<void(v1::PublishEventRequest*)> edit) {
    v1::PublishEventRequest r = Event("acme", "a.b");
    edit(&r);
    return Do(&Stub::PublishEvent, r);
  };
  v1::PublishEventsRequest batch;
  *batch.add_events() = Event("acme", "a.b");
  *batch.add_events() = Event("acme", "a.c");
  v1::PublishEventsRequest bad_batch = batch;
  bad_batch.mutable_events(1)->set_payload("{");
  v1::PublishEventsRequest big_batch;
  for (int i = 0; i < 501; ++i) *big_batch.add_events() = Event("acme", "a.b");
  v1::ListDeliveriesRequest list;
  list.set_tenant("acme");
  list.set_webhook_id(hook_);
  auto list_with = [&](std::function<void(v1::ListDeliveriesRequest*)> edit) {
    v1::ListDeliveriesRequest r = list;
    edit(&r);
    return Do(&Stub::ListDeliveries, r);
  };
  using Redeliver = v1::RedeliverDeliveryRequest;
  using Recover = v1::RecoverWebhookRequest;
  const std::string unknown_event = absl::StrCat("evt_", kUnknownUlid);
  const std::string unknown_delivery = absl::StrCat("dlv_", kUnknownUlid);
  const std::string unknown_hook = absl::StrCat("wh_", kUnknownUlid);
  return {
      {"PublishEvent",
       Access::kPublish,
       publish_with([](auto*) {}),
       {Invalid("bad payload", publish_with([](auto* r) { r->set_payload("not json"); }),
                "payload:"),
        Invalid("no type", publish_with([](auto* r) { r->set_type(""); }), "type:"),
        Invalid("bad tenant", publish_with([](auto* r) { r->set_tenant("a b"); }), "tenant:")}},
      {"PublishEvents",
       Access::kPublish,
       Do(&Stub::PublishEvents, batch),
       {Invalid("one bad event", Do(&Stub::PublishEvents, bad_batch), "events[1].payload:"),
        Invalid("too many", Do(&Stub::PublishEvents, big_batch), "events:")}},
      {"GetEvent",
       Access::kTenant,
       Do(&Stub::GetEvent, Ref<v1::GetEventRequest>("acme", event_)),
       {Invalid("bad id", Do(&Stub::GetEvent, Ref<v1::GetEventRequest>("acme", "nope")), "id:"),
        NotFound("unknown", Do(&Stub::GetEvent, Ref<v1::GetEventRequest>("acme", unknown_event)))}},
      {"ListDeliveries",
       Access::kTenant,
       Do(&Stub::ListDeliveries, list),
       {Invalid("no parent", list_with([](auto* r) { r->clear_webhook_id(); }),
                "webhook_id, event_id:"),
        Invalid("bad status",
                list_with([](auto* r) { r->set_status(static_cast<v1::DeliveryStatus>(42)); }),
                "status:"),
        Invalid("negative page size", list_with([](auto* r) { r->set_page_size(-5); }),
                "page_size:"),
        Invalid("made-up token", list_with([](auto* r) { r->set_page_token("bm9wZQ"); }),
                "page_token:"),
        NotFound("unknown hook", list_with([&](auto* r) { r->set_webhook_id(unknown_hook); })),
        NotFound("unknown event", list_with([&](auto* r) {
                   r->clear_webhook_id();
                   r->set_event_id(unknown_event);
                 }))}},
      {"GetDelivery",
       Access::kTenant,
       Do(&Stub::GetDelivery, Ref<v1::GetDeliveryRequest>("acme", delivery_)),
       {Invalid("bad id", Do(&Stub::GetDelivery, Ref<v1::GetDeliveryRequest>("acme", "nope")),
                "id:"),
        NotFound("unknown",
                 Do(&Stub::GetDelivery, Ref<v1::GetDeliveryRequest>("acme", unknown_delivery)))}},
      {"RedeliverDelivery",
       Access::kTenant,
       Do(&Stub::RedeliverDelivery, Ref<Redeliver>("acme", delivery_)),
       {Invalid("bad id", Do(&Stub::RedeliverDelivery, Ref<Redeliver>("acme", "nope")), "id:"),
        NotFound("unknown",
                 Do(&Stub::RedeliverDelivery, Ref<Redeliver>("acme", unknown_delivery)))}},
      {"RecoverWebhook",
       Access::kTenant,
       Do(&Stub::RecoverWebhook, Ref<Recover>("acme", hook_)),
       {Invalid("bad id", Do(&Stub::RecoverWebhook, Ref<Recover>("acme", "nope")), "id:"),
        Invalid("bad tenant", Do(&Stub::RecoverWebhook, Ref<Recover>("a b", hook_)), "tenant:"),
        NotFound("unknown", Do(&Stub::RecoverWebhook, Ref<Recover>("acme", unknown_hook)))}},
  };
}

std::vector<Rpc> ConformanceTest::ApiKeys() {
  v1::CreateApiKeyRequest create;
  create.set_role(v1::API_KEY_ROLE_TENANT);
  create.set_tenant("acme");
  v1::CreateApiKeyRequest no_role = create;
  no_role.clear_role();
  v1::CreateApiKeyRequest bad_tenant = create;
  bad_tenant.set_tenant("a b");
  v1::ListApiKeysRequest list;
  v1::ListApiKeysRequest negative = list;
  negative.set_page_size(-1);
  v1::ListApiKeysRequest bad_filter = list;
  bad_filter.set_tenant("a b");
  std::function<v1::RevokeApiKeyRequest()> doomed = [this] {
    v1::CreateApiKeyRequest req;
    req.set_role(v1::API_KEY_ROLE_PUBLISHER);
    req.set_tenant("acme");
    auto key = CallRpc(registry_->stub(), &Stub::CreateApiKey, req, kAdminKey);
    v1::RevokeApiKeyRequest revoke;
    revoke.set_id(key.ok() ? key->id() : "");
    return revoke;
  };
  v1::RevokeApiKeyRequest revoke_bad, revoke_unknown;
  revoke_bad.set_id("nope");
  revoke_unknown.set_id(absl::StrCat("key_", kUnknownUlid));
  return {
      {"CreateApiKey",
       Access::kAdmin,
       Do(&Stub::CreateApiKey, create),
       {Invalid("no role", Do(&Stub::CreateApiKey, no_role), "role:"),
        Invalid("bad tenant", Do(&Stub::CreateApiKey, bad_tenant), "tenant:")}},
      {"ListApiKeys",
       Access::kAdmin,
       Do(&Stub::ListApiKeys, list),
       {Invalid("negative page size", Do(&Stub::ListApiKeys, negative), "page_size:"),
        Invalid("bad tenant", Do(&Stub::ListApiKeys, bad_filter), "tenant:")}},
      {"RevokeApiKey",
       Access::kAdmin,
       DoLater(&Stub::RevokeApiKey, doomed),
       {Invalid("bad id", Do(&Stub::RevokeApiKey, revoke_bad), "id:"),
        NotFound("unknown", Do(&Stub::RevokeApiKey, revoke_unknown))}},
  };
}

TEST_F(ConformanceTest, TheWalkCoversEveryRpcOfTheService) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::WebhookRegistry::service_full_name());
  ASSERT_NE(service, nullptr);
  std::set<std::string> declared, walked;
  for (int i = 0; i < service->method_count(); ++i) declared.insert(service->method(i)->name());
  for (const Rpc& rpc : All()) walked.insert(rpc.method);
  EXPECT_EQ(walked, declared);
}

TEST_F(ConformanceTest, EveryRpcSucceedsForAKeyAllowedToCallIt) {
  for (const Rpc& rpc : All()) {
    SCOPED_TRACE(rpc.method);
    EXPECT_OK(rpc.ok(kAdminKey));
    if (rpc.access != Access::kAdmin) {
      EXPECT_OK(rpc.ok(tenant_key_));
    }
    if (rpc.access == Access::kPublish) {
      EXPECT_OK(rpc.ok(publisher_key_));
    }
  }
}

TEST_F(ConformanceTest, EveryRpcRefusesACallerWithoutAValidKeyOrRoleAndWritesNothing) {
  const std::vector<std::string> keys = AllKeys();
  for (const Rpc& rpc : All()) {
    SCOPED_TRACE(rpc.method);
    EXPECT_THAT(rpc.ok(""), StatusIs(absl::StatusCode::kUnauthenticated));
    EXPECT_THAT(rpc.ok("hr_not_a_key"), StatusIs(absl::StatusCode::kUnauthenticated));
    if (rpc.access == Access::kAdmin) {
      EXPECT_THAT(rpc.ok(tenant_key_), StatusIs(absl::StatusCode::kPermissionDenied));
      continue;
    }
    EXPECT_THAT(rpc.ok(other_key_), StatusIs(absl::StatusCode::kPermissionDenied));
    if (rpc.access == Access::kTenant) {
      EXPECT_THAT(rpc.ok(publisher_key_), StatusIs(absl::StatusCode::kPermissionDenied));
    }
  }
  // The throwaway hooks and keys of DeleteWebhook and RevokeApiKey are the only new keys.
  std::vector<std::string> after = AllKeys();
  std::erase_if(after, [&](const std::string& k) {
    return !std::binary_search(keys.begin(), keys.end(), k) &&
           (k.find(":hook:") != std::string::npos || k.find("apikey") != std::string::npos);
  });
  EXPECT_EQ(after, keys);
}

TEST_F(ConformanceTest, EveryRpcNamesTheFieldOfABadRequestAndAnUnknownIdIsNotFound) {
  for (const Rpc& rpc : All()) {
    for (const Bad& bad : rpc.bad) {
      SCOPED_TRACE(absl::StrCat(rpc.method, ": ", bad.what));
      const std::vector<std::string> keys = AllKeys();
      EXPECT_THAT(bad.call(kAdminKey), StatusIs(bad.code, StartsWith(bad.prefix)));
      EXPECT_EQ(AllKeys(), keys) << "wrote something";
    }
  }
}

}  // namespace
}  // namespace hookrelay::registry
