// Tests of HookStore against a private redis-server: the stored records and keys, version
// bumps on every change, change announcements, and LoadTenant snapshots.

#include "libs/store/hook_store.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "libs/core/ids.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::store {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::RedisServer;
using ::hookrelay::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

v1::Webhook NewHook(absl::string_view tenant, absl::string_view url = "https://example.com/h") {
  v1::Webhook hook;
  hook.set_id(core::NewId(core::kWebhookIdPrefix, absl::Now()));
  hook.set_tenant(std::string(tenant));
  hook.set_url(std::string(url));
  hook.add_event_types("review.*");
  hook.set_enabled(true);
  hook.mutable_signing()->set_scheme(v1::SIGNING_SCHEME_STANDARD);
  hook.mutable_signing()->set_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  (*hook.mutable_headers())["Authorization"] = "Bearer t";
  return hook;
}

std::vector<std::string> Ids(const std::vector<v1::Webhook>& hooks) {
  std::vector<std::string> ids;
  for (const v1::Webhook& h : hooks) ids.push_back(h.id());
  return ids;
}

class HookStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override {
    ASSERT_OK(redis_->FlushAll());
    // A tenant's first version is random; start these at 0 so versions count changes.
    for (const char* t : {"acme", "globex"}) {
      ASSERT_OK(redis_->Command({"SET", keys_.Version(t), "0"}).status());
    }
  }

  absl::StatusOr<std::string> Version(absl::string_view tenant) {
    return redis_->Command({"GET", keys_.Version(tenant)});
  }

  inline static std::unique_ptr<RedisServer> redis_;
  KeySchema keys_;
  RedisPool pool_{RedisOptions{.url = redis_->url()}};
  HookStore store_{pool_, keys_};
};

TEST_F(HookStoreTest, CreateThenGetReturnsTheSameHook) {
  const v1::Webhook hook = NewHook("acme");
  ASSERT_OK(store_.Create(hook));
  ASSERT_OK_AND_ASSIGN(v1::Webhook got, store_.Get("acme", hook.id()));
  EXPECT_TRUE(MessageDifferencer::Equals(got, hook)) << got.DebugString();
}

TEST_F(HookStoreTest, CreateWritesTheDocumentedKeysAndBumpsVersion) {
  const v1::Webhook hook = NewHook("fresh");
  ASSERT_OK(store_.Create(hook));
  // As keys.h documents: "<p>{<shard tag>}:t:<tenant>:...".
  const std::string tenant_keys =
      absl::StrCat("hookrelay:{", keys_.Tag(keys_.ShardOf("fresh")), "}:t:fresh:");
  const std::string record = absl::StrCat(tenant_keys, "hook:", hook.id());
  ASSERT_OK_AND_ASSIGN(std::string bytes, redis_->Command({"GET", record}));
  v1::Webhook stored;
  ASSERT_TRUE(stored.ParseFromString(bytes));
  EXPECT_EQ(stored.url(), hook.url());
  EXPECT_THAT(redis_->Command({"SMEMBERS", tenant_keys + "hooks"}), IsOkAndHolds(hook.id()));
  // A tenant's first version is random (so a Redis that lost its data cannot repeat it).
  ASSERT_OK_AND_ASSIGN(std::string version, redis_->Command({"GET", tenant_keys + "version"}));
  long long v = 0;
  EXPECT_TRUE(absl::SimpleAtoi(version, &v) && v > 1) << version;
}

TEST_F(HookStoreTest, CreateRejectsTakenIdAndKeepsTheStoredHook) {
  v1::Webhook hook = NewHook("acme");
  ASSERT_OK(store_.Create(hook));
  v1::Webhook clash = hook;
  clash.set_url("https://evil.example/");
  ASSERT_OK_AND_ASSIGN(std::string before, Version("acme"));
  EXPECT_THAT(store_.Create(clash),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(hook.id())));
  ASSERT_OK_AND_ASSIGN(v1::Webhook got, store_.Get("acme", hook.id()));
  EXPECT_EQ(got.url(), "https://example.com/h");
  EXPECT_THAT(Version("acme"), IsOkAndHolds(before));
}

