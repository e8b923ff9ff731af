#pragma once

// The Redis flags every hookrelay process takes (--redis_url, TLS files, cluster mode,
// credentials), defined once so the registry and the worker cannot drift apart. Link
// hookrelay::store_flags only into a binary's main.

#include "absl/status/statusor.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store {

// RedisOptions from the flags (after ParseFlagsWithEnvironment), validated: INVALID_ARGUMENT
// naming the flag. --redis_username/--redis_password, when set, replace the URL's
// credentials (so a password can come from a Secret without being written into a URL).
absl::StatusOr<RedisOptions> RedisOptionsFromFlags();

}  // namespace hookrelay::store
