#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "hookrelay/v1/registry.grpc.pb.h"
#include "services/registry/auth.h"
#include "services/registry/registry.h"
#include "services/registry/registry_metrics.h"

namespace hookrelay::registry {

// The gRPC edge of the registry: authenticates, authorizes the tenant, calls Registry,
// maps absl::Status to grpc::Status (in ToGrpcStatus only) and records RPC metrics.
// RPCs not implemented yet answer UNIMPLEMENTED (the generated default).
class GrpcService final : public v1::WebhookRegistry::Service {
 public:
  GrpcService(Registry& registry, const Authenticator& auth, RegistryMetrics& metrics)
      : registry_(registry), auth_(auth), metrics_(metrics) {}

  grpc::Status CreateWebhook(grpc::ServerContext* ctx, const v1::CreateWebhookRequest* req,
                             v1::Webhook* resp) override;
  grpc::Status GetWebhook(grpc::ServerContext* ctx, const v1::GetWebhookRequest* req,
                          v1::Webhook* resp) override;
  grpc::Status DeleteWebhook(grpc::ServerContext* ctx, const v1::DeleteWebhookRequest* req,
                             v1::DeleteWebhookResponse* resp) override;
  grpc::Status PublishEvent(grpc::ServerContext* ctx, const v1::PublishEventRequest* req,
                            v1::PublishEventResponse* resp) override;
  grpc::Status PublishEvents(grpc::ServerContext* ctx, const v1::PublishEventsRequest* req,
                             v1::PublishEventsResponse* resp) override;
  grpc::Status GetEvent(grpc::ServerContext* ctx, const v1::GetEventRequest* req,
                        v1::Event* resp) override;
  grpc::Status GetDelivery(grpc::ServerContext* ctx, const v1::GetDeliveryRequest* req,
                           v1::Delivery* resp) override;

 private:
  // Runs `body` for an authenticated caller and records the RPC.
  template <typename Body>
  grpc::Status Handle(const char* method, grpc::ServerContext* ctx, Body&& body);
  void CountPublish(const v1::PublishEventResponse& r);

  Registry& registry_;
  const Authenticator& auth_;
  RegistryMetrics& metrics_;
};

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace hookrelay::registry
