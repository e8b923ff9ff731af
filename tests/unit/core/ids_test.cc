#include "libs/core/ids.h"

#include <set>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::core {
namespace {

TEST(IdsTest, NewIdHasPrefixAndIsValid) {
  const std::string id = NewId(kEventIdPrefix, absl::Now());
  EXPECT_THAT(id, ::testing::StartsWith("evt_"));
  EXPECT_EQ(id.size(), 4u + 26u);
  EXPECT_TRUE(IsValidId(id, kEventIdPrefix));
  EXPECT_FALSE(IsValidId(id, kWebhookIdPrefix));
}

TEST(IdsTest, LaterIdsSortAfterEarlierOnes) {
  const absl::Time t = absl::FromUnixMillis(1700000000123);
  const std::string a = NewId("dlv_", t);
  const std::string b = NewId("dlv_", t + absl::Milliseconds(1));
  const std::string c = NewId("dlv_", t + absl::Hours(24 * 365));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(IdsTest, IdsAreUnique) {
  std::set<std::string> ids;
  const absl::Time t = absl::Now();
  for (int i = 0; i < 10000; ++i) ids.insert(NewId("wh_", t));
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(IdsTest, RejectsMalformedIds) {
  EXPECT_FALSE(IsValidId("", "wh_"));
  EXPECT_FALSE(IsValidId("wh_", "wh_"));
  EXPECT_FALSE(IsValidId("wh_01ARZ3NDEKTSV4RRFFQ69G5FAU", "wh_"));  // 'U' is not Crockford
  EXPECT_TRUE(IsValidId("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV", "wh_"));
  EXPECT_FALSE(IsValidId("wh_01ARZ3NDEKTSV4RRFFQ69G5FA", "wh_"));
}

}  // namespace
}  // namespace hookrelay::core
