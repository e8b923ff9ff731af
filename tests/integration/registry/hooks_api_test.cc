// ListWebhooks, UpdateWebhook, RotateWebhookSecret and TestWebhook over a real gRPC channel.
// Tests that need deliveries run an in-process worker sending to real HTTP receivers.

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "libs/signing/secret.h"
#include "libs/signing/standard_signer.h"
#include "libs/store/keys.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/integration/registry/worker_fixture.h"
#include "tests/support/http_receiver.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::registry {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::google::protobuf::util::TimeUtil;
using ::hookrelay::testing::HttpReceiver;
using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::ReceivedRequest;
using ::hookrelay::testing::Reply;
using ::hookrelay::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::StartsWith;
using Stub = v1::WebhookRegistry::Stub;

constexpr char kMasked[] = "whsec_****";

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(ts));
}

std::vector<std::string> IdsOf(const v1::ListWebhooksResponse& resp) {
  std::vector<std::string> ids;
  for (const v1::Webhook& h : resp.webhooks()) ids.push_back(h.id());
  return ids;
}

bool SameHook(const v1::Webhook& a, const v1::Webhook& b) {
  return MessageDifferencer::Equals(a, b);
}

// The hook RPCs without a wrapper in RegistryTest, on either fixture.
template <typename Base>
class HooksApi : public Base {
 protected:
  absl::StatusOr<v1::ListWebhooksResponse> List(const v1::ListWebhooksRequest& req) {
    return CallRpc(this->registry_->stub(), &Stub::ListWebhooks, req, kAdminKey);
  }
  absl::StatusOr<v1::ListWebhooksResponse> List(absl::string_view tenant, int page_size = 0,
                                                const std::string& token = "") {
    v1::ListWebhooksRequest req;
    req.set_tenant(std::string(tenant));
    req.set_page_size(page_size);
    req.set_page_token(token);
    return List(req);
  }
  absl::StatusOr<v1::Webhook> Update(const v1::Webhook& hook, std::vector<std::string> paths) {
    v1::UpdateWebhookRequest req;
    *req.mutable_webhook() = hook;
    for (std::string& p : paths) req.mutable_update_mask()->add_paths(std::move(p));
    return CallRpc(this->registry_->stub(), &Stub::UpdateWebhook, req, kAdminKey);
  }
  absl::StatusOr<v1::Webhook> Rotate(const v1::Webhook& hook, int64_t grace_seconds = 0,
                                     const std::string& new_secret = "") {
    v1::RotateWebhookSecretRequest req;
    req.set_tenant(hook.tenant());
    req.set_id(hook.id());
    req.set_grace_period_seconds(grace_seconds);
    req.set_new_secret(new_secret);
    return CallRpc(this->registry_->stub(), &Stub::RotateWebhookSecret, req, kAdminKey);
  }
  absl::StatusOr<v1::TestWebhookResponse> Test(const v1::Webhook& hook,
                                               const std::string& payload = "") {
    v1::TestWebhookRequest req;
    req.set_tenant(hook.tenant());
    req.set_id(hook.id());
    req.set_payload(payload);
    return CallRpc(this->registry_->stub(), &Stub::TestWebhook, req, kAdminKey);
  }
  // The hook as stored now (secrets masked).
  v1::Webhook Stored(const v1::Webhook& hook) {
    absl::StatusOr<v1::Webhook> got = this->GetWebhook(hook.tenant(), hook.id());
    EXPECT_OK(got.status());
    return got.ok() ? *got : v1::Webhook();
  }
  // The hook as stored, secrets and all.
  v1::Webhook Raw(const v1::Webhook& hook) {
    absl::StatusOr<std::string> bytes =
        this->redis_->Command({"GET", store::KeySchema().Hook(hook.tenant(), hook.id())});
    v1::Webhook raw;
    EXPECT_TRUE(bytes.ok() && raw.ParseFromString(*bytes));
    return raw;
  }
};

using HooksApiTest = HooksApi<RegistryTest>;
using HooksApiWorkerTest = HooksApi<RegistryWorkerTest>;

