#pragma once

#include "absl/time/time.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store {

// The health of a hook's endpoint, kept in its health hash (KeySchema::HookHealth) by the
// workers, for disabling hooks whose deliveries keep failing: the consecutive failed
// deliveries, the last success and since when it has been failing. Writes go into the
// caller's MULTI/EXEC; the hash expires `ttl` after its last write.
//
// A success resets the failure count.
void AddHealthSuccess(const KeySchema& keys, absl::string_view tenant, absl::string_view hook_id,
                      absl::Time now, absl::Duration ttl, Pipeline* p);

// A failed (dead) delivery counts one more failure and remembers since when the hook has been
// failing. Add() queues the writes; after EXEC, Read() takes what they answered.
class HealthFailure {
 public:
  // `first_of_transaction`: the index in `p` of the transaction's first command (the one after
  // MULTI), from which the writes' places in the EXEC reply are counted.
  void Add(const KeySchema& keys, absl::string_view tenant, absl::string_view hook_id,
           absl::Time now, absl::Duration ttl, size_t first_of_transaction, Pipeline* p);

  struct State {
    long long fails = 0;                      // consecutive failed deliveries, this one included
    absl::Time since = absl::InfinitePast();  // the first failure since the last success
  };
  // From the EXEC reply of the transaction the writes were in.
  State Read(const std::vector<RedisReply>& exec) const;

 private:
  size_t at_ = 0;  // index in the EXEC reply of the HINCRBY
};

}  // namespace hookrelay::store
