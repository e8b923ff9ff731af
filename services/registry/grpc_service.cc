#include "services/registry/grpc_service.h"

#include "absl/time/clock.h"

namespace hookrelay::registry {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {
      "OK",        "CANCELLED",         "UNKNOWN",        "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
}

std::string AuthorizationHeader(const grpc::ServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

// A tenant key may leave `tenant` empty to mean its own tenant.
std::string TenantFor(const Principal& p, const std::string& requested) {
  return requested.empty() ? p.tenant : requested;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

template <typename Body>
grpc::Status GrpcService::Handle(const char* method, grpc::ServerContext* ctx, Body&& body) {
  const absl::Time start = absl::Now();
  absl::Status st;
  auto principal = auth_.Authenticate(AuthorizationHeader(*ctx));
  st = principal.ok() ? body(*principal) : principal.status();
  grpc::Status out = ToGrpcStatus(st);
  metrics_.ObserveRpc(method, CodeName(out.error_code()), absl::Now() - start);
  return out;
}

void GrpcService::CountPublish(const v1::PublishEventResponse& r) {
  if (r.duplicate()) {
    metrics_.publish_duplicates.Increment();
    return;
  }
  metrics_.events_published.Increment();
  metrics_.deliveries_fanned_out.Increment(r.delivery_ids_size());
}

grpc::Status GrpcService::CreateWebhook(grpc::ServerContext* ctx,
                                        const v1::CreateWebhookRequest* req, v1::Webhook* resp) {
  return Handle("CreateWebhook", ctx, [&](const Principal& p) -> absl::Status {
    v1::Webhook hook = req->webhook();
    hook.set_tenant(TenantFor(p, hook.tenant()));
    if (absl::Status st = Authorize(p, hook.tenant(), false); !st.ok()) return st;
    auto created = registry_.CreateWebhook(std::move(hook));
    if (!created.ok()) return created.status();
    *resp = *std::move(created);
    return absl::OkStatus();
  });
}

grpc::Status GrpcService::GetWebhook(grpc::ServerContext* ctx, const v1::GetWebhookRequest* req,
                                     v1::Webhook* resp) {
  return Handle("GetWebhook", ctx, [&](const Principal& p) -> absl::Status {
    const std::string tenant = TenantFor(p, req->tenant());
    if (absl::Status st = Authorize(p, tenant, false); !st.ok()) return st;
    auto hook = registry_.GetWebhook(tenant, req->id());
    if (!hook.ok()) return hook.status();
    *resp = *std::move(hook);
    return absl::OkStatus();
  });
}

grpc::Status GrpcService::DeleteWebhook(grpc::ServerContext* ctx,
                                        const v1::DeleteWebhookRequest* req,
                                        v1::DeleteWebhookResponse*) {
  return Handle("DeleteWebhook", ctx, [&](const Principal& p) -> absl::Status {
    const std::string tenant = TenantFor(p, req->tenant());
    if (absl::Status st = Authorize(p, tenant, false); !st.ok()) return st;
    return registry_.DeleteWebhook(tenant, req->id());
  });
}

grpc::Status GrpcService::PublishEvent(grpc::ServerContext* ctx,
                                       const v1::PublishEventRequest* req,
                                       v1::PublishEventResponse* resp) {
  return Handle("PublishEvent", ctx, [&](const Principal& p) -> absl::Status {
    v1::PublishEventRequest r = *req;
    r.set_tenant(TenantFor(p, r.tenant()));
    if (absl::Status st = Authorize(p, r.tenant(), true); !st.ok()) return st;
    auto published = registry_.PublishEvent(r);
    if (!published.ok()) return published.status();
    *resp = *std::move(published);
    CountPublish(*resp);
    return absl::OkStatus();
  });
}

grpc::Status GrpcService::PublishEvents(grpc::ServerContext* ctx,
                                        const v1::PublishEventsRequest* req,
                                        v1::PublishEventsResponse* resp) {
  return Handle("PublishEvents", ctx, [&](const Principal& p) -> absl::Status {
    v1::PublishEventsRequest r = *req;
    for (v1::PublishEventRequest& e : *r.mutable_events()) {
      e.set_tenant(TenantFor(p, e.tenant()));
      if (absl::Status st = Authorize(p, e.tenant(), true); !st.ok()) return st;
    }
    auto published = registry_.PublishEvents(r);
    if (!published.ok()) return published.status();
    *resp = *std::move(published);
    for (const auto& one : resp->results()) CountPublish(one);
    return absl::OkStatus();
  });
}

grpc::Status GrpcService::GetEvent(grpc::ServerContext* ctx, const v1::GetEventRequest* req,
                                   v1::Event* resp) {
  return Handle("GetEvent", ctx, [&](const Principal& p) -> absl::Status {
    const std::string tenant = TenantFor(p, req->tenant());
    if (absl::Status st = Authorize(p, tenant, false); !st.ok()) return st;
    auto event = registry_.GetEvent(tenant, req->id());
    if (!event.ok()) return event.status();
    *resp = *std::move(event);
    return absl::OkStatus();
  });
}

grpc::Status GrpcService::GetDelivery(grpc::ServerContext* ctx,
                                      const v1::GetDeliveryRequest* req, v1::Delivery* resp) {
  return Handle("GetDelivery", ctx, [&](const Principal& p) -> absl::Status {
    const std::string tenant = TenantFor(p, req->tenant());
    if (absl::Status st = Authorize(p, tenant, false); !st.ok()) return st;
    auto delivery = registry_.GetDelivery(tenant, req->id());
    if (!delivery.ok()) return delivery.status();
    *resp = *std::move(delivery);
    return absl::OkStatus();
  });
}

}  // namespace hookrelay::registry
