#include "libs/store/keys.h"

#include <algorithm>

#include "libs/store/hash_slot.h"

namespace hookrelay::store {
namespace {

// The tag of shard `shard` of `shards`: the first "s<shard>-<n>" (n = 0, 1, ...) whose hash
// slot falls in the middle half of the shard's S-th of the slot range, away from the edges
// where a cluster's masters may split the range unevenly.
std::string FindTag(int shard, int shards) {
  const int lo = shard * kHashSlots / shards;
  const int hi = (shard + 1) * kHashSlots / shards;
  const int quarter = std::max(0, (hi - lo) / 4);
  const int want_lo = lo + quarter;
  const int want_hi = std::max(want_lo + 1, hi - quarter);
  for (int n = 0;; ++n) {
    std::string tag = absl::StrCat("s", shard, "-", n);
    const int slot = HashSlot(tag);
    if (slot >= want_lo && slot < want_hi) return tag;
  }
}

}  // namespace

KeySchema::KeySchema(std::string prefix, int shards) : prefix_(std::move(prefix)) {
  shards = std::clamp(shards, 1, kMaxShards);
  tags_.reserve(static_cast<size_t>(shards));
  for (int i = 0; i < shards; ++i) tags_.push_back(FindTag(i, shards));
}

int KeySchema::ShardOf(absl::string_view tenant) const {
  return static_cast<int>(StableHash(tenant) % tags_.size());
}

absl::Status ValidateShards(int shards) {
  if (shards < 1 || shards > KeySchema::kMaxShards) {
    return absl::InvalidArgumentError(
        absl::StrCat("shards: must be in [1, ", KeySchema::kMaxShards, "]"));
  }
  return absl::OkStatus();
}

}  // namespace hookrelay::store
