// Paging of every list RPC (ListWebhooks, ListDeliveries by hook and by event, ListApiKeys)
// over a real gRPC channel: keyset tokens that writes during paging cannot shift, no token
// after a full last page, tamper-evident tokens bound to the tenant and filters, and AIP-158
// page sizes.

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/registry/registry_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::registry {
namespace {

using ::hookrelay::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAreArray;
using Stub = v1::WebhookRegistry::Stub;

// One page of any listing: the ids on it and its next_page_token.
struct Page {
  std::vector<std::string> ids;
  std::string next;
};

// Lists one page with `token` and `size`.
using Lister = std::function<absl::StatusOr<Page>(const std::string& token, int size)>;

class PagingTest : public RegistryTest {
 protected:
  Lister Deliveries(const std::string& tenant, const std::string& hook_id,
                    v1::DeliveryStatus status = v1::DELIVERY_STATUS_UNSPECIFIED,
                    const std::string& event_id = "") {
    return [=, this](const std::string& token, int size) -> absl::StatusOr<Page> {
      v1::ListDeliveriesRequest req;
      req.set_tenant(tenant);
      req.set_webhook_id(hook_id);
      req.set_event_id(event_id);
      req.set_status(status);
      req.set_page_size(size);
      req.set_page_token(token);
      auto resp = CallRpc(registry_->stub(), &Stub::ListDeliveries, req, kAdminKey);
      if (!resp.ok()) return resp.status();
      Page page{.next = resp->next_page_token()};
      for (const v1::Delivery& d : resp->deliveries()) page.ids.push_back(d.id());
      return page;
    };
  }
  Lister Webhooks(const std::string& tenant) {
    return [=, this](const std::string& token, int size) -> absl::StatusOr<Page> {
      v1::ListWebhooksRequest req;
      req.set_tenant(tenant);
      req.set_page_size(size);
      req.set_page_token(token);
      auto resp = CallRpc(registry_->stub(), &Stub::ListWebhooks, req, kAdminKey);
      if (!resp.ok()) return resp.status();
      Page page{.next = resp->next_page_token()};
      for (const v1::Webhook& h : resp->webhooks()) page.ids.push_back(h.id());
      return page;
    };
  }
  Lister ApiKeys(const std::string& tenant) {
    return [=, this](const std::string& token, int size) -> absl::StatusOr<Page> {
      v1::ListApiKeysRequest req;
      req.set_tenant(tenant);
      req.set_page_size(size);
      req.set_page_token(token);
      auto resp = CallRpc(registry_->stub(), &Stub::ListApiKeys, req, kAdminKey);
      if (!resp.ok()) return resp.status();
      Page page{.next = resp->next_page_token()};
      for (const v1::ApiKey& k : resp->keys()) page.ids.push_back(k.id());
      return page;
    };
  }

  // Follows the tokens to the end; `sizes` gets each page's size.
  static std::vector<std::string> All(const Lister& list, int size, std::vector<int>* sizes) {
    std::vector<std::string> out;
    std::string token;
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<Page> page = list(token, size);
      EXPECT_OK(page.status());
      if (!page.ok()) break;
      sizes->push_back(static_cast<int>(page->ids.size()));
      out.insert(out.end(), page->ids.begin(), page->ids.end());
      if (page->next.empty()) break;
      token = page->next;
    }
    return out;
  }

  // Publishes `n` events of type "order.created" for acme in calls of 50; their delivery ids.
  std::vector<std::string> PublishMany(int n) {
    std::vector<std::string> ids;
    for (int done = 0; done < n;) {
      v1::PublishEventsRequest batch;
      for (int i = 0; i < 50 && done < n; ++i, ++done) {
        *batch.add_events() = Event("acme", "order.created", absl::StrCat(R"({"n":)", done, "}"));
      }
      absl::StatusOr<v1::PublishEventsResponse> resp = PublishEvents(batch);
      EXPECT_OK(resp.status());
      if (!resp.ok()) return ids;
      for (const auto& r : resp->results())
        ids.insert(ids.end(), r.delivery_ids().begin(), r.delivery_ids().end());
    }
    return ids;
  }

  std::vector<std::string> CreateKeys(int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      v1::CreateApiKeyRequest req;
      req.set_tenant("acme");
      req.set_role(v1::API_KEY_ROLE_TENANT);
      auto key = CallRpc(registry_->stub(), &Stub::CreateApiKey, req, kAdminKey);
      EXPECT_OK(key.status());
      if (key.ok()) ids.push_back(key->id());
    }
    return ids;
  }
};

