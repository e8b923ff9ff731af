// The registry's RPCs over a real gRPC channel: authentication, hooks (create, secret
// masking, get, delete, tenancy), events and deliveries read back, and batch publishes.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/signing/secret.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::registry {
namespace {

using ::hookrelay::testing::IsOk;
using ::hookrelay::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

using AuthTest = RegistryTest;
using HookApiTest = RegistryTest;
using EventApiTest = RegistryTest;

TEST_F(AuthTest, MissingKeyIsUnauthenticatedAndWritesNothing) {
  EXPECT_THAT(CreateWebhook(Hook("acme"), ""),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("authorization")));
  EXPECT_THAT(PublishEvent(Event("acme", "review.created"), ""),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(AllKeys(), IsEmpty());
}

TEST_F(AuthTest, WrongKeyIsUnauthenticated) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  for (absl::string_view key : {"wrong-key", "secret-admin-ke", "secret-admin-key2", " "}) {
    SCOPED_TRACE(key);
    EXPECT_THAT(CreateWebhook(Hook("acme"), key), StatusIs(absl::StatusCode::kUnauthenticated));
    EXPECT_THAT(GetWebhook("acme", hook.id(), key), StatusIs(absl::StatusCode::kUnauthenticated));
    EXPECT_THAT(PublishEvent(Event("acme", "review.created"), key),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
  EXPECT_EQ(StreamLength(), 0);
}

TEST_F(AuthTest, NonBearerAuthorizationIsUnauthenticated) {
  v1::GetWebhookRequest req;
  req.set_tenant("acme");
  req.set_id(core::NewId(core::kWebhookIdPrefix, absl::Now()));
  for (const std::string& value :
       {std::string(kAdminKey), absl::StrCat("Basic ", kAdminKey), std::string("Bearer ")}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", value);
    v1::Webhook resp;
    EXPECT_THAT(FromGrpc(registry_->stub().GetWebhook(&ctx, req, &resp)),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << value;
  }
}

TEST_F(AuthTest, AdminKeyMayActOnAnyTenant) {
  for (const char* tenant : {"acme", "globex"}) {
    ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook(tenant)));
    EXPECT_OK(GetWebhook(tenant, hook.id()));
    EXPECT_OK(PublishEvent(Event(tenant, "review.created")));
  }
}

TEST_F(AuthTest, InsecureModeAcceptsCallsWithoutKey) {
  ASSERT_OK_AND_ASSIGN(auto insecure,
                       RegistryInstance::Start({.redis_url = redis_->url(), .insecure = true}));
  v1::CreateWebhookRequest req;
  *req.mutable_webhook() = Hook("acme");
  ASSERT_OK_AND_ASSIGN(
      v1::Webhook hook,
      CallRpc(insecure->stub(), &v1::WebhookRegistry::Stub::CreateWebhook, req, ""));
  EXPECT_TRUE(core::IsValidId(hook.id(), core::kWebhookIdPrefix));
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse published,
                       CallRpc(insecure->stub(), &v1::WebhookRegistry::Stub::PublishEvent,
                               Event("acme", "review.created"), "any-key-at-all"));
  EXPECT_THAT(published.delivery_ids(), SizeIs(1));
}