// --- ListWebhooks ---------------------------------------------------------------------------

TEST_F(HooksApiTest, ListPagesThroughMoreThanFiveHundredHooksInIdOrder) {
  constexpr int kHooks = 510;
  std::vector<std::string> created;
  std::set<std::string> secrets;
  for (int i = 0; i < kHooks; ++i) {
    ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
    created.push_back(hook.id());
    secrets.insert(hook.signing().secret());
  }
  for (int i = 0; i < 3; ++i) ASSERT_OK(CreateWebhook(Hook("globex")).status());
  std::sort(created.begin(), created.end());

  std::vector<std::string> listed;
  std::vector<int> page_sizes;
  std::string token;
  do {
    ASSERT_OK_AND_ASSIGN(v1::ListWebhooksResponse page, List("acme", 200, token));
    page_sizes.push_back(page.webhooks_size());
    for (const v1::Webhook& h : page.webhooks()) {
      EXPECT_EQ(h.tenant(), "acme");
      EXPECT_EQ(h.signing().secret(), kMasked) << h.id();
      EXPECT_FALSE(secrets.count(h.signing().secret()));
      listed.push_back(h.id());
    }
    // The same token gives the same page again.
    ASSERT_OK_AND_ASSIGN(v1::ListWebhooksResponse again, List("acme", 200, token));
    EXPECT_EQ(IdsOf(again), IdsOf(page));
    token = page.next_page_token();
  } while (!token.empty() && page_sizes.size() < 10);

  EXPECT_THAT(page_sizes, ElementsAre(200, 200, 110));
  EXPECT_EQ(listed, created);  // every hook once, no gaps, ordered by id
}

TEST_F(HooksApiTest, ListUsesTheDefaultPageSizeOfFifty) {
  for (int i = 0; i < 51; ++i) ASSERT_OK(CreateWebhook(Hook("acme")).status());
  ASSERT_OK_AND_ASSIGN(v1::ListWebhooksResponse first, List("acme"));
  EXPECT_THAT(first.webhooks(), SizeIs(50));
  ASSERT_OK_AND_ASSIGN(v1::ListWebhooksResponse second, List("acme", 0, first.next_page_token()));
  EXPECT_THAT(second.webhooks(), SizeIs(1));
  EXPECT_THAT(second.next_page_token(), IsEmpty());
}

