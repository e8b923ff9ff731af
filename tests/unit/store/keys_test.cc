// The sharded key layout: Redis Cluster's hash slots, the shards' tags and where a tenant's
// keys go. No Redis needed: the slot function is Redis's own, checked against its reference
// values.
#include "libs/store/keys.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/store/hash_slot.h"

namespace hookrelay::store {
namespace {

using ::testing::AllOf;
using ::testing::Ge;
using ::testing::Le;

TEST(HashSlotTest, MatchesRedisClusterReferenceValues) {
  // The CRC16 check value of the Redis Cluster specification: "123456789" → 0x31C3.
  EXPECT_EQ(HashSlot("123456789"), 0x31C3 % kHashSlots);
  // CLUSTER KEYSLOT answers of Redis 7 for these keys.
  EXPECT_EQ(HashSlot("foo"), 12182);
  EXPECT_EQ(HashSlot("bar"), 5061);
  EXPECT_EQ(HashSlot("somekey"), 11058);
}

TEST(HashSlotTest, OnlyTheFirstNonEmptyHashTagCounts) {
  EXPECT_EQ(HashSlot("{user1000}.following"), HashSlot("user1000"));
  EXPECT_EQ(HashSlot("{user1000}.followers"), HashSlot("{user1000}.following"));
  EXPECT_EQ(HashSlot("foo{}{bar}"), HashSlot("foo{}{bar}"));  // empty tag: the whole key
  EXPECT_NE(HashSlot("foo{}{bar}"), HashSlot("bar"));
  EXPECT_EQ(HashSlot("foo{{bar}}zap"), HashSlot("{bar"));
  EXPECT_EQ(HashSlot("foo{bar}{zap}"), HashSlot("bar"));
}

TEST(KeySchemaTest, EveryKeyOfATenantLiesInItsShardsSlot) {
  const KeySchema keys("hookrelay:", 16);
  for (const char* tenant : {"acme", "globex", "t-1", "a.b_c"}) {
    const int shard = keys.ShardOf(tenant);
    const int slot = HashSlot(keys.Stream(shard));
    for (const std::string& key :
         {keys.Version(tenant), keys.Hooks(tenant), keys.Hook(tenant, "wh_1"),
          keys.HookHealth(tenant, "wh_1"), keys.HookDeliveries(tenant, "wh_1"),
          keys.Event(tenant, "evt_1"), keys.EventDeliveries(tenant, "evt_1"),
          keys.Idempotency(tenant, "k"), keys.Delivery(tenant, "dlv_1"), keys.RetrySet(shard),
          keys.StreamOf(tenant), keys.RetrySetOf(tenant), keys.MaintenanceLease(shard)}) {
      EXPECT_EQ(HashSlot(key), slot) << key;
    }
  }
  // The API keys and their index share a slot of their own.
  EXPECT_EQ(HashSlot(keys.ApiKey("abc")), HashSlot(keys.ApiKeys()));
}

TEST(KeySchemaTest, TenantKeysFollowTheDocumentedLayout) {
  const KeySchema keys("hookrelay:", 16);
  const std::string tag = keys.Tag(keys.ShardOf("acme"));
  EXPECT_EQ(keys.Hook("acme", "wh_1"), absl::StrCat("hookrelay:{", tag, "}:t:acme:hook:wh_1"));
  EXPECT_EQ(keys.Stream(3), absl::StrCat("hookrelay:{", keys.Tag(3), "}:stream"));
  EXPECT_EQ(keys.Meta(), "hookrelay:meta");
}

// Shard i's slot lies in the i-th S-th of the slot range, so a cluster whose masters hold
// even slot ranges (redis-cli --cluster create) holds S/M shards each, one more at most.
TEST(KeySchemaTest, ShardTagsSpreadEvenlyOverTheSlotRange) {
  for (int shards : {1, 3, 16, 64, 1024}) {
    const KeySchema keys("hookrelay:", shards);
    std::set<int> slots;
    for (int s = 0; s < shards; ++s) {
      const int slot = HashSlot(keys.Stream(s));
      EXPECT_THAT(slot, AllOf(Ge(s * kHashSlots / shards), Le((s + 1) * kHashSlots / shards - 1)))
          << "shard " << s << " of " << shards;
      slots.insert(slot);
    }
    EXPECT_EQ(slots.size(), static_cast<size_t>(shards)) << "two shards share a slot";
  }
  // 16 shards over 3 masters as redis-cli creates them: 0-5460, 5461-10922, 10923-16383.
  const KeySchema keys("hookrelay:", 16);
  std::map<int, int> per_master;
  for (int s = 0; s < 16; ++s) {
    const int slot = HashSlot(keys.Stream(s));
    ++per_master[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2];
  }
  for (const auto& [master, n] : per_master) EXPECT_THAT(n, AllOf(Ge(5), Le(6))) << master;
}

// The tenant → shard map must never change between releases or processes: a process that
// placed a tenant elsewhere would not find its hooks. These pin it.
TEST(KeySchemaTest, TheTenantToShardMapIsStable) {
  const KeySchema keys("hookrelay:", 16);
  EXPECT_EQ(StableHash("acme"), 0x0724d383f4f6de0full);
  EXPECT_EQ(keys.ShardOf("acme"), static_cast<int>(0x0724d383f4f6de0full % 16));
  // And it spreads tenants evenly: 1,000 tenants over 16 shards, each within ±40 % of 62.5.
  std::map<int, int> count;
  for (int i = 0; i < 1000; ++i) ++count[keys.ShardOf(absl::StrCat("tenant-", i))];
  ASSERT_EQ(count.size(), 16u);
  for (const auto& [shard, n] : count) EXPECT_THAT(n, AllOf(Ge(38), Le(88))) << shard;
}

TEST(KeySchemaTest, ShardCountIsValidated) {
  EXPECT_TRUE(ValidateShards(1).ok());
  EXPECT_TRUE(ValidateShards(KeySchema::kMaxShards).ok());
  EXPECT_FALSE(ValidateShards(0).ok());
  EXPECT_FALSE(ValidateShards(KeySchema::kMaxShards + 1).ok());
  EXPECT_THAT(std::string(ValidateShards(0).message()), ::testing::StartsWith("shards:"));
}

}  // namespace
}  // namespace hookrelay::store
