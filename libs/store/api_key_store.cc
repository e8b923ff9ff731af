#include "libs/store/api_key_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace hookrelay::store {

absl::Status ApiKeyStore::Create(const v1::ApiKey& key, const std::string& digest) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  Pipeline p;
  p.BeginTransaction();
  p.Add({"SET", DigestKey(digest), key.SerializeAsString()});
  p.Add({"HSET", Index(), key.id(), digest});
  p.EndTransaction();
  auto replies = (*conn)->Execute(p);
  if (!replies.ok()) return replies.status();
  return replies->back().ToStatus();
}

absl::StatusOr<v1::ApiKey> ApiKeyStore::FindByDigest(const std::string& digest) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  auto reply = (*conn)->Command({"GET", DigestKey(digest)});
  if (!reply.ok()) return reply.status();
  v1::ApiKey key;
  if (reply->is_nil() || !key.ParseFromString(reply->str)) {
    return absl::NotFoundError("api key not found");
  }
  return key;
}

absl::StatusOr<std::vector<v1::ApiKey>> ApiKeyStore::List(const std::string& tenant) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  auto index = (*conn)->Command({"HVALS", Index()});
  if (!index.ok()) return index.status();
  Pipeline p;
  for (const RedisReply& digest : index->elements) p.Add({"GET", DigestKey(digest.str)});
  auto replies = (*conn)->Execute(p);
  if (!replies.ok()) return replies.status();
  std::vector<v1::ApiKey> out;
  for (const RedisReply& r : *replies) {
    v1::ApiKey key;
    if (r.is_nil() || !key.ParseFromString(r.str)) continue;
    if (tenant.empty() || key.tenant() == tenant) out.push_back(std::move(key));
  }
  std::sort(out.begin(), out.end(),
            [](const v1::ApiKey& a, const v1::ApiKey& b) { return a.id() < b.id(); });
  return out;
}

absl::Status ApiKeyStore::Revoke(const std::string& id) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  auto digest = (*conn)->Command({"HGET", Index(), id});
  if (!digest.ok()) return digest.status();
  if (digest->is_nil()) return absl::NotFoundError(absl::StrCat("api key ", id, " not found"));
  Pipeline p;
  p.BeginTransaction();
  p.Add({"DEL", DigestKey(digest->str)});
  p.Add({"HDEL", Index(), id});
  p.EndTransaction();
  auto replies = (*conn)->Execute(p);
  if (!replies.ok()) return replies.status();
  return replies->back().ToStatus();
}

absl::StatusOr<std::string> ApiKeyStore::PageTokenKey(absl::string_view fresh) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  const std::string key = keys_.prefix() + "pagetoken:key";
  Pipeline p;
  p.Add({"SET", key, fresh, "NX"});
  p.Add({"GET", key});
  auto replies = (*conn)->Execute(p);
  if (!replies.ok()) return replies.status();
  const RedisReply& stored = replies->back();
  if (stored.is_error()) return stored.ToStatus();
  if (stored.str.size() != fresh.size()) {
    return absl::DataLossError(
        absl::StrCat("pagetoken:key: stored key is not ", fresh.size(), " bytes"));
  }
  return stored.str;
}

}  // namespace hookrelay::store