TEST_F(AuthTest, WithoutAnAdminKeyEveryCallIsRefused) {
  ASSERT_OK_AND_ASSIGN(auto locked,
                       RegistryInstance::Start({.redis_url = redis_->url(), .admin_key = ""}));
  v1::CreateWebhookRequest req;
  *req.mutable_webhook() = Hook("acme");
  for (absl::string_view key : {"", "x", ""}) {
    EXPECT_THAT(CallRpc(locked->stub(), &v1::WebhookRegistry::Stub::CreateWebhook, req, key),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
  EXPECT_THAT(AllKeys(), IsEmpty());
}

TEST_F(HookApiTest, CreateReturnsTheHookWithAGeneratedSecret) {
  v1::Webhook in = Hook("acme", {"review.*", "build.finished"});
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(in));
  EXPECT_TRUE(core::IsValidId(hook.id(), core::kWebhookIdPrefix)) << hook.id();
  EXPECT_EQ(hook.tenant(), "acme");
  EXPECT_EQ(hook.url(), in.url());
  EXPECT_THAT(hook.event_types(), ElementsAre("review.*", "build.finished"));
  EXPECT_TRUE(hook.enabled());
  EXPECT_EQ(hook.payload_format(), v1::PAYLOAD_FORMAT_ENVELOPE);
  EXPECT_EQ(hook.signing().scheme(), v1::SIGNING_SCHEME_STANDARD);
  EXPECT_THAT(hook.signing().secret(), StartsWith("whsec_"));
  ASSERT_OK_AND_ASSIGN(std::string key, signing::SecretKeyBytes(hook.signing().secret()));
  EXPECT_GE(key.size(), 24u);
  EXPECT_GT(hook.create_time().seconds(), 0);

  // Every hook gets its own secret.
  ASSERT_OK_AND_ASSIGN(v1::Webhook other, CreateWebhook(in));
  EXPECT_NE(other.id(), hook.id());
  EXPECT_NE(other.signing().secret(), hook.signing().secret());
}

TEST_F(HookApiTest, CreateKeepsASuppliedSecret) {
  v1::Webhook in = Hook("acme");
  in.mutable_signing()->set_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(in));
  EXPECT_EQ(hook.signing().secret(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
}

TEST_F(HookApiTest, GetReturnsTheHookWithTheSecretMasked) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook created, CreateWebhook(Hook("acme")));
  const std::string secret = created.signing().secret();
  const std::string secret_body = secret.substr(std::string("whsec_").size());
  ASSERT_FALSE(secret_body.empty());

  ASSERT_OK_AND_ASSIGN(v1::Webhook got, GetWebhook("acme", created.id()));
  EXPECT_EQ(got.id(), created.id());
  EXPECT_EQ(got.url(), created.url());
  EXPECT_THAT(got.headers(),
              ::testing::Contains(::testing::Pair("Authorization", "Bearer receiver-token")));
  EXPECT_THAT(got.signing().secret(), StartsWith("whsec_"));
  EXPECT_NE(got.signing().secret(), secret);
  // The secret appears nowhere in the response, not even in another field.
  EXPECT_THAT(got.SerializeAsString(), Not(HasSubstr(secret_body)));
  EXPECT_THAT(got.SerializeAsString(), Not(HasSubstr(secret_body.substr(0, 12))));
}

