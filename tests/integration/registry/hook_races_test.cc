// Read-modify-writes of one hook racing each other over real gRPC calls: every UpdateWebhook
// and RotateWebhookSecret is compare-and-set, so concurrent changes are never lost, and the
// secrets a rotation keeps are bounded.
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/registry/registry_fixture.h"

namespace hookrelay::registry {
namespace {

using ::testing::SizeIs;

class HookRacesTest : public RegistryTest {
 protected:
  absl::StatusOr<v1::Webhook> Update(const v1::Webhook& changes, std::vector<std::string> paths) {
    v1::UpdateWebhookRequest req;
    *req.mutable_webhook() = changes;
    for (std::string& p : paths) req.mutable_update_mask()->add_paths(std::move(p));
    return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::UpdateWebhook, req, kAdminKey);
  }
  absl::StatusOr<v1::Webhook> Rotate(const v1::Webhook& hook) {
    v1::RotateWebhookSecretRequest req;
    req.set_tenant(hook.tenant());
    req.set_id(hook.id());
    return CallRpc(registry_->stub(), &v1::WebhookRegistry::Stub::RotateWebhookSecret, req,
                   kAdminKey);
  }
  // The hook as stored, secrets and all (the API masks them).
  v1::Webhook Stored(const v1::Webhook& hook) {
    v1::Webhook stored;
    auto bytes = redis_->Command({"GET", keys_.Hook(hook.tenant(), hook.id())});
    EXPECT_TRUE(bytes.ok() && stored.ParseFromString(*bytes));
    return stored;
  }
};

// Two callers change different fields of one hook at once, 50 times: both changes stay.
TEST_F(HookRacesTest, ConcurrentUpdatesOfDifferentFieldsAreBothKept) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  for (int round = 0; round < 50; ++round) {
    v1::Webhook a = hook, b = hook;
    a.set_description(absl::StrCat("round ", round));
    (*b.mutable_headers())["X-Round"] = absl::StrCat(round);
    absl::Status sa, sb;
    std::thread ta([&] { sa = Update(a, {"description"}).status(); });
    std::thread tb([&] { sb = Update(b, {"headers"}).status(); });
    ta.join();
    tb.join();
    ASSERT_OK(sa);
    ASSERT_OK(sb);
    const v1::Webhook stored = Stored(hook);
    ASSERT_EQ(stored.description(), absl::StrCat("round ", round)) << "round " << round;
    ASSERT_EQ(stored.headers().at("X-Round"), absl::StrCat(round)) << "round " << round;
  }
}

// A rotation racing an update: the hook then signs with the secret the rotation returned,
// and keeps the update.
TEST_F(HookRacesTest, ARotationRacingAnUpdateIsNeverLost) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  for (int round = 0; round < 50; ++round) {
    v1::Webhook change = hook;
    change.set_description(absl::StrCat("round ", round));
    absl::StatusOr<v1::Webhook> rotated;
    absl::Status updated;
    std::thread tr([&] { rotated = Rotate(hook); });
    std::thread tu([&] { updated = Update(change, {"description"}).status(); });
    tr.join();
    tu.join();
    ASSERT_OK(rotated.status());
    ASSERT_OK(updated);
    const v1::Webhook stored = Stored(hook);
    ASSERT_EQ(stored.signing().secret(), rotated->signing().secret()) << "round " << round;
    ASSERT_EQ(stored.description(), absl::StrCat("round ", round)) << "round " << round;
  }
}

// Every rotation within the grace period used to add a signature for good: 300 rotations
// made a 16 KB header. At most 3 previous secrets keep signing, the newest.
TEST_F(HookRacesTest, PreviousSecretsAreBounded) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  std::vector<std::string> secrets = {Stored(hook).signing().secret()};
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK_AND_ASSIGN(v1::Webhook rotated, Rotate(hook));
    secrets.push_back(rotated.signing().secret());
  }
  const v1::Webhook stored = Stored(hook);
  EXPECT_EQ(stored.signing().secret(), secrets.back());
  ASSERT_THAT(stored.signing().previous_secrets(), SizeIs(3));
  for (int k = 0; k < 3; ++k) {  // the three before the current one, oldest first
    EXPECT_EQ(stored.signing().previous_secrets(k).secret(), secrets[secrets.size() - 4 + k]);
  }
}

}  // namespace
}  // namespace hookrelay::registry