TEST_F(HooksApiTest, ListCoercesLargePageSizesAndRejectsNegativeOnesAndBadTokens) {
  for (int i = 0; i < 3; ++i) ASSERT_OK(CreateWebhook(Hook("acme")).status());
  for (int size : {200, 201, 1000}) {
    ASSERT_OK_AND_ASSIGN(v1::ListWebhooksResponse page, List("acme", size));
    EXPECT_THAT(page.webhooks(), SizeIs(3)) << size;
    EXPECT_THAT(page.next_page_token(), IsEmpty());
  }
  EXPECT_THAT(List("acme", -1),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_size:")));
  for (const std::string& token :
       {std::string("not a token!"), absl::WebSafeBase64Escape("wh_tooshort"),
        absl::WebSafeBase64Escape("o:50")}) {
    EXPECT_THAT(List("acme", 10, token),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_token:")))
        << token;
  }
}

TEST_F(HooksApiTest, ListFiltersByEnabledAndEventType) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook exact, CreateWebhook(Hook("acme", {"review.created"})));
  ASSERT_OK_AND_ASSIGN(v1::Webhook prefix, CreateWebhook(Hook("acme", {"review.*"})));
  ASSERT_OK_AND_ASSIGN(v1::Webhook all, CreateWebhook(Hook("acme", {"*"})));
  ASSERT_OK_AND_ASSIGN(v1::Webhook orders, CreateWebhook(Hook("acme", {"order.created"})));
  v1::Webhook off = orders;
  off.set_enabled(false);
  ASSERT_OK(Update(off, {"enabled"}).status());

  auto list = [&](std::optional<bool> enabled, const std::string& type) {
    v1::ListWebhooksRequest req;
    req.set_tenant("acme");
    if (enabled.has_value()) req.set_enabled(*enabled);
    req.set_event_type(type);
    absl::StatusOr<v1::ListWebhooksResponse> resp = List(req);
    EXPECT_OK(resp.status());
    std::vector<std::string> ids = resp.ok() ? IdsOf(*resp) : std::vector<std::string>{};
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  auto sorted = [](std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(list(std::nullopt, ""), sorted({exact.id(), prefix.id(), all.id(), orders.id()}));
  EXPECT_EQ(list(false, ""), sorted({orders.id()}));
  EXPECT_EQ(list(true, ""), sorted({exact.id(), prefix.id(), all.id()}));
  EXPECT_EQ(list(std::nullopt, "review.created"), sorted({exact.id(), prefix.id(), all.id()}));
  EXPECT_EQ(list(std::nullopt, "review.closed"), sorted({prefix.id(), all.id()}));
  EXPECT_EQ(list(std::nullopt, "order.created"), sorted({all.id(), orders.id()}));
  EXPECT_EQ(list(true, "order.created"), sorted({all.id()}));
  EXPECT_EQ(list(false, "review.created"), sorted({}));

  v1::ListWebhooksRequest bad;
  bad.set_tenant("acme");
  bad.set_event_type("not a type");
  EXPECT_THAT(List(bad), StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("event_type:")));
}

// --- UpdateWebhook --------------------------------------------------------------------------

TEST_F(HooksApiTest, UpdateReplacesOnlyTheFieldsInTheMask) {
  v1::Webhook original = Hook("acme", {"review.created"});
  (*original.mutable_metadata())["team"] = "core";
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(original));
  const v1::Webhook before = Stored(hook);

  // Every field differs in the request; only those in the mask may change.
  v1::Webhook change = hook;
  change.set_url("https://new.example.com/in");
  change.clear_event_types();
  change.add_event_types("order.*");
  change.set_enabled(false);
  change.clear_headers();
  (*change.mutable_headers())["X-Team"] = "core";
  change.mutable_retry_policy()->add_delays_ms(1000);
  change.mutable_signing()->set_header("X-Signature");
  change.set_description("changed");
  change.set_timeout_ms(5000);
  change.clear_metadata();

  ASSERT_OK_AND_ASSIGN(v1::Webhook updated, Update(change, {"url", "event_types"}));
  v1::Webhook want = before;
  want.set_url("https://new.example.com/in");
  want.clear_event_types();
  want.add_event_types("order.*");
  *want.mutable_update_time() = updated.update_time();
  EXPECT_TRUE(SameHook(updated, want)) << updated.DebugString() << "\nwant\n" << want.DebugString();
  EXPECT_TRUE(SameHook(Stored(hook), want));
  EXPECT_GE(ToTime(updated.update_time()), ToTime(before.update_time()));
  EXPECT_EQ(updated.signing().secret(), kMasked);

  ASSERT_OK_AND_ASSIGN(updated,
                       Update(change, {"enabled", "headers", "retry_policy", "signing.header"}));
  want.set_enabled(false);
  *want.mutable_headers() = change.headers();
  *want.mutable_retry_policy() = change.retry_policy();
  want.mutable_signing()->set_header("X-Signature");
  *want.mutable_update_time() = updated.update_time();
  EXPECT_TRUE(SameHook(Stored(hook), want)) << Stored(hook).DebugString();
  EXPECT_EQ(Stored(hook).description(), "test hook");
  EXPECT_THAT(Stored(hook).metadata(), ElementsAre(Pair("team", "core")));
}

TEST_F(HooksApiTest, UpdateRefusesUnknownAndReadOnlyPathsAndWritesNothing) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  const v1::Webhook before = Stored(hook);
  v1::Webhook change = hook;
  change.set_url("https://new.example.com/in");
  change.set_description("changed");
  change.set_enabled(false);
  change.mutable_signing()->set_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  for (const char* path : {"nope", "signing.secret", "signing.previous_secrets", "signing", "id",
                           "tenant", "create_time", "update_time", "disabled_reason", ""}) {
    SCOPED_TRACE(path);
    // Refused even beside a valid path: nothing of the request is applied.
    EXPECT_THAT(Update(change, {"url", path}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(StartsWith("update_mask:"), HasSubstr(absl::StrCat("\"", path)))));
  }
  EXPECT_TRUE(SameHook(Stored(hook), before)) << Stored(hook).DebugString();
}

