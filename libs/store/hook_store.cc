#include "libs/store/hook_store.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::store {
namespace {

// KEYS: hook, hooks set, version. ARGV: hook bytes, hook id, mode ("create", "replace" or
// "cas"), channel, tenant, initial version, expected bytes (cas). Returns the new version,
// -1 when existence did not match the mode, -2 when a compare-and-set found other bytes.
// A tenant's first version is random, so after Redis lost its data a registry's cached
// snapshot can never carry the same version as the new state.
const RedisScript& WriteScript() {
  static const RedisScript* script = new RedisScript(R"lua(
local current = redis.call('GET', KEYS[1])
if (current ~= false) ~= (ARGV[3] ~= 'create') then return -1 end
if ARGV[3] == 'cas' and current ~= ARGV[7] then return -2 end
if redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SET', KEYS[3], ARGV[6]) end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
local v = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return v
)lua");
  return *script;
}

// KEYS: hook, hooks set, version. ARGV: hook id, channel, tenant.
const RedisScript& DeleteScript() {
  static const RedisScript* script = new RedisScript(R"lua(
if redis.call('DEL', KEYS[1]) == 0 then return -1 end
redis.call('SREM', KEYS[2], ARGV[1])
local v = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return v
)lua");
  return *script;
}

// KEYS: version, hooks set. ARGV: hook key prefix. Returns {version, hook bytes...}.
const RedisScript& LoadScript() {
  static const RedisScript* script = new RedisScript(R"lua(
local out = {tonumber(redis.call('GET', KEYS[1]) or '0')}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local h = redis.call('GET', ARGV[1] .. id)
  if h then out[#out + 1] = h end
end
return out
)lua");
  return *script;
}

std::string InitialVersion() {
  thread_local absl::BitGen gen;
  return std::to_string(absl::Uniform<int64_t>(gen, 1, int64_t{1} << 48));
}

absl::Status NotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("webhook ", id, " not found"));
}

}  // namespace

absl::Status HookStore::Create(const v1::Webhook& hook) { return Write(hook, "create", ""); }

absl::Status HookStore::Replace(const v1::Webhook& hook) { return Write(hook, "replace", ""); }

absl::StatusOr<v1::Webhook> HookStore::Update(
    absl::string_view tenant, absl::string_view id,
    const std::function<absl::Status(v1::Webhook&)>& mutate) {
  for (int i = 0; i < kMaxUpdateTries; ++i) {
    auto conn = pool_.Acquire();
    if (!conn.ok()) return conn.status();
    auto reply = (*conn)->Command({"GET", keys_.Hook(tenant, id)});
    if (!reply.ok()) return reply.status();
    if (reply->is_nil()) return NotFound(id);
    v1::Webhook hook;
    if (!hook.ParseFromString(reply->str)) {
      return absl::DataLossError(absl::StrCat("webhook ", id, ": stored record does not parse"));
    }
    if (absl::Status st = mutate(hook); !st.ok()) return st;
    absl::Status written = Write(hook, "cas", reply->str);
    if (written.ok()) return hook;
    if (!absl::IsAborted(written)) return written;
  }
  return absl::AbortedError(
      absl::StrCat("webhook ", id, ": changed concurrently too often; try again"));
}

absl::Status HookStore::Write(const v1::Webhook& hook, absl::string_view mode,
                              absl::string_view expected) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  const std::string keys[] = {keys_.Hook(hook.tenant(), hook.id()), keys_.Hooks(hook.tenant()),
                              keys_.Version(hook.tenant())};
  const std::string args[] = {hook.SerializeAsString(),    hook.id(),     std::string(mode),
                              keys_.HooksChangedChannel(), hook.tenant(), InitialVersion(),
                              std::string(expected)};
  auto reply = (*conn)->Eval(WriteScript(), keys, args);
  if (!reply.ok()) return reply.status();
  if (reply->integer == -2) {
    return absl::AbortedError(absl::StrCat("webhook ", hook.id(), ": changed concurrently"));
  }
  if (reply->integer < 0) {
    return mode == "create"
               ? absl::AlreadyExistsError(absl::StrCat("webhook ", hook.id(), " exists"))
               : NotFound(hook.id());
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Webhook> HookStore::Get(absl::string_view tenant, absl::string_view id) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  auto reply = (*conn)->Command({"GET", keys_.Hook(tenant, id)});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return NotFound(id);
  v1::Webhook hook;
  if (!hook.ParseFromString(reply->str)) {
    return absl::DataLossError(absl::StrCat("webhook ", id, ": stored record does not parse"));
  }
  return hook;
}

absl::Status HookStore::Delete(absl::string_view tenant, absl::string_view id) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  const std::string keys[] = {keys_.Hook(tenant, id), keys_.Hooks(tenant), keys_.Version(tenant)};
  const std::string args[] = {std::string(id), keys_.HooksChangedChannel(), std::string(tenant)};
  auto reply = (*conn)->Eval(DeleteScript(), keys, args);
  if (!reply.ok()) return reply.status();
  return reply->integer < 0 ? NotFound(id) : absl::OkStatus();
}

absl::StatusOr<TenantHooks> HookStore::LoadTenant(absl::string_view tenant) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  const std::string keys[] = {keys_.Version(tenant), keys_.Hooks(tenant)};
  const std::string args[] = {keys_.Hook(tenant, "")};
  auto reply = (*conn)->Eval(LoadScript(), keys, args);
  if (!reply.ok()) return reply.status();
  if (reply->type != RedisReply::Type::kArray || reply->elements.empty()) {
    return absl::InternalError("redis: unexpected reply loading hooks");
  }
  TenantHooks out;
  out.version = reply->elements[0].integer;
  out.hooks.resize(reply->elements.size() - 1);
  for (size_t i = 1; i < reply->elements.size(); ++i) {
    if (!out.hooks[i - 1].ParseFromString(reply->elements[i].str)) {
      return absl::DataLossError(absl::StrCat("tenant ", tenant, ": a stored hook does not parse"));
    }
  }
  return out;
}

}  // namespace hookrelay::store