// The defect: with offset tokens, 10 deliveries published after page 1 of a newest-first
// listing shifted everything by 10, so pages of 100, 100, 60 repeated 10 deliveries.
TEST_F(PagingTest, DeliveriesPublishedWhilePagingNeitherRepeatNorSkipAny) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"order.*"})));
  const std::vector<std::string> before = PublishMany(250);
  ASSERT_THAT(before, SizeIs(250));
  const Lister list = Deliveries("acme", hook.id());

  ASSERT_OK_AND_ASSIGN(Page first, list("", 100));
  // Published strictly later, so newer than everything listed so far.
  const absl::Time now = absl::Now();
  ASSERT_TRUE(testing::WaitFor([&] { return absl::Now() - now > absl::Milliseconds(2); },
                               absl::Seconds(1), absl::Milliseconds(1)));
  const std::vector<std::string> later = PublishMany(10);
  ASSERT_THAT(later, SizeIs(10));

  std::vector<std::string> seen = first.ids;
  std::vector<int> sizes = {static_cast<int>(first.ids.size())};
  std::string token = first.next;
  while (!token.empty() && sizes.size() < 10) {
    ASSERT_OK_AND_ASSIGN(Page page, list(token, 100));
    sizes.push_back(static_cast<int>(page.ids.size()));
    seen.insert(seen.end(), page.ids.begin(), page.ids.end());
    token = page.next;
  }
  EXPECT_THAT(sizes, ElementsAre(100, 100, 50));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "repeats";
  EXPECT_THAT(seen, UnorderedElementsAreArray(before));
  // A listing begun now sees the later ones first.
  ASSERT_OK_AND_ASSIGN(Page fresh, list("", 10));
  EXPECT_THAT(fresh.ids, UnorderedElementsAreArray(later));
}

TEST_F(PagingTest, HooksCreatedAndDeletedWhilePagingNeitherRepeatNorSkipTheOthers) {
  std::vector<std::string> ids;
  for (int i = 0; i < 120; ++i) {
    ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme")));
    ids.push_back(hook.id());
  }
  std::sort(ids.begin(), ids.end());
  const Lister list = Webhooks("acme");
  ASSERT_OK_AND_ASSIGN(Page first, list("", 50));
  ASSERT_EQ(first.ids, std::vector<std::string>(ids.begin(), ids.begin() + 50));
  // Delete hooks from the page seen and from pages to come; create more.
  std::set<std::string> deleted;
  for (int i : {3, 49, 50, 51, 90, 119}) {
    ASSERT_OK(DeleteWebhook("acme", ids[i]));
    deleted.insert(ids[i]);
  }
  for (int i = 0; i < 10; ++i) ASSERT_OK(CreateWebhook(Hook("acme")).status());

  std::vector<std::string> seen = first.ids;
  std::string token = first.next;
  while (!token.empty()) {
    ASSERT_OK_AND_ASSIGN(Page page, list(token, 50));
    seen.insert(seen.end(), page.ids.begin(), page.ids.end());
    token = page.next;
  }
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "repeats";
  const std::set<std::string> seen_set(seen.begin(), seen.end());
  for (int i = 50; i < 120; ++i) {  // the hooks not yet listed when the writes began
    EXPECT_EQ(seen_set.count(ids[i]), deleted.count(ids[i]) ? 0u : 1u) << i;
  }
}

// AIP-158: a listing whose last page is full hands back no token (a client would otherwise
// make one more call for an empty page).
TEST_F(PagingTest, AFullLastPageHasNoToken) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"order.*"})));
  const std::vector<std::string> published = PublishMany(100);
  std::vector<int> sizes;
  EXPECT_THAT(All(Deliveries("acme", hook.id()), 50, &sizes), UnorderedElementsAreArray(published));
  EXPECT_THAT(sizes, ElementsAre(50, 50));

  for (int i = 1; i < 100; ++i) ASSERT_OK(CreateWebhook(Hook("acme", {"fan.*"})).status());
  ASSERT_OK_AND_ASSIGN(v1::PublishEventResponse fan, PublishEvent(Event("acme", "fan.out")));
  ASSERT_THAT(fan.delivery_ids(), SizeIs(99));
  sizes.clear();
  EXPECT_THAT(All(Deliveries("acme", "", {}, fan.event_id()), 33, &sizes),
              ::testing::ElementsAreArray(fan.delivery_ids()));
  EXPECT_THAT(sizes, ElementsAre(33, 33, 33));

  sizes.clear();
  EXPECT_THAT(All(Webhooks("acme"), 25, &sizes), SizeIs(100));
  EXPECT_THAT(sizes, ElementsAre(25, 25, 25, 25));

  std::vector<std::string> keys = CreateKeys(6);
  std::sort(keys.begin(), keys.end());  // listed by id
  sizes.clear();
  EXPECT_THAT(All(ApiKeys("acme"), 3, &sizes), ::testing::ElementsAreArray(keys));
  EXPECT_THAT(sizes, ElementsAre(3, 3));

  // A status filter whose last page is full ends too (all 100 are pending).
  sizes.clear();
  EXPECT_THAT(All(Deliveries("acme", hook.id(), v1::DELIVERY_STATUS_PENDING), 25, &sizes),
              SizeIs(100));
  EXPECT_THAT(sizes, ElementsAre(25, 25, 25, 25));
}