// AIP-134: without a mask, the fields the request sets (to non-default values) are replaced.
TEST_F(HooksApiTest, UpdateWithoutAMaskReplacesTheFieldsTheRequestSets) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"a.*", "b.*"})));
  v1::Webhook change;
  change.set_tenant("acme");
  change.set_id(hook.id());
  change.set_url("https://new.example.com/in");
  change.set_timeout_ms(2500);
  ASSERT_OK_AND_ASSIGN(v1::Webhook updated, Update(change, {}));
  EXPECT_EQ(updated.url(), "https://new.example.com/in");
  EXPECT_EQ(updated.timeout_ms(), 2500);
  const v1::Webhook stored = Stored(hook);
  EXPECT_EQ(stored.url(), "https://new.example.com/in");
  // What the request left at its default is kept, not cleared.
  EXPECT_THAT(stored.event_types(), ElementsAre("a.*", "b.*"));
  EXPECT_EQ(stored.description(), hook.description());
  EXPECT_TRUE(stored.enabled());
  EXPECT_EQ(stored.headers().size(), hook.headers().size());
  EXPECT_EQ(Raw(hook).signing().secret(), hook.signing().secret());
}

TEST_F(HooksApiTest, UpdateWithoutAMaskRefusesARequestThatSetsNothingOrASecret) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  const v1::Webhook before = Stored(hook);
  v1::Webhook change;
  change.set_tenant("acme");
  change.set_id(hook.id());
  change.set_enabled(false);  // the default: needs a mask to be set
  EXPECT_THAT(Update(change, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("update_mask:")));
  change.mutable_signing()->set_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  change.set_description("with a secret");
  EXPECT_THAT(Update(change, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.signing.secret:")));
  EXPECT_TRUE(SameHook(Stored(hook), before));
}

// AIP-134: a path in the mask takes the request's value even when it is the default, and "*"
// replaces every updatable field.
TEST_F(HooksApiTest, UpdateMaskPathsTakeEvenDefaultValuesAndStarReplacesThemAll) {
  v1::Webhook spec = Hook("acme", {"a.*"});
  spec.set_timeout_ms(5000);
  (*spec.mutable_metadata())["team"] = "core";
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(spec));
  v1::Webhook change;
  change.set_tenant("acme");
  change.set_id(hook.id());
  ASSERT_OK(Update(change, {"enabled", "metadata", "timeout_ms"}).status());
  v1::Webhook stored = Stored(hook);
  EXPECT_FALSE(stored.enabled());
  EXPECT_THAT(stored.metadata(), IsEmpty());
  EXPECT_EQ(stored.timeout_ms(), 0);
  EXPECT_EQ(stored.description(), hook.description());  // not in the mask

  change.set_url("https://star.example.com/in");
  change.add_event_types("c.*");
  change.set_enabled(true);
  ASSERT_OK(Update(change, {"*"}).status());
  stored = Stored(hook);
  EXPECT_EQ(stored.url(), "https://star.example.com/in");
  EXPECT_THAT(stored.event_types(), ElementsAre("c.*"));
  EXPECT_TRUE(stored.enabled());
  EXPECT_EQ(stored.description(), "");       // replaced by the request's (empty) value
  EXPECT_THAT(stored.headers(), IsEmpty());  // likewise
  EXPECT_EQ(Raw(hook).signing().secret(), hook.signing().secret());  // never through a mask
  EXPECT_EQ(stored.id(), hook.id());
  EXPECT_EQ(stored.create_time().seconds(), hook.create_time().seconds());
}

