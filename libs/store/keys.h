#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace hookrelay::store {

// The Redis key layout. Every key of one tenant carries the hash tag "{<tenant>}" so a
// Redis Cluster layout keeps a tenant in one slot. Tenants are validated to
// [A-Za-z0-9._-]{1,64} before they reach here, so they never contain braces.
//
//   <p>{t}:version             INT     bumped on every hook change of the tenant
//   <p>{t}:hooks               SET     hook ids
//   <p>{t}:hook:<id>           STRING  serialized hookrelay.v1.Webhook
//   <p>{t}:evt:<id>            STRING  serialized hookrelay.v1.Event        (retention TTL)
//   <p>{t}:evt:<id>:dlvs       LIST    delivery ids of the event            (retention TTL)
//   <p>{t}:idem:<key>          STRING  first event id for an idempotency key (24 h TTL+)
//   <p>{t}:dlv:<id>            HASH    delivery record and its attempts (see
//                                      delivery_record.h)                   (retention TTL)
//   <p>{t}:dlv:<id>:att        LIST    attempts of records written before they moved into
//                                      the record; read only                (retention TTL)
//   <p>{t}:hook:<id>:dlvs      ZSET    delivery ids of a hook by creation ms
//   <p>{t}:hook:<id>:health    HASH    fails (consecutive failed deliveries), ok (last
//                                      success ms), since (first failure since then, ms)
//   <p>stream                  STREAM  DeliveryTask entries, field "t"
//   <p>retry                   ZSET    DeliveryTask bytes scored by due unix ms
//   <p>hooks:changed           CHANNEL pub/sub: "<tenant>" when its hooks change
class KeySchema {
 public:
  explicit KeySchema(std::string prefix = "hookrelay:") : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  std::string Version(absl::string_view t) const { return Tenant(t, "version"); }
  std::string Hooks(absl::string_view t) const { return Tenant(t, "hooks"); }
  std::string Hook(absl::string_view t, absl::string_view id) const {
    return absl::StrCat(prefix_, "{", t, "}:hook:", id);
  }
  std::string HookHealth(absl::string_view t, absl::string_view hook_id) const {
    return absl::StrCat(prefix_, "{", t, "}:hook:", hook_id, ":health");
  }
  std::string HookDeliveries(absl::string_view t, absl::string_view hook_id) const {
    return absl::StrCat(prefix_, "{", t, "}:hook:", hook_id, ":dlvs");
  }
  std::string Event(absl::string_view t, absl::string_view id) const {
    return absl::StrCat(prefix_, "{", t, "}:evt:", id);
  }
  std::string EventDeliveries(absl::string_view t, absl::string_view id) const {
    return absl::StrCat(prefix_, "{", t, "}:evt:", id, ":dlvs");
  }
  std::string Idempotency(absl::string_view t, absl::string_view key) const {
    return absl::StrCat(prefix_, "{", t, "}:idem:", key);
  }
  std::string Delivery(absl::string_view t, absl::string_view id) const {
    return absl::StrCat(prefix_, "{", t, "}:dlv:", id);
  }
  std::string LegacyAttempts(absl::string_view t, absl::string_view delivery_id) const {
    return absl::StrCat(prefix_, "{", t, "}:dlv:", delivery_id, ":att");
  }
  std::string Stream() const { return absl::StrCat(prefix_, "stream"); }
  std::string RetrySet() const { return absl::StrCat(prefix_, "retry"); }
  std::string HooksChangedChannel() const { return absl::StrCat(prefix_, "hooks:changed"); }
  // The consumer group of the workers on Stream().
  static constexpr absl::string_view kGroup = "workers";
  // The stream entry field holding the serialized DeliveryTask.
  static constexpr absl::string_view kTaskField = "t";

 private:
  std::string Tenant(absl::string_view t, absl::string_view what) const {
    return absl::StrCat(prefix_, "{", t, "}:", what);
  }
  std::string prefix_;
};

}  // namespace hookrelay::store