TEST_F(HookStoreTest, EveryChangeBumpsTheTenantVersionOnly) {
  auto version = [&](const std::string& tenant) {
    long long v = -1;
    auto text = Version(tenant);
    if (text.ok()) (void)absl::SimpleAtoi(*text, &v);
    return v;
  };
  v1::Webhook a = NewHook("acme");
  ASSERT_OK(store_.Create(a));
  const long long first = version("acme");
  ASSERT_OK(store_.Create(NewHook("acme")));
  EXPECT_EQ(version("acme"), first + 1);
  a.set_url("https://example.com/changed");
  ASSERT_OK(store_.Replace(a));
  EXPECT_EQ(version("acme"), first + 2);
  ASSERT_OK(store_.Delete("acme", a.id()));
  EXPECT_EQ(version("acme"), first + 3);
  // Another tenant's version is its own.
  EXPECT_THAT(Version("initech"), IsOkAndHolds("(nil)"));
  ASSERT_OK(store_.Create(NewHook("initech")));
  EXPECT_GT(version("initech"), 0);
  EXPECT_EQ(version("acme"), first + 3);
}

TEST_F(HookStoreTest, ReplaceOverwritesTheStoredHook) {
  v1::Webhook hook = NewHook("acme");
  ASSERT_OK(store_.Create(hook));
  hook.set_url("https://example.com/v2");
  hook.clear_event_types();
  hook.add_event_types("*");
  hook.set_enabled(false);
  hook.set_disabled_reason("410 Gone");
  ASSERT_OK(store_.Replace(hook));
  ASSERT_OK_AND_ASSIGN(v1::Webhook got, store_.Get("acme", hook.id()));
  EXPECT_TRUE(MessageDifferencer::Equals(got, hook)) << got.DebugString();
}

TEST_F(HookStoreTest, ReplaceOfUnknownHookIsNotFoundAndWritesNothing) {
  const v1::Webhook hook = NewHook("initech");
  EXPECT_THAT(store_.Replace(hook), StatusIs(absl::StatusCode::kNotFound, HasSubstr(hook.id())));
  EXPECT_THAT(redis_->Command({"KEYS", "*initech*"}), IsOkAndHolds(""));
}

