#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"

namespace hookrelay::store {

// API keys, stored by the SHA-256 digest of the key (never the key itself), and the
// deployment's page-token key:
//   <p>{keys}:apikey:<digest>   STRING  serialized hookrelay.v1.ApiKey (without `key`)
//   <p>{keys}:apikeys           HASH    key id → digest (for listing and revoking)
//   <p>pagetoken:key            STRING  32 random bytes signing the registry's page tokens
// (the keys and their index share a hash tag, so they change in one transaction on a Redis
// Cluster)
// Thread-safe.
class ApiKeyStore {
 public:
  ApiKeyStore(RedisPool& pool, const KeySchema& keys) : pool_(pool), keys_(keys) {}

  absl::Status Create(const v1::ApiKey& key, const std::string& digest);
  // NOT_FOUND when no key has this digest.
  absl::StatusOr<v1::ApiKey> FindByDigest(const std::string& digest);
  // Every key, or only `tenant`'s when it is not empty.
  absl::StatusOr<std::vector<v1::ApiKey>> List(const std::string& tenant);
  // NOT_FOUND when the id is unknown.
  absl::Status Revoke(const std::string& id);
  // The key that signs the registry's page tokens: made by the first registry that asks
  // (SET NX) and then read by all, so every replica accepts the others' tokens. A new key
  // (after Redis lost its data) only makes outstanding tokens invalid. `fresh`: the random
  // key this caller offers (kept only when none is stored yet); the stored one must be as
  // long, or DATA_LOSS.
  absl::StatusOr<std::string> PageTokenKey(absl::string_view fresh);

 private:
  std::string DigestKey(const std::string& digest) const { return keys_.ApiKey(digest); }
  std::string Index() const { return keys_.ApiKeys(); }

  RedisPool& pool_;
  const KeySchema& keys_;
};

}  // namespace hookrelay::store
