// API keys over a real gRPC channel: admins create, list and revoke them; each role may do
// exactly what README "API overview" says, and a revoked key stops working.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/auth.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::registry {
namespace {

using ::hookrelay::testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using Stub = v1::WebhookRegistry::Stub;

constexpr absl::StatusCode kDenied = absl::StatusCode::kPermissionDenied;

class ApiKeysTest : public RegistryTest {
 protected:
  absl::StatusOr<v1::ApiKey> CreateKey(v1::ApiKeyRole role, absl::string_view tenant,
                                       absl::string_view key = kAdminKey) {
    v1::CreateApiKeyRequest req;
    req.set_role(role);
    req.set_tenant(std::string(tenant));
    req.set_description("test key");
    return CallRpc(registry_->stub(), &Stub::CreateApiKey, req, key);
  }
  absl::StatusOr<v1::ListApiKeysResponse> ListKeys(absl::string_view tenant = "",
                                                   absl::string_view key = kAdminKey) {
    v1::ListApiKeysRequest req;
    req.set_tenant(std::string(tenant));
    return CallRpc(registry_->stub(), &Stub::ListApiKeys, req, key);
  }
  absl::Status RevokeKey(const std::string& id, absl::string_view key = kAdminKey) {
    v1::RevokeApiKeyRequest req;
    req.set_id(id);
    return CallRpc(registry_->stub(), &Stub::RevokeApiKey, req, key).status();
  }
  absl::StatusOr<v1::ListWebhooksResponse> ListHooks(absl::string_view tenant,
                                                     absl::string_view key) {
    v1::ListWebhooksRequest req;
    req.set_tenant(std::string(tenant));
    return CallRpc(registry_->stub(), &Stub::ListWebhooks, req, key);
  }
  absl::StatusOr<v1::Webhook> UpdateDescription(v1::Webhook hook, absl::string_view key) {
    v1::UpdateWebhookRequest req;
    hook.set_description("updated");
    *req.mutable_webhook() = hook;
    req.mutable_update_mask()->add_paths("description");
    return CallRpc(registry_->stub(), &Stub::UpdateWebhook, req, key);
  }
  absl::StatusOr<v1::ListDeliveriesResponse> ListDeliveries(absl::string_view tenant,
                                                            const std::string& hook_id,
                                                            absl::string_view key) {
    v1::ListDeliveriesRequest req;
    req.set_tenant(std::string(tenant));
    req.set_webhook_id(hook_id);
    return CallRpc(registry_->stub(), &Stub::ListDeliveries, req, key);
  }
  absl::Status DeleteAs(absl::string_view tenant, const std::string& id, absl::string_view key) {
    v1::DeleteWebhookRequest req;
    req.set_tenant(std::string(tenant));
    req.set_id(id);
    return CallRpc(registry_->stub(), &Stub::DeleteWebhook, req, key).status();
  }
  // Every Redis value of the key store, to check that no key is kept in clear.
  std::string StoredKeyRecords() {
    std::string all;
    for (const std::string& k : AllKeys()) {
      absl::StatusOr<std::string> type = redis_->Command({"TYPE", k});
      if (!type.ok()) continue;
      absl::StatusOr<std::string> v =
          *type == "hash" ? redis_->Command({"HGETALL", k}) : redis_->Command({"GET", k});
      if (v.ok()) absl::StrAppend(&all, k, "=", *v, "\n");
    }
    return all;
  }
};

TEST_F(ApiKeysTest, AdminCreatesKeysShownOnceAndStoredAsDigests) {
  ASSERT_OK_AND_ASSIGN(v1::ApiKey tenant_key, CreateKey(v1::API_KEY_ROLE_TENANT, "acme"));
  ASSERT_OK_AND_ASSIGN(v1::ApiKey publisher, CreateKey(v1::API_KEY_ROLE_PUBLISHER, "acme"));
  ASSERT_OK_AND_ASSIGN(v1::ApiKey admin, CreateKey(v1::API_KEY_ROLE_ADMIN, ""));
  ASSERT_OK_AND_ASSIGN(v1::ApiKey globex, CreateKey(v1::API_KEY_ROLE_TENANT, "globex"));
  for (const v1::ApiKey* k : {&tenant_key, &publisher, &admin, &globex}) {
    EXPECT_THAT(k->key(), StartsWith("hr_"));
    EXPECT_GE(k->key().size(), 40u);
    EXPECT_THAT(k->id(), StartsWith("key_"));
    EXPECT_EQ(k->description(), "test key");
    EXPECT_TRUE(k->has_create_time());
  }
  EXPECT_EQ(tenant_key.role(), v1::API_KEY_ROLE_TENANT);
  EXPECT_EQ(tenant_key.tenant(), "acme");
  EXPECT_EQ(publisher.role(), v1::API_KEY_ROLE_PUBLISHER);
  EXPECT_EQ(admin.role(), v1::API_KEY_ROLE_ADMIN);
  EXPECT_EQ(admin.tenant(), "");
  EXPECT_NE(tenant_key.key(), publisher.key());

  ASSERT_OK_AND_ASSIGN(v1::ListApiKeysResponse all, ListKeys());
  std::vector<std::string> ids;
  for (const v1::ApiKey& k : all.keys()) {
    EXPECT_THAT(k.key(), IsEmpty()) << k.id();  // never shown again
    ids.push_back(k.id());
  }
  EXPECT_THAT(ids, UnorderedElementsAre(tenant_key.id(), publisher.id(), admin.id(), globex.id()));
  ASSERT_OK_AND_ASSIGN(v1::ListApiKeysResponse acme, ListKeys("acme"));
  ids.clear();
  for (const v1::ApiKey& k : acme.keys()) ids.push_back(k.id());
  EXPECT_THAT(ids, UnorderedElementsAre(tenant_key.id(), publisher.id()));

  // Redis holds SHA-256 digests, never a key.
  EXPECT_THAT(AllKeys(), Contains(keys_.ApiKey(KeyDigest(tenant_key.key()))));
  const std::string records = StoredKeyRecords();
  for (const v1::ApiKey* k : {&tenant_key, &publisher, &admin, &globex}) {
    EXPECT_THAT(records, Not(HasSubstr(k->key())));
  }

  // The new admin key manages keys and hooks of any tenant.
  EXPECT_OK(CreateKey(v1::API_KEY_ROLE_PUBLISHER, "globex", admin.key()).status());
  EXPECT_OK(ListKeys("", admin.key()).status());
  EXPECT_OK(CreateWebhook(Hook("initech"), admin.key()).status());
}

TEST_F(ApiKeysTest, TenantKeyManagesItsOwnTenantAndMayOmitIt) {
  ASSERT_OK_AND_ASSIGN(v1::ApiKey key, CreateKey(v1::API_KEY_ROLE_TENANT, "acme"));
  const std::string k = key.key();

  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook(""), k));  // tenant left empty
  EXPECT_EQ(hook.tenant(), "acme");
  ASSERT_OK_AND_ASSIGN(v1::ListWebhooksResponse listed, ListHooks("", k));
  ASSERT_THAT(listed.webhooks(), SizeIs(1));
  EXPECT_EQ(listed.webhooks(0).id(), hook.id());
  EXPECT_OK(ListHooks("acme", k).status());
  EXPECT_OK(GetWebhook("", hook.id(), k).status());
  v1::Webhook named = hook;
  named.set_tenant("");
  ASSERT_OK_AND_ASSIGN(v1::Webhook updated, UpdateDescription(named, k));
  EXPECT_EQ(updated.description(), "updated");
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse published, PublishEvent(Event("", "x.y"), k));
  EXPECT_THAT(published.delivery_ids(), SizeIs(1));
  ASSERT_OK_AND_ASSIGN(v1::ListDeliveriesResponse deliveries, ListDeliveries("", hook.id(), k));
  EXPECT_THAT(deliveries.deliveries(), SizeIs(1));
  EXPECT_OK(DeleteAs("", hook.id(), k));
}