TEST_F(HooksApiTest, UpdateRefusesAnInvalidValueNamingTheFieldAndWritesNothing) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  const v1::Webhook before = Stored(hook);
  ASSERT_OK_AND_ASSIGN(std::string version_before, redis_->Command({"GET", keys_.Version("acme")}));
  struct Case {
    std::vector<std::string> paths;
    std::function<void(v1::Webhook*)> edit;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{"url"}, [](v1::Webhook* h) { h->set_url("http://example.com/in"); }, "webhook.url:"},
      {{"url"}, [](v1::Webhook* h) { h->set_url(""); }, "webhook.url:"},
      {{"event_types"}, [](v1::Webhook* h) { h->clear_event_types(); }, "webhook.event_types:"},
      {{"event_types"},
       [](v1::Webhook* h) { h->add_event_types("bad type"); },
       "webhook.event_types[1]:"},
      {{"headers"},
       [](v1::Webhook* h) { (*h->mutable_headers())["Host"] = "evil.example.com"; },
       "webhook.headers"},
      {{"retry_policy"},
       [](v1::Webhook* h) { h->mutable_retry_policy()->add_delays_ms(-1); },
       "webhook.retry_policy.delays_ms[0]:"},
      {{"signing.header"},
       [](v1::Webhook* h) { h->mutable_signing()->set_header("bad header"); },
       "webhook.signing.header:"},
      {{"timeout_ms"}, [](v1::Webhook* h) { h->set_timeout_ms(60000); }, "webhook.timeout_ms:"},
      // A valid change beside an invalid one is not written either.
      {{"description", "url"},
       [](v1::Webhook* h) {
         h->set_description("changed");
         h->set_url("ftp://example.com");
       },
       "webhook.url:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    v1::Webhook change = hook;
    c.edit(&change);
    EXPECT_THAT(Update(change, c.paths),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(c.field)));
  }
  EXPECT_TRUE(SameHook(Stored(hook), before)) << Stored(hook).DebugString();
  EXPECT_THAT(redis_->Command({"GET", keys_.Version("acme")}), IsOkAndHolds(version_before));
}

TEST_F(HooksApiTest, UpdateOfAnUnknownHookIsNotFound) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  v1::Webhook other_tenant = hook;
  other_tenant.set_tenant("globex");
  EXPECT_THAT(Update(other_tenant, {"description"}), StatusIs(absl::StatusCode::kNotFound));
  v1::Webhook unknown = hook;
  unknown.set_id("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV");
  EXPECT_THAT(Update(unknown, {"description"}), StatusIs(absl::StatusCode::kNotFound));
  unknown.set_id("nope");
  EXPECT_THAT(Update(unknown, {"description"}),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("webhook.id:")));
}

TEST_F(HooksApiWorkerTest, EnablingAHookClearsItsDisabledReason) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{.status = 410};
                       }));
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook,
                       CreateWebhook(HttpHook("acme", receiver->Url("/gone"), {"order.created"})));
  StartWorker();
  ASSERT_OK(PublishEvent(Event("acme", "order.created")).status());
  v1::Webhook disabled;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        disabled = Stored(hook);
        return !disabled.enabled() && !disabled.disabled_reason().empty();
      },
      kWait))
      << disabled.DebugString();

  // Other updates keep the reason; enabling clears it.
  v1::Webhook change = hook;
  change.set_description("still off");
  ASSERT_OK_AND_ASSIGN(v1::Webhook updated, Update(change, {"description"}));
  EXPECT_FALSE(updated.enabled());
  EXPECT_EQ(updated.disabled_reason(), disabled.disabled_reason());

  change.set_enabled(true);
  ASSERT_OK_AND_ASSIGN(updated, Update(change, {"enabled"}));
  EXPECT_TRUE(updated.enabled());
  EXPECT_THAT(updated.disabled_reason(), IsEmpty());
  EXPECT_TRUE(Stored(hook).enabled());
  EXPECT_THAT(Stored(hook).disabled_reason(), IsEmpty());
}

