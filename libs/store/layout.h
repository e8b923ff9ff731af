#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store {

// Every process of a deployment must see the same key layout: the shard count decides which
// shard a tenant's keys are in. The first process to start on an empty Redis records its
// layout in <p>meta; every later one checks it. Returns FAILED_PRECONDITION, with what to do,
// when Redis was set up with another shard count or still holds the unsharded layout of
// earlier releases (which `delivery-worker --migrate_layout` converts); UNAVAILABLE when
// Redis cannot be reached.
absl::Status EnsureLayout(RedisConnection& conn, const KeySchema& keys);

// True when Redis holds keys of the unsharded layout (layout 1): the global stream or retry
// set, the untagged API key index, or a tenant's keys tagged with the tenant's own name.
absl::StatusOr<bool> HasLegacyLayout(RedisConnection& conn, const KeySchema& keys);

// Records `keys`' layout in <p>meta (after a migration). FAILED_PRECONDITION when another
// shard count is recorded already.
absl::Status RecordLayout(RedisConnection& conn, const KeySchema& keys);

}  // namespace hookrelay::store