TEST_F(ApiKeysTest, TenantKeyIsDeniedOtherTenantsAndKeyManagement) {
  ASSERT_OK_AND_ASSIGN(v1::ApiKey key, CreateKey(v1::API_KEY_ROLE_TENANT, "acme"));
  const std::string k = key.key();
  ASSERT_OK_AND_ASSIGN(v1::Webhook theirs, CreateWebhook(Hook("globex")));

  EXPECT_THAT(CreateWebhook(Hook("globex"), k), StatusIs(kDenied));
  EXPECT_THAT(GetWebhook("globex", theirs.id(), k), StatusIs(kDenied));
  EXPECT_THAT(ListHooks("globex", k), StatusIs(kDenied));
  EXPECT_THAT(UpdateDescription(theirs, k), StatusIs(kDenied));
  EXPECT_THAT(DeleteAs("globex", theirs.id(), k), StatusIs(kDenied));
  EXPECT_THAT(PublishEvent(Event("globex", "x.y"), k), StatusIs(kDenied));
  EXPECT_THAT(ListDeliveries("globex", theirs.id(), k), StatusIs(kDenied));
  // Its own tenant does not hold another tenant's hook.
  EXPECT_THAT(GetWebhook("", theirs.id(), k), StatusIs(absl::StatusCode::kNotFound));

  EXPECT_THAT(CreateKey(v1::API_KEY_ROLE_TENANT, "acme", k), StatusIs(kDenied));
  EXPECT_THAT(CreateKey(v1::API_KEY_ROLE_ADMIN, "", k), StatusIs(kDenied));
  EXPECT_THAT(ListKeys("acme", k), StatusIs(kDenied));
  EXPECT_THAT(RevokeKey(key.id(), k), StatusIs(kDenied));

  // Nothing was written for globex or to the key store.
  ASSERT_OK_AND_ASSIGN(v1::ListWebhooksResponse globex, ListHooks("globex", kAdminKey));
  ASSERT_THAT(globex.webhooks(), SizeIs(1));
  EXPECT_EQ(globex.webhooks(0).description(), "test hook");
  EXPECT_EQ(StreamLength(), 0);
  ASSERT_OK_AND_ASSIGN(v1::ListApiKeysResponse keys, ListKeys());
  EXPECT_THAT(keys.keys(), SizeIs(1));
}