TEST_F(HookStoreTest, DeleteRemovesTheHookFromRecordAndSet) {
  const v1::Webhook keep = NewHook("acme");
  const v1::Webhook gone = NewHook("acme");
  ASSERT_OK(store_.Create(keep));
  ASSERT_OK(store_.Create(gone));
  ASSERT_OK(store_.Delete("acme", gone.id()));
  EXPECT_THAT(store_.Get("acme", gone.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(redis_->Command({"EXISTS", keys_.Hook("acme", gone.id())}), IsOkAndHolds("0"));
  EXPECT_THAT(redis_->Command({"SMEMBERS", keys_.Hooks("acme")}), IsOkAndHolds(keep.id()));
  EXPECT_THAT(store_.Delete("acme", gone.id()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(gone.id())));
  EXPECT_THAT(Version("acme"), IsOkAndHolds("3"));
}

TEST_F(HookStoreTest, GetIsScopedToTheTenant) {
  const v1::Webhook hook = NewHook("acme");
  ASSERT_OK(store_.Create(hook));
  EXPECT_THAT(store_.Get("globex", hook.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_.Delete("globex", hook.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(store_.Get("acme", hook.id()));
}

TEST_F(HookStoreTest, GetOfCorruptRecordIsDataLoss) {
  const std::string id = core::NewId(core::kWebhookIdPrefix, absl::Now());
  ASSERT_OK(redis_->Command({"SET", keys_.Hook("acme", id), "\xff\xff\xff"}).status());
  EXPECT_THAT(store_.Get("acme", id), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(id)));
}

TEST_F(HookStoreTest, LoadTenantReturnsAllHooksOfTheTenantAtItsVersion) {
  std::vector<v1::Webhook> acme;
  for (int i = 0; i < 5; ++i) {
    acme.push_back(NewHook("acme", absl::StrCat("https://example.com/", i)));
    ASSERT_OK(store_.Create(acme.back()));
  }
  ASSERT_OK(store_.Create(NewHook("globex")));
  ASSERT_OK(store_.Delete("acme", acme[2].id()));
  acme.erase(acme.begin() + 2);

  ASSERT_OK_AND_ASSIGN(TenantHooks loaded, store_.LoadTenant("acme"));
  EXPECT_EQ(loaded.version, 6);
  EXPECT_THAT(Ids(loaded.hooks), UnorderedElementsAreArray(Ids(acme)));
  for (const v1::Webhook& h : loaded.hooks) {
    auto want = std::find_if(acme.begin(), acme.end(),
                             [&](const v1::Webhook& w) { return w.id() == h.id(); });
    ASSERT_NE(want, acme.end());
    EXPECT_TRUE(MessageDifferencer::Equals(h, *want));
  }

  ASSERT_OK_AND_ASSIGN(TenantHooks globex, store_.LoadTenant("globex"));
  EXPECT_EQ(globex.version, 1);
  EXPECT_EQ(globex.hooks.size(), 1u);
}

TEST_F(HookStoreTest, LoadTenantOfUnknownTenantIsEmptyAtVersionZero) {
  ASSERT_OK_AND_ASSIGN(TenantHooks loaded, store_.LoadTenant("nobody"));
  EXPECT_EQ(loaded.version, 0);
  EXPECT_TRUE(loaded.hooks.empty());
}

TEST_F(HookStoreTest, LoadTenantIsASnapshotNotALiveView) {
  const v1::Webhook first = NewHook("acme");
  ASSERT_OK(store_.Create(first));
  ASSERT_OK_AND_ASSIGN(TenantHooks before, store_.LoadTenant("acme"));
  ASSERT_OK(store_.Create(NewHook("acme")));
  EXPECT_EQ(before.version, 1);
  EXPECT_EQ(before.hooks.size(), 1u);
  ASSERT_OK_AND_ASSIGN(TenantHooks after, store_.LoadTenant("acme"));
  EXPECT_EQ(after.version, 2);
  EXPECT_EQ(after.hooks.size(), 2u);
}

TEST_F(HookStoreTest, ChangesAreAnnouncedOnTheHooksChangedChannel) {
  ASSERT_OK_AND_ASSIGN(auto subscriber,
                       RedisConnection::Connect(RedisOptions{.url = redis_->url()}));
  ASSERT_OK_AND_ASSIGN(RedisReply subscribed,
                       subscriber->Command({"SUBSCRIBE", keys_.HooksChangedChannel()}));
  ASSERT_EQ(subscribed.elements.size(), 3u);
  EXPECT_EQ(subscribed.elements[0].str, "subscribe");

  // A tenant no other test uses: on a cluster, earlier tests' announcements published on
  // other nodes may still be crossing the cluster bus.
  const v1::Webhook hook = NewHook("announced");
  ASSERT_OK(store_.Create(hook));
  ASSERT_OK(store_.Delete("announced", hook.id()));
  // A subscribed connection answers PING after the messages it has received; on a cluster
  // of several nodes a message published on another node may come a moment later, so PING
  // until both are there.
  Pipeline ping;
  ping.Add({"PING"});
  int announced = 0;
  testing::WaitFor(
      [&] {
        auto replies = subscriber->Execute(ping);
        EXPECT_OK(replies.status());
        if (!replies.ok()) return true;       // failed: stop waiting
        const RedisReply& r = (*replies)[0];  // ["message", channel, tenant] or ["pong", ""]
        if (r.elements.size() == 3) {
          EXPECT_EQ(r.elements[0].str, "message");
          EXPECT_EQ(r.elements[1].str, "hookrelay:hooks:changed");
          if (r.elements[2].str == "announced") ++announced;
        }
        return announced == 2;
      },
      absl::Seconds(5), absl::Milliseconds(10));
  EXPECT_EQ(announced, 2);  // the create, then the delete
}

}  // namespace
}  // namespace hookrelay::store
