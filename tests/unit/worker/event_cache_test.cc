// EventCache: bounded by the bytes it holds, oldest out first.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/worker/caches.h"

namespace hookrelay::worker {
namespace {

std::shared_ptr<const v1::Event> EventWithPayload(size_t n) {
  auto e = std::make_shared<v1::Event>();
  e->set_payload(std::string(n, 'x'));
  return e;
}

TEST(EventCache, HoldsAtMostItsBytesAndEvictsTheOldest) {
  EventCache cache(1000);
  for (int i = 0; i < 10; ++i) {
    cache.Put(absl::StrCat("ev", i), EventWithPayload(200), 200 + 10);  // ~213 bytes each
  }
  EXPECT_LE(cache.bytes(), 1000u);
  EXPECT_EQ(cache.Find("ev0"), nullptr);
  EXPECT_EQ(cache.Find("ev5"), nullptr);
  ASSERT_NE(cache.Find("ev9"), nullptr);
  EXPECT_EQ(cache.Find("ev9")->payload().size(), 200u);
  EXPECT_NE(cache.Find("ev6"), nullptr);
}

TEST(EventCache, AnEventLargerThanTheCacheIsNotKept) {
  EventCache cache(1000);
  cache.Put("small", EventWithPayload(10), 20);
  cache.Put("huge", EventWithPayload(5000), 5010);
  EXPECT_EQ(cache.Find("huge"), nullptr);
  EXPECT_NE(cache.Find("small"), nullptr);  // and it pushed nothing out
}

TEST(EventCache, PuttingTheSameKeyTwiceChargesOnce) {
  EventCache cache(1000);
  cache.Put("a", EventWithPayload(10), 100);
  cache.Put("a", EventWithPayload(10), 100);
  EXPECT_EQ(cache.bytes(), 101u);
}

}  // namespace
}  // namespace hookrelay::worker