TEST_F(ApiKeysTest, PublisherKeyMayOnlyPublishForItsTenant) {
  ASSERT_OK_AND_ASSIGN(v1::ApiKey key, CreateKey(v1::API_KEY_ROLE_PUBLISHER, "acme"));
  const std::string k = key.key();
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));

  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse implicit, PublishEvent(Event("", "x.y"), k));
  EXPECT_THAT(implicit.delivery_ids(), SizeIs(1));
  EXPECT_OK(PublishEvent(Event("acme", "x.y"), k).status());
  EXPECT_THAT(PublishEvent(Event("globex", "x.y"), k), StatusIs(kDenied));

  EXPECT_THAT(CreateWebhook(Hook("acme"), k), StatusIs(kDenied, HasSubstr("publish")));
  EXPECT_THAT(ListHooks("acme", k), StatusIs(kDenied));
  EXPECT_THAT(ListHooks("", k), StatusIs(kDenied));
  EXPECT_THAT(GetWebhook("acme", hook.id(), k), StatusIs(kDenied));
  EXPECT_THAT(DeleteAs("acme", hook.id(), k), StatusIs(kDenied));
  EXPECT_THAT(ListDeliveries("acme", hook.id(), k), StatusIs(kDenied));
  EXPECT_THAT(CreateKey(v1::API_KEY_ROLE_PUBLISHER, "acme", k), StatusIs(kDenied));
  EXPECT_OK(GetWebhook("acme", hook.id()).status());  // still there
}