TEST_F(HooksApiWorkerTest, PublishAfterAnUpdateUsesTheNewUrlAndEventTypes) {
  ASSERT_OK_AND_ASSIGN(auto old_receiver, HttpReceiver::Start());
  ASSERT_OK_AND_ASSIGN(auto new_receiver, HttpReceiver::Start());
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook,
                       CreateWebhook(HttpHook("acme", old_receiver->Url("/old"), {"order.*"})));
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse before,
                       PublishEvent(Event("acme", "order.created")));
  ASSERT_THAT(before.delivery_ids(), SizeIs(1));

  v1::Webhook change = hook;
  change.set_url(new_receiver->Url("/new"));
  change.clear_event_types();
  change.add_event_types("review.created");
  ASSERT_OK(Update(change, {"url", "event_types"}).status());

  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse unmatched,
                       PublishEvent(Event("acme", "order.created")));
  EXPECT_THAT(unmatched.delivery_ids(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse after,
                       PublishEvent(Event("acme", "review.created")));
  ASSERT_THAT(after.delivery_ids(), SizeIs(1));

  // The worker starts after the update (its hook cache is filled by pub/sub, not checked
  // against the version): both queued deliveries go to the hook's current URL.
  StartWorker();
  WaitForStatus("acme", after.delivery_ids(0), v1::DELIVERY_STATUS_SUCCEEDED, 1);
  WaitForStatus("acme", before.delivery_ids(0), v1::DELIVERY_STATUS_SUCCEEDED, 1);
  ASSERT_EQ(new_receiver->RequestCount(), 2u);
  std::set<std::string> ids;
  for (const ReceivedRequest& r : new_receiver->Requests()) {
    EXPECT_EQ(r.path, "/new");
    ids.insert(r.headers.at("webhook-id"));
  }
  EXPECT_EQ(ids, (std::set<std::string>{before.delivery_ids(0), after.delivery_ids(0)}));
  EXPECT_EQ(old_receiver->RequestCount(), 0u);
}

// --- RotateWebhookSecret --------------------------------------------------------------------

TEST_F(HooksApiTest, RotateShowsTheNewSecretOnceAndKeepsTheOldOneForTheGracePeriod) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(v1::Webhook rotated, Rotate(hook, 3600));
  const absl::Time end = absl::Now();

  EXPECT_THAT(rotated.signing().secret(), StartsWith("whsec_"));
  EXPECT_NE(rotated.signing().secret(), hook.signing().secret());
  EXPECT_NE(rotated.signing().secret(), kMasked);
  ASSERT_THAT(rotated.signing().previous_secrets(), SizeIs(1));
  EXPECT_EQ(rotated.signing().previous_secrets(0).secret(), kMasked);

  const v1::Webhook stored = Stored(hook);
  EXPECT_EQ(stored.signing().secret(), kMasked);
  ASSERT_THAT(stored.signing().previous_secrets(), SizeIs(1));
  EXPECT_EQ(stored.signing().previous_secrets(0).secret(), kMasked);
  const absl::Time expires = ToTime(stored.signing().previous_secrets(0).expires_at());
  EXPECT_GE(expires, start + absl::Hours(1) - absl::Milliseconds(1));
  EXPECT_LE(expires, end + absl::Hours(1));
  EXPECT_GE(ToTime(stored.update_time()), ToTime(hook.update_time()));
}

TEST_F(HooksApiTest, RotateWithZeroGraceKeepsTheOldSecretForTheDefaultDay) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(v1::Webhook rotated, Rotate(hook, 0));
  const absl::Time end = absl::Now();
  ASSERT_THAT(rotated.signing().previous_secrets(), SizeIs(1));
  const absl::Time expires = ToTime(rotated.signing().previous_secrets(0).expires_at());
  EXPECT_GE(expires, start + absl::Hours(24) - absl::Milliseconds(1));
  EXPECT_LE(expires, end + absl::Hours(24));

  // A second rotation keeps both earlier secrets, oldest first.
  ASSERT_OK_AND_ASSIGN(v1::Webhook again, Rotate(hook, 60));
  ASSERT_THAT(again.signing().previous_secrets(), SizeIs(2));
  EXPECT_EQ(ToTime(again.signing().previous_secrets(0).expires_at()), expires);
  EXPECT_LE(ToTime(again.signing().previous_secrets(1).expires_at()),
            absl::Now() + absl::Seconds(60));
}

