// Tests of IdlePool: which kept-alive connection is handed out, and which the sweep closes.

#include "libs/http/idle_pool.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::http {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

struct FakeConn {
  int id;
};

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);
constexpr absl::Duration kMaxIdle = absl::Seconds(30);

TEST(IdlePoolTest, HandsOutTheMostRecentlyUsedConnectionOfTheOrigin) {
  IdlePool<FakeConn> pool;
  FakeConn a{1}, b{2}, other{3};
  pool.Put("https://a.example:443", &a, kT0);
  pool.Put("https://b.example:443", &other, kT0);
  pool.Put("https://a.example:443", &b, kT0 + absl::Seconds(1));
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(pool.Take("https://a.example:443"), &b);
  EXPECT_EQ(pool.Take("https://a.example:443"), &a);
  EXPECT_EQ(pool.Take("https://a.example:443"), nullptr);
  EXPECT_EQ(pool.Take("https://c.example:443"), nullptr);
  EXPECT_EQ(pool.size(), 1u);
}

TEST(IdlePoolTest, SweepClosesConnectionsIdleTooLong) {
  IdlePool<FakeConn> pool;
  FakeConn old{1}, fresh{2}, other_old{3};
  pool.Put("o1", &old, kT0);
  pool.Put("o1", &fresh, kT0 + absl::Seconds(20));
  pool.Put("o2", &other_old, kT0 + absl::Seconds(5));
  EXPECT_THAT(pool.Sweep(kT0 + absl::Seconds(31), kMaxIdle, 100), ElementsAre(&old));
  EXPECT_THAT(pool.Sweep(kT0 + absl::Seconds(36), kMaxIdle, 100), ElementsAre(&other_old));
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.Take("o1"), &fresh);
}

TEST(IdlePoolTest, SweepClosesTheOldestBeyondTheCap) {
  IdlePool<FakeConn> pool;
  FakeConn c1{1}, c2{2}, c3{3};
  pool.Put("o", &c1, kT0);
  pool.Put("o", &c2, kT0 + absl::Seconds(1));
  pool.Put("o", &c3, kT0 + absl::Seconds(2));
  EXPECT_THAT(pool.Sweep(kT0 + absl::Seconds(3), kMaxIdle, 1), ElementsAre(&c1, &c2));
  EXPECT_EQ(pool.Take("o"), &c3);
}

TEST(IdlePoolTest, RemoveForgetsAConnectionTheServerClosed) {
  IdlePool<FakeConn> pool;
  FakeConn a{1}, b{2};
  pool.Put("o", &a, kT0);
  pool.Put("o", &b, kT0);
  EXPECT_TRUE(pool.Remove("o", &b));
  EXPECT_FALSE(pool.Remove("o", &b));
  EXPECT_FALSE(pool.Remove("elsewhere", &a));
  EXPECT_EQ(pool.Take("o"), &a);
  EXPECT_EQ(pool.size(), 0u);
}

TEST(IdlePoolTest, TakeAllEmptiesThePool) {
  IdlePool<FakeConn> pool;
  FakeConn a{1}, b{2};
  pool.Put("o1", &a, kT0);
  pool.Put("o2", &b, kT0 + absl::Hours(1));
  EXPECT_THAT(pool.TakeAll(), UnorderedElementsAre(&a, &b));
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_THAT(pool.TakeAll(), IsEmpty());
}

}  // namespace
}  // namespace hookrelay::http
