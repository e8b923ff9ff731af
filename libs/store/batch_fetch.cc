#include "libs/store/batch_fetch.h"

#include "absl/strings/numbers.h"

namespace hookrelay::store {

size_t BatchFetch::AddHook(absl::string_view tenant, absl::string_view id) {
  return Add(tenant, keys_.Hook(tenant, id), true);
}

size_t BatchFetch::AddEvent(absl::string_view tenant, absl::string_view id) {
  return Add(tenant, keys_.Event(tenant, id), false);
}

size_t BatchFetch::Add(absl::string_view tenant, std::string key, bool is_hook) {
  auto [it, added] = index_.try_emplace(key, items_.size());
  if (!added) return it->second;
  auto [t, new_tenant] = of_tenant_.try_emplace(tenant);
  if (new_tenant) tenants_.emplace_back(tenant);
  t->second.push_back(items_.size());
  items_.push_back(Item{.is_hook = is_hook, .key = std::move(key)});
  return it->second;
}

absl::Status BatchFetch::Run(RedisConnection& conn) {
  if (items_.empty()) return absl::OkStatus();
  Pipeline p;
  std::vector<absl::string_view> argv;
  for (const std::string& tenant : tenants_) {
    const std::string version = keys_.Version(tenant);
    argv.assign({"MGET", version});
    for (size_t i : of_tenant_[tenant]) argv.push_back(items_[i].key);
    p.Add(absl::MakeConstSpan(argv));
  }
  auto replies = conn.Execute(p);
  if (!replies.ok()) return replies.status();
  for (size_t m = 0; m < tenants_.size(); ++m) {
    const RedisReply& values = (*replies)[m];
    if (values.is_error()) return values.ToStatus();
    const std::vector<size_t>& items = of_tenant_[tenants_[m]];
    if (values.elements.size() != items.size() + 1) {
      return absl::InternalError("redis: unexpected MGET reply");
    }
    long long version = 0;
    (void)absl::SimpleAtoi(values.elements[0].str, &version);
    for (size_t k = 0; k < items.size(); ++k) {
      Item& item = items_[items[k]];
      const RedisReply& r = values.elements[k + 1];
      item.version = version;
      if (r.is_nil()) continue;
      if (item.is_hook) {
        v1::Webhook hook;
        if (hook.ParseFromString(r.str)) item.hook = std::move(hook);
      } else {
        auto event = std::make_shared<v1::Event>();
        if (event->ParseFromString(r.str)) {
          item.event = std::move(event);
          item.bytes = r.str.size();
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace hookrelay::store