TEST_F(HooksApiTest, RotateRejectsABadGracePeriodAndWritesNothing) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  const v1::Webhook before = Stored(hook);
  for (int64_t grace : {int64_t{-1}, int64_t{31} * 24 * 3600}) {
    EXPECT_THAT(Rotate(hook, grace),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("grace_period_seconds:")))
        << grace;
  }
  EXPECT_TRUE(SameHook(Stored(hook), before));
}

TEST_F(HooksApiTest, RotateUsesASuppliedSecretAndRejectsOneTheSchemeCannotUse) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  ASSERT_OK_AND_ASSIGN(std::string supplied, signing::GenerateSecret());
  ASSERT_OK_AND_ASSIGN(v1::Webhook rotated, Rotate(hook, 0, supplied));
  EXPECT_EQ(rotated.signing().secret(), supplied);
  const v1::Webhook before = Stored(hook);

  for (const std::string& bad :
       {std::string("whsec_not base64!"), std::string("whsec_c2hvcnQ="), std::string("short"),
        // Fine for the hex schemes, but a standard hook needs whsec_.
        std::string("a-plain-shared-secret-of-32-chars")}) {
    EXPECT_THAT(Rotate(hook, 0, bad),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("new_secret:")))
        << bad;
  }
  EXPECT_TRUE(SameHook(Stored(hook), before)) << Stored(hook).DebugString();
}

TEST_F(HooksApiTest, RotateOfAnUnknownHookIsNotFound) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  hook.set_tenant("globex");
  EXPECT_THAT(Rotate(hook), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HooksApiWorkerTest, DeliveryAfterRotationIsSignedWithTheNewAndTheOldSecret) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(HttpHook("acme", receiver->Url("/in"))));
  ASSERT_OK_AND_ASSIGN(v1::Webhook rotated, Rotate(hook));
  StartWorker();
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse published,
                       PublishEvent(Event("acme", "order.created")));
  ASSERT_THAT(published.delivery_ids(), SizeIs(1));
  ASSERT_TRUE(receiver->WaitForRequests(1, kWait));

  const ReceivedRequest r = receiver->Requests()[0];
  const std::string id = r.headers.at("webhook-id");
  EXPECT_EQ(id, published.delivery_ids(0));
  int64_t ts_seconds = 0;
  ASSERT_TRUE(absl::SimpleAtoi(r.headers.at("webhook-timestamp"), &ts_seconds));
  const absl::Time ts = absl::FromUnixSeconds(ts_seconds);
  ASSERT_OK_AND_ASSIGN(auto new_signer,
                       signing::StandardSigner::Create(rotated.signing().secret()));
  ASSERT_OK_AND_ASSIGN(auto old_signer, signing::StandardSigner::Create(hook.signing().secret()));
  const std::vector<std::string> signatures =
      absl::StrSplit(r.headers.at("webhook-signature"), ' ');
  EXPECT_THAT(signatures,
              ElementsAre(new_signer.Sign(id, ts, r.body), old_signer.Sign(id, ts, r.body)));
}

// --- TestWebhook ----------------------------------------------------------------------------

TEST_F(HooksApiWorkerTest, TestWebhookReturnsTheAttemptOfARealSend) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([](const ReceivedRequest&) {
                         return Reply{
                             .status = 200, .body = "pong", .delay = absl::Milliseconds(30)};
                       }));
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook,
                       CreateWebhook(HttpHook("acme", receiver->Url("/in"), {"order.created"})));
  StartWorker();
  ASSERT_OK_AND_ASSIGN(v1::TestWebhookResponse resp, Test(hook, R"({"hello":"world"})"));

  EXPECT_EQ(resp.attempt().number(), 1);
  EXPECT_EQ(resp.attempt().http_status(), 200);
  EXPECT_EQ(resp.attempt().error_class(), v1::ERROR_CLASS_UNSPECIFIED);
  EXPECT_GE(resp.attempt().duration_us(), 30000);
  EXPECT_EQ(resp.attempt().response_body(), "pong");
  // The receiver got a webhook.test event although the hook does not subscribe to it.
  ASSERT_EQ(receiver->RequestCount(), 1u);
  const ReceivedRequest r = receiver->Requests()[0];
  EXPECT_EQ(r.headers.at("webhook-id"), resp.delivery_id());
  EXPECT_THAT(r.body,
              AllOf(HasSubstr(R"("type":"webhook.test")"), HasSubstr(R"("hello":"world")")));
  ASSERT_OK_AND_ASSIGN(v1::Delivery d, GetDelivery("acme", resp.delivery_id()));
  EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_SUCCEEDED);
  EXPECT_EQ(d.event_type(), "webhook.test");
}

