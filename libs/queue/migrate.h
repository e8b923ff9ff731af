#pragma once

#include "absl/status/statusor.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"

namespace hookrelay::queue {

struct MigrationReport {
  long long tenant_keys = 0;  // hooks, versions, indexes, events, records, idempotency keys
  long long api_keys = 0;     // API keys and their index
  long long tasks = 0;        // stream entries not yet acknowledged, now in their shard's stream
  long long retries = 0;      // retry set members, now in their shard's retry set
  long long dropped = 0;      // entries that held no task (they could not be delivered anyway)
};

// Converts a Redis holding the unsharded layout of earlier releases (layout 1: one global
// stream and retry set, tenant keys tagged with the tenant's name) to `keys`' sharded layout,
// then records it, so registries and workers of this release start. Every old registry and
// worker must be stopped first. Standalone Redis only (the old layout never ran on a
// cluster: its publish transaction spanned slots).
//
// Tenant keys and API keys are renamed (RENAME keeps each key's TTL); every stream entry not
// yet acknowledged by the workers' group (pending in a consumer or never read) is appended to
// its tenant's shard stream, and every retry to its shard's retry set with the same due time;
// then the old stream and retry set are deleted. Nothing pending is lost: a delivery a dead
// worker had in flight may go out once more (at-least-once). Safe to run again after an
// interruption (entries copied before it may then be delivered twice). FAILED_PRECONDITION
// when Redis is already set up with another shard count.
absl::StatusOr<MigrationReport> MigrateLegacyLayout(store::RedisConnection& conn,
                                                    const store::KeySchema& keys);

}  // namespace hookrelay::queue
