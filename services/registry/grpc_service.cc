#include "services/registry/grpc_service.h"

#include "absl/time/clock.h"
#include "libs/telemetry/log.h"

namespace hookrelay::registry {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
}

std::string AuthorizationHeader(const grpc::ServerContextBase& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

std::string TenantFor(const Principal& p, const std::string& requested) {
  return requested.empty() ? p.tenant : requested;
}

// Stores a StatusOr's value in `resp`, or returns its error.
template <typename Resp, typename T>
absl::Status Store(absl::StatusOr<T> result, Resp* resp) {
  if (!result.ok()) return result.status();
  *resp = *std::move(result);
  return absl::OkStatus();
}
template <typename Resp>
absl::Status Store(absl::Status result, Resp*) {
  return result;
}

// The codes that mean the server failed rather than the request (AIP-193): worth a log line.
bool IsServerError(absl::StatusCode code) {
  return code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
         code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kUnavailable;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::Status GrpcService::Record(const char* method, absl::Time start, const absl::Status& st) {
  grpc::Status out = ToGrpcStatus(st);
  metrics_.ObserveRpc(method, CodeName(out.error_code()), absl::Now() - start);
  // A server-side failure is logged with its cause (the caller sees only the code and
  // message); a burst of them, e.g. while Redis misbehaves, is one line per 5 s with the
  // count of those it stands for.
  if (IsServerError(st.code())) {
    telemetry::LogEvery(5, telemetry::LogLevel::kError, "rpc failed",
                        {{"method", method},
                         {"code", CodeName(out.error_code())},
                         {"error", std::string(st.message())}});
  }
  return out;
}

template <typename Body>
grpc::Status GrpcService::Handle(const char* method, Ctx* ctx, Body&& body) {
  const absl::Time start = absl::Now();
  auto principal = auth_.Authenticate(AuthorizationHeader(*ctx));
  return Record(method, start, principal.ok() ? body(*principal) : principal.status());
}

template <typename Body>
grpc::ServerUnaryReactor* GrpcService::HandleAsync(const char* method,
                                                   grpc::CallbackServerContext* ctx, Body&& body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Finish finish = [this, method, reactor, start = absl::Now()](const absl::Status& st) {
    reactor->Finish(Record(method, start, st));
  };
  auto principal = auth_.Authenticate(AuthorizationHeader(*ctx));
  if (principal.ok()) {
    body(*principal, std::move(finish));
  } else {
    finish(principal.status());
  }
  return reactor;
}

template <typename Resp, typename Fn>
grpc::Status GrpcService::OnTenant(const char* method, Ctx* ctx, const std::string& tenant,
                                   Resp* resp, Fn&& fn) {
  return Handle(method, ctx, [&](const Principal& p) -> absl::Status {
    const std::string t = TenantFor(p, tenant);
    if (absl::Status st = Authorize(p, t, false); !st.ok()) return st;
    return Store(fn(t), resp);
  });
}

template <typename Resp, typename Fn>
grpc::Status GrpcService::AsAdmin(const char* method, Ctx* ctx, Resp* resp, Fn&& fn) {
  return Handle(method, ctx, [&](const Principal& p) -> absl::Status {
    if (p.role != v1::API_KEY_ROLE_ADMIN) {
      return absl::PermissionDeniedError("only admin keys manage API keys");
    }
    return Store(fn(), resp);
  });
}

void GrpcService::CountPublish(const v1::PublishEventResponse& r) {
  if (r.duplicate()) {
    metrics_.publish_duplicates.Increment();
    return;
  }
  metrics_.events_published.Increment();
  metrics_.deliveries_fanned_out.Increment(r.delivery_ids_size());
}

grpc::Status GrpcService::CreateWebhook(Ctx* ctx, const v1::CreateWebhookRequest* req,
                                        v1::Webhook* resp) {
  return OnTenant("CreateWebhook", ctx, req->webhook().tenant(), resp, [&](const std::string& t) {
    v1::Webhook hook = req->webhook();
    hook.set_tenant(t);
    return registry_.CreateWebhook(std::move(hook));
  });
}

grpc::Status GrpcService::GetWebhook(Ctx* ctx, const v1::GetWebhookRequest* req,
                                     v1::Webhook* resp) {
  return OnTenant("GetWebhook", ctx, req->tenant(), resp,
                  [&](const std::string& t) { return registry_.GetWebhook(t, req->id()); });
}

grpc::Status GrpcService::ListWebhooks(Ctx* ctx, const v1::ListWebhooksRequest* req,
                                       v1::ListWebhooksResponse* resp) {
  return OnTenant("ListWebhooks", ctx, req->tenant(), resp, [&](const std::string& t) {
    v1::ListWebhooksRequest r = *req;
    r.set_tenant(t);
    return registry_.ListWebhooks(r);
  });
}

grpc::Status GrpcService::UpdateWebhook(Ctx* ctx, const v1::UpdateWebhookRequest* req,
                                        v1::Webhook* resp) {
  return OnTenant("UpdateWebhook", ctx, req->webhook().tenant(), resp, [&](const std::string& t) {
    v1::UpdateWebhookRequest r = *req;
    r.mutable_webhook()->set_tenant(t);
    return registry_.UpdateWebhook(r);
  });
}

grpc::Status GrpcService::DeleteWebhook(Ctx* ctx, const v1::DeleteWebhookRequest* req,
                                        v1::DeleteWebhookResponse* resp) {
  return OnTenant("DeleteWebhook", ctx, req->tenant(), resp,
                  [&](const std::string& t) { return registry_.DeleteWebhook(t, req->id()); });
}

grpc::Status GrpcService::RotateWebhookSecret(Ctx* ctx, const v1::RotateWebhookSecretRequest* req,
                                              v1::Webhook* resp) {
  return OnTenant("RotateWebhookSecret", ctx, req->tenant(), resp, [&](const std::string& t) {
    v1::RotateWebhookSecretRequest r = *req;
    r.set_tenant(t);
    return registry_.RotateWebhookSecret(r);
  });
}

grpc::Status GrpcService::TestWebhook(Ctx* ctx, const v1::TestWebhookRequest* req,
                                      v1::TestWebhookResponse* resp) {
  return OnTenant("TestWebhook", ctx, req->tenant(), resp, [&](const std::string& t) {
    v1::TestWebhookRequest r = *req;
    r.set_tenant(t);
    return registry_.TestWebhook(r);
  });
}

grpc::ServerUnaryReactor* GrpcService::PublishEvent(grpc::CallbackServerContext* ctx,
                                                    const v1::PublishEventRequest* req,
                                                    v1::PublishEventResponse* resp) {
  return HandleAsync("PublishEvent", ctx, [&](const Principal& p, Finish finish) {
    v1::PublishEventRequest r = *req;
    r.set_tenant(TenantFor(p, r.tenant()));
    if (absl::Status st = Authorize(p, r.tenant(), true); !st.ok()) return finish(st);
    registry_.PublishEventAsync(
        std::move(r), [this, resp, finish](absl::StatusOr<v1::PublishEventResponse> result) {
          if (result.ok()) {
            *resp = *std::move(result);
            CountPublish(*resp);
          }
          finish(result.status());
        });
  });
}

grpc::ServerUnaryReactor* GrpcService::PublishEvents(grpc::CallbackServerContext* ctx,
                                                     const v1::PublishEventsRequest* req,
                                                     v1::PublishEventsResponse* resp) {
  return HandleAsync("PublishEvents", ctx, [&](const Principal& p, Finish finish) {
    v1::PublishEventsRequest r = *req;
    for (v1::PublishEventRequest& e : *r.mutable_events()) {
      e.set_tenant(TenantFor(p, e.tenant()));
      if (absl::Status st = Authorize(p, e.tenant(), true); !st.ok()) return finish(st);
    }
    registry_.PublishEventsAsync(
        std::move(r), [this, resp, finish](absl::StatusOr<v1::PublishEventsResponse> result) {
          if (result.ok()) {
            *resp = *std::move(result);
            for (const auto& one : resp->results()) CountPublish(one);
          }
          finish(result.status());
        });
  });
}

grpc::Status GrpcService::GetEvent(Ctx* ctx, const v1::GetEventRequest* req, v1::Event* resp) {
  return OnTenant("GetEvent", ctx, req->tenant(), resp,
                  [&](const std::string& t) { return registry_.GetEvent(t, req->id()); });
}

grpc::Status GrpcService::ListDeliveries(Ctx* ctx, const v1::ListDeliveriesRequest* req,
                                         v1::ListDeliveriesResponse* resp) {
  return OnTenant("ListDeliveries", ctx, req->tenant(), resp, [&](const std::string& t) {
    v1::ListDeliveriesRequest r = *req;
    r.set_tenant(t);
    return registry_.ListDeliveries(r);
  });
}

grpc::Status GrpcService::GetDelivery(Ctx* ctx, const v1::GetDeliveryRequest* req,
                                      v1::Delivery* resp) {
  return OnTenant("GetDelivery", ctx, req->tenant(), resp,
                  [&](const std::string& t) { return registry_.GetDelivery(t, req->id()); });
}

grpc::Status GrpcService::RedeliverDelivery(Ctx* ctx, const v1::RedeliverDeliveryRequest* req,
                                            v1::Delivery* resp) {
  return OnTenant("RedeliverDelivery", ctx, req->tenant(), resp,
                  [&](const std::string& t) { return registry_.RedeliverDelivery(t, req->id()); });
}

grpc::Status GrpcService::RecoverWebhook(Ctx* ctx, const v1::RecoverWebhookRequest* req,
                                         v1::RecoverWebhookResponse* resp) {
  return OnTenant("RecoverWebhook", ctx, req->tenant(), resp, [&](const std::string& t) {
    v1::RecoverWebhookRequest r = *req;
    r.set_tenant(t);
    return registry_.RecoverWebhook(r);
  });
}

grpc::Status GrpcService::CreateApiKey(Ctx* ctx, const v1::CreateApiKeyRequest* req,
                                       v1::ApiKey* resp) {
  return AsAdmin("CreateApiKey", ctx, resp, [&] { return registry_.CreateApiKey(*req); });
}

grpc::Status GrpcService::ListApiKeys(Ctx* ctx, const v1::ListApiKeysRequest* req,
                                      v1::ListApiKeysResponse* resp) {
  return AsAdmin("ListApiKeys", ctx, resp, [&] { return registry_.ListApiKeys(*req); });
}

grpc::Status GrpcService::RevokeApiKey(Ctx* ctx, const v1::RevokeApiKeyRequest* req,
                                       v1::RevokeApiKeyResponse* resp) {
  return AsAdmin("RevokeApiKey", ctx, resp, [&] {
    absl::Status st = registry_.RevokeApiKey(req->id());
    if (st.ok()) auth_.Forget(req->id());  // refused at once here; elsewhere within the TTL
    return st;
  });
}

}  // namespace hookrelay::registry