TEST_F(HooksApiWorkerTest, TestWebhookFailureIsNotRetried) {
  const std::string body(5000, 'x');
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start([&](const ReceivedRequest&) {
                         return Reply{.status = 500, .body = body};
                       }));
  v1::Webhook spec = HttpHook("acme", receiver->Url("/in"));
  spec.mutable_retry_policy()->add_delays_ms(0);  // a normal delivery would retry at once
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(spec));
  StartWorker();
  ASSERT_OK_AND_ASSIGN(v1::TestWebhookResponse resp, Test(hook));

  EXPECT_EQ(resp.attempt().http_status(), 500);
  EXPECT_EQ(resp.attempt().error_class(), v1::ERROR_CLASS_HTTP_5XX);
  EXPECT_EQ(resp.attempt().response_body(), body.substr(0, 4096));  // the first 4 KiB
  ASSERT_OK_AND_ASSIGN(v1::Delivery d, GetDelivery("acme", resp.delivery_id()));
  EXPECT_EQ(d.status(), v1::DELIVERY_STATUS_FAILED);
  EXPECT_EQ(d.attempt_count(), 1);
  EXPECT_THAT(d.attempts(), SizeIs(1));
  EXPECT_FALSE(d.has_next_attempt_time());
  EXPECT_THAT(redis_->Command({"ZCARD", keys_.RetrySetOf("acme")}), IsOkAndHolds("0"));
  EXPECT_EQ(receiver->RequestCount(), 1u);
  // A test failure does not count against the hook's health.
  EXPECT_TRUE(Stored(hook).enabled());
}

TEST_F(HooksApiWorkerTest, TestWebhookReachesADisabledHook) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(HttpHook("acme", receiver->Url("/in"))));
  v1::Webhook off = hook;
  off.set_enabled(false);
  ASSERT_OK(Update(off, {"enabled"}).status());
  StartWorker();
  ASSERT_OK_AND_ASSIGN(v1::TestWebhookResponse resp, Test(hook));
  EXPECT_EQ(resp.attempt().http_status(), 200);
  EXPECT_EQ(receiver->RequestCount(), 1u);
  // A normal publish to the disabled hook matches nothing.
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse published,
                       PublishEvent(Event("acme", "order.created")));
  EXPECT_THAT(published.delivery_ids(), IsEmpty());
}

TEST_F(HooksApiWorkerTest, TestWebhookRejectsBadInput) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
  EXPECT_THAT(Test(hook, "{not json"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("payload:")));
  v1::Webhook unknown = hook;
  unknown.set_id("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV");
  EXPECT_THAT(Test(unknown), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(StreamLength(), 0);
}

TEST_F(HooksApiWorkerTest, TestWebhookWithoutWorkersIsDeadlineExceeded) {
  ASSERT_OK_AND_ASSIGN(auto receiver, HttpReceiver::Start());
  v1::Webhook spec = HttpHook("acme", receiver->Url("/in"));
  spec.set_timeout_ms(1000);  // the registry waits the hook's timeout plus 5 s
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(spec));
  const absl::Time start = absl::Now();
  EXPECT_THAT(Test(hook), StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("worker")));
  const absl::Duration waited = absl::Now() - start;
  EXPECT_GE(waited, absl::Seconds(6));
  EXPECT_LT(waited, absl::Seconds(15));
  EXPECT_EQ(receiver->RequestCount(), 0u);
}

}  // namespace
}  // namespace hookrelay::registry