// The defect: the revoking replica kept accepting a revoked key for its cache time (2 s).
TEST_F(ApiKeysTest, RevokedKeyStopsWorkingAtOnceOnTheReplicaThatRevokedIt) {
  ASSERT_OK_AND_ASSIGN(v1::ApiKey revoked, CreateKey(v1::API_KEY_ROLE_TENANT, "acme"));
  ASSERT_OK_AND_ASSIGN(v1::ApiKey kept, CreateKey(v1::API_KEY_ROLE_TENANT, "acme"));
  ASSERT_OK(ListHooks("", revoked.key()).status());  // now cached by the authenticator
  ASSERT_OK(ListHooks("", kept.key()).status());

  ASSERT_OK(RevokeKey(revoked.id()));
  EXPECT_THAT(ListHooks("", revoked.key()), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(PublishEvent(Event("", "x.y"), revoked.key()),
              StatusIs(absl::StatusCode::kUnauthenticated));

  EXPECT_OK(ListHooks("", kept.key()).status());
  ASSERT_OK_AND_ASSIGN(v1::ListApiKeysResponse keys, ListKeys());
  ASSERT_THAT(keys.keys(), SizeIs(1));
  EXPECT_EQ(keys.keys(0).id(), kept.id());
  EXPECT_THAT(RevokeKey(revoked.id()), StatusIs(absl::StatusCode::kNotFound));
}

// Another replica remembers a key it checked for --api_key_cache_ttl, and no longer.
TEST_F(ApiKeysTest, RevokedKeyStopsWorkingOnOtherReplicasWithinTheCacheTtl) {
  constexpr absl::Duration kTtl = absl::Seconds(2);  // the registry's default
  ASSERT_OK_AND_ASSIGN(
      auto other, RegistryInstance::Start({.redis_url = redis_->url(), .api_key_cache_ttl = kTtl}));
  ASSERT_OK_AND_ASSIGN(v1::ApiKey key, CreateKey(v1::API_KEY_ROLE_TENANT, "acme"));
  v1::ListWebhooksRequest list;
  auto list_on_other = [&] {
    return CallRpc(other->stub(), &Stub::ListWebhooks, list, key.key()).status();
  };
  ASSERT_OK(list_on_other());  // cached there
  const absl::Time revoked = absl::Now();
  ASSERT_OK(RevokeKey(key.id()));
  EXPECT_THAT(ListHooks("", key.key()), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_TRUE(testing::WaitFor([&] { return absl::IsUnauthenticated(list_on_other()); },
                               kTtl + absl::Seconds(3), absl::Milliseconds(20)));
  EXPECT_LE(absl::Now() - revoked, kTtl + absl::Seconds(1));  // the TTL, and a poll or two
}

TEST_F(ApiKeysTest, CreateRejectsABadRoleOrTenantNamingTheFieldAndWritesNothing) {
  struct Case {
    v1::ApiKeyRole role;
    std::string tenant;
    std::string field;
  };
  const std::vector<Case> cases = {
      {v1::API_KEY_ROLE_UNSPECIFIED, "acme", "role:"},
      {static_cast<v1::ApiKeyRole>(42), "acme", "role:"},
      {v1::API_KEY_ROLE_TENANT, "", "tenant:"},
      {v1::API_KEY_ROLE_PUBLISHER, "", "tenant:"},
      {v1::API_KEY_ROLE_TENANT, "bad tenant!", "tenant:"},
      {v1::API_KEY_ROLE_PUBLISHER, std::string(65, 'a'), "tenant:"},
      {v1::API_KEY_ROLE_ADMIN, "{acme}", "tenant:"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(CreateKey(c.role, c.tenant),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(c.field)))
        << c.role << " " << c.tenant;
  }
  v1::CreateApiKeyRequest long_description;
  long_description.set_role(v1::API_KEY_ROLE_TENANT);
  long_description.set_tenant("acme");
  long_description.set_description(std::string(300, 'd'));
  EXPECT_THAT(CallRpc(registry_->stub(), &Stub::CreateApiKey, long_description, kAdminKey),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("description:")));
  EXPECT_THAT(AllKeys(), IsEmpty());

  EXPECT_THAT(RevokeKey("nope"), StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("id:")));
  EXPECT_THAT(RevokeKey("key_01ARZ3NDEKTSV4RRFFQ69G5FAV"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ListKeys("bad tenant!"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("tenant:")));
}

TEST_F(ApiKeysTest, UnknownKeyIsUnauthenticatedForKeyManagement) {
  EXPECT_THAT(ListKeys("", "hr_not-a-key"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(CreateKey(v1::API_KEY_ROLE_ADMIN, "", ""),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(AllKeys(), IsEmpty());
}

}  // namespace
}  // namespace hookrelay::registry