// Every list RPC: a token altered, made up, cut short, from another tenant, with other
// filters or from another listing is INVALID_ARGUMENT naming page_token.
TEST_F(PagingTest, TokensAreTamperEvidentAndBoundToTenantAndFilters) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"order.*"})));
  ASSERT_OK_AND_ASSIGN(v1::Webhook globex_hook, CreateWebhook(Hook("globex", {"order.*"})));
  for (int i = 0; i < 3; ++i) ASSERT_OK(CreateWebhook(Hook("acme")).status());
  for (int i = 0; i < 3; ++i) ASSERT_OK(CreateWebhook(Hook("globex")).status());
  PublishMany(5);
  CreateKeys(3);

  struct Listing {
    std::string name;
    Lister mine, other_tenant, other_filter;
  };
  const std::vector<Listing> listings = {
      {"deliveries", Deliveries("acme", hook.id()), Deliveries("globex", hook.id()),
       Deliveries("acme", hook.id(), v1::DELIVERY_STATUS_FAILED)},
      {"webhooks", Webhooks("acme"), Webhooks("globex"), Deliveries("acme", hook.id())},
      {"api keys", ApiKeys("acme"), ApiKeys("globex"), ApiKeys("")},
  };
  for (const Listing& l : listings) {
    SCOPED_TRACE(l.name);
    ASSERT_OK_AND_ASSIGN(Page first, l.mine("", 2));
    ASSERT_THAT(first.next, Not(IsEmpty()));
    ASSERT_OK(l.mine(first.next, 2).status());  // the token itself is good

    std::string raw;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(first.next, &raw));
    std::vector<std::string> bad = {
        "garbage!", absl::WebSafeBase64Escape("o:2"), absl::WebSafeBase64Escape(hook.id()),
        first.next.substr(0, first.next.size() - 4), absl::StrCat(first.next, "AAAA")};
    for (size_t i = 0; i < raw.size(); i += 7) {  // one flipped bit anywhere
      std::string flipped = raw;
      flipped[i] ^= 0x01;
      bad.push_back(absl::WebSafeBase64Escape(flipped));
    }
    for (const std::string& token : bad) {
      EXPECT_THAT(l.mine(token, 2),
                  StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_token:")))
          << token;
    }
    EXPECT_THAT(l.other_tenant(first.next, 2),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_token:")));
    EXPECT_THAT(l.other_filter(first.next, 2),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_token:")));
  }
  (void)globex_hook;
}

TEST_F(PagingTest, ATokenFromOneReplicaWorksOnAnother) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(CreateWebhook(Hook("acme")).status());
  ASSERT_OK_AND_ASSIGN(Page first, Webhooks("acme")("", 2));
  ASSERT_OK_AND_ASSIGN(auto other, RegistryInstance::Start({.redis_url = redis_->url()}));
  v1::ListWebhooksRequest req;
  req.set_tenant("acme");
  req.set_page_size(2);
  req.set_page_token(first.next);
  ASSERT_OK_AND_ASSIGN(v1::ListWebhooksResponse second,
                       CallRpc(other->stub(), &Stub::ListWebhooks, req, kAdminKey));
  ASSERT_THAT(second.webhooks(), SizeIs(2));
  EXPECT_GT(second.webhooks(0).id(), first.ids.back());
}

// AIP-158: a page_size above the maximum is coerced to it, 0 means the default (50), and a
// negative one is INVALID_ARGUMENT.
TEST_F(PagingTest, PageSizeIsCoercedToTheMaximumAndZeroMeansTheDefault) {
  ASSERT_OK_AND_ASSIGN(v1::Webhook hook, CreateWebhook(Hook("acme", {"order.*"})));
  PublishMany(210);
  for (int i = 1; i < 210; ++i) ASSERT_OK(CreateWebhook(Hook("acme", {"x.*"})).status());
  CreateKeys(210);
  for (const auto& [name, list] :
       std::vector<std::pair<std::string, Lister>>{{"deliveries", Deliveries("acme", hook.id())},
                                                   {"webhooks", Webhooks("acme")},
                                                   {"api keys", ApiKeys("acme")}}) {
    SCOPED_TRACE(name);
    for (int size : {201, 1000, 2147483647}) {
      ASSERT_OK_AND_ASSIGN(Page page, list("", size));
      EXPECT_THAT(page.ids, SizeIs(200)) << size;
      EXPECT_THAT(page.next, Not(IsEmpty()));
    }
    ASSERT_OK_AND_ASSIGN(Page page, list("", 0));
    EXPECT_THAT(page.ids, SizeIs(50));
    for (int size : {-1, -200}) {
      EXPECT_THAT(list("", size),
                  StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("page_size:")));
    }
  }
}

}  // namespace
}  // namespace hookrelay::registry