TEST_F(HookApiTest, AnotherTenantsHookIsNotFound) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  EXPECT_THAT(GetWebhook("globex", hook.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(DeleteWebhook("globex", hook.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(GetWebhook("acme", hook.id()));
}

TEST_F(HookApiTest, UnknownHookIsNotFound) {
  const std::string id = core::NewId(core::kWebhookIdPrefix, absl::Now());
  EXPECT_THAT(GetWebhook("acme", id), StatusIs(absl::StatusCode::kNotFound, HasSubstr(id)));
  EXPECT_THAT(DeleteWebhook("acme", id), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HookApiTest, DeletedHookIsGoneAndGetsNoMoreDeliveries) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook keep, CreateWebhook(Hook("acme")));
  ASSERT_OK_AND_ASSIGN(v1::Webhook gone, CreateWebhook(Hook("acme")));
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse before,
                       PublishEvent(Event("acme", "review.created")));
  EXPECT_THAT(before.delivery_ids(), SizeIs(2));

  ASSERT_OK(DeleteWebhook("acme", gone.id()));
  EXPECT_THAT(GetWebhook("acme", gone.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(DeleteWebhook("acme", gone.id()), StatusIs(absl::StatusCode::kNotFound));

  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse after,
                       PublishEvent(Event("acme", "review.created")));
  EXPECT_THAT(HookIdsOf("acme", after), ElementsAre(keep.id()));
}

TEST_F(EventApiTest, GetEventReturnsThePublishedEvent) {
  v1::PublishEventRequest req = Event("acme", "review.created", R"({"review":{"id":7}})");
  (*req.mutable_attributes())["repo"] = "core";
  req.mutable_occurred_at()->set_seconds(1700000000);
  req.set_idempotency_key("review-7-created");
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse published, PublishEvent(req));
  EXPECT_TRUE(core::IsValidId(published.event_id(), core::kEventIdPrefix));
  EXPECT_FALSE(published.duplicate());

  ASSERT_OK_AND_ASSIGN(v1::Event event, GetEvent("acme", published.event_id()));
  EXPECT_EQ(event.id(), published.event_id());
  EXPECT_EQ(event.tenant(), "acme");
  EXPECT_EQ(event.type(), "review.created");
  EXPECT_EQ(event.payload(), R"({"review":{"id":7}})");
  EXPECT_THAT(event.attributes(), ::testing::Contains(::testing::Pair("repo", "core")));
  EXPECT_EQ(event.occurred_at().seconds(), 1700000000);
  EXPECT_EQ(event.idempotency_key(), "review-7-created");
  EXPECT_GT(event.publish_time().seconds(), 1700000000);

  EXPECT_THAT(GetEvent("globex", published.event_id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(GetEvent("acme", core::NewId(core::kEventIdPrefix, absl::Now())),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EventApiTest, GetDeliveryReturnsAPendingRecordAfterPublish) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"review.*"})));
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse published,
                       PublishEvent(Event("acme", "review.created")));
  ASSERT_THAT(published.delivery_ids(), SizeIs(1));
  const std::string& id = published.delivery_ids(0);
  EXPECT_TRUE(core::IsValidId(id, core::kDeliveryIdPrefix)) << id;

  ASSERT_OK_AND_ASSIGN(v1::Delivery d, GetDelivery("acme", id));
  EXPECT_EQ(d.id(), id);
  EXPECT_EQ(d.tenant(), "acme");
  EXPECT_EQ(d.webhook_id(), hook.id());
  EXPECT_EQ(d.event_id(), published.event_id());
  EXPECT_EQ(d.event_type(), "review.created");
  EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_PENDING);
  EXPECT_EQ(d.attempt_count(), 0);
  EXPECT_THAT(d.attempts(), IsEmpty());
  EXPECT_GT(d.create_time().seconds(), 0);

  EXPECT_THAT(GetDelivery("globex", id), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EventApiTest, PublishEventsReturnsOneResultPerEventInOrder) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"review.*"})));
  v1::PublishEventsRequest batch;
  for (int i = 0; i < 100; ++i) {
    // Every third event matches no hook.
    *batch.add_events() = Event("acme", i % 3 == 2 ? "build.finished" : "review.created",
                                absl::StrCat(R"({"i":)", i, "}"));
  }
  ASSERT_OK_AND_ASSIGN(v1::PublishEventsResponse resp, PublishEvents(batch));
  ASSERT_THAT(resp.results(), SizeIs(100));
  int deliveries = 0;
  for (int i = 0; i < 100; ++i) {
    SCOPED_TRACE(i);
    const v1::PublishEventResponse& r = resp.results(i);
    EXPECT_FALSE(r.duplicate());
    EXPECT_THAT(r.delivery_ids(), SizeIs(i % 3 == 2 ? 0 : 1));
    deliveries += r.delivery_ids_size();
    ASSERT_OK_AND_ASSIGN(v1::Event event, GetEvent("acme", r.event_id()));
    EXPECT_EQ(event.payload(), absl::StrCat(R"({"i":)", i, "}"));
  }
  EXPECT_EQ(StreamLength(), deliveries);
  EXPECT_EQ(deliveries, 67);
}

TEST_F(EventApiTest, PublishEventsHonoursIdempotencyKeysWithinTheBatch) {
  ASSERT_OK(CreateWebhook(Hook("acme")).status());
  v1::PublishEventsRequest batch;
  for (const char* key : {"k1", "k2", "k1"}) {
    v1::PublishEventRequest* e = batch.add_events();
    *e = Event("acme", "review.created");
    e->set_idempotency_key(key);
  }
  ASSERT_OK_AND_ASSIGN(v1::PublishEventsResponse resp, PublishEvents(batch));
  ASSERT_THAT(resp.results(), SizeIs(3));
  EXPECT_FALSE(resp.results(0).duplicate());
  EXPECT_FALSE(resp.results(1).duplicate());
  EXPECT_TRUE(resp.results(2).duplicate());
  EXPECT_EQ(resp.results(2).event_id(), resp.results(0).event_id());
  EXPECT_THAT(resp.results(2).delivery_ids(), ElementsAre(resp.results(0).delivery_ids(0)));
  EXPECT_EQ(StreamLength(), 2);
}

}  // namespace
}  // namespace hookrelay::registry
