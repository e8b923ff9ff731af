// Registry: API key management.
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/core/ids.h"
#include "libs/core/status_macros.h"
#include "libs/signing/crypto.h"
#include "services/registry/auth.h"
#include "services/registry/registry.h"

namespace hookrelay::registry {

absl::StatusOr<v1::ApiKey> Registry::CreateApiKey(const v1::CreateApiKeyRequest& req) {
  if (req.role() == v1::API_KEY_ROLE_UNSPECIFIED || !v1::ApiKeyRole_IsValid(req.role())) {
    return absl::InvalidArgumentError("role: must be ADMIN, TENANT or PUBLISHER");
  }
  if (req.role() != v1::API_KEY_ROLE_ADMIN || !req.tenant().empty()) {
    if (absl::Status st = ValidateTenant(req.tenant(), "tenant"); !st.ok()) return st;
  }
  if (req.description().size() > 256) {
    return absl::InvalidArgumentError("description: at most 256 characters");
  }
  HR_ASSIGN_OR_RETURN(const std::string secret, signing::RandomToken("hr_", 32));
  const absl::Time now = clock_.Now();
  v1::ApiKey key;
  key.set_id(core::NewId(core::kApiKeyIdPrefix, now));
  key.set_tenant(req.role() == v1::API_KEY_ROLE_ADMIN ? "" : req.tenant());
  key.set_role(req.role());
  key.set_description(req.description());
  *key.mutable_create_time() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now));
  if (absl::Status st = api_keys_.Create(key, KeyDigest(secret)); !st.ok()) return st;
  key.set_key(secret);
  return key;
}

absl::StatusOr<v1::ListApiKeysResponse> Registry::ListApiKeys(const v1::ListApiKeysRequest& req) {
  if (!req.tenant().empty()) HR_RETURN_IF_ERROR(ValidateTenant(req.tenant(), "tenant"));
  HR_ASSIGN_OR_RETURN(const int size, CoercePageSize(req.page_size()));
  const PageScope scope{.method = "ListApiKeys", .tenant = req.tenant(), .filters = ""};
  HR_ASSIGN_OR_RETURN(const std::string after, page_tokens_.Open(scope, req.page_token()));
  HR_ASSIGN_OR_RETURN(std::vector<v1::ApiKey> keys, api_keys_.List(req.tenant()));  // by id
  v1::ListApiKeysResponse resp;
  for (v1::ApiKey& k : keys) {
    if (!after.empty() && k.id() <= after) continue;  // keyset: ids after the last returned
    if (resp.keys_size() == size) {                   // another one follows the full page
      HR_ASSIGN_OR_RETURN(*resp.mutable_next_page_token(),
                          page_tokens_.Make(scope, resp.keys(size - 1).id()));
      break;
    }
    *resp.add_keys() = std::move(k);
  }
  return resp;
}

absl::Status Registry::RevokeApiKey(const std::string& id) {
  if (!core::IsValidId(id, core::kApiKeyIdPrefix)) {
    return absl::InvalidArgumentError("id: not a valid key_ id");
  }
  return api_keys_.Revoke(id);
}

}  // namespace hookrelay::registry
