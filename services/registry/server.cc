#include "services/registry/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/telemetry/log.h"

namespace hookrelay::registry {
namespace {

constexpr int kMaxMessageBytes = 32 * 1024 * 1024;
// gRPC 1.51's callback threads nap after 1 s without work (see KeepAwake); ten ticks a second
// reach both of them.
constexpr auto kAwakeEvery = std::chrono::milliseconds(100);

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(field, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& o) {
  if (o.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  auto cert = ReadFile(o.tls_cert_file, "tls_cert_file");
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(o.tls_key_file, "tls_key_file");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::Status ServerOptions::Validate() const {
  if (grpc_address.empty()) return absl::InvalidArgumentError("grpc_address: must be set");
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls_cert_file, tls_key_file: set both or neither");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const ServerOptions& options,
                                                              grpc::Service* service,
                                                              HealthOptions health) {
  if (absl::Status st = options.Validate(); !st.ok()) return st;
  auto creds = Credentials(options);
  if (!creds.ok()) return creds.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto server = std::make_unique<GrpcServer>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.grpc_address, *creds, &server->port_);
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // channelz (gRPC's live introspection) counts every call; we export our own metrics.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("grpc_address: cannot listen on ", options.grpc_address));
  }
  server->self_ = std::make_unique<grpc::GenericStub>(
      server->server_->InProcessChannel(grpc::ChannelArguments()));
  server->awake_ = std::thread([s = server.get()] { s->KeepAwake(); });
  server->health_ = std::move(health);
  // Known from the start: a server whose Redis is down is never SERVING, even briefly.
  server->ReportHealth(server->health_.ready == nullptr || server->health_.ready().ok());
  if (server->health_.ready != nullptr) {
    server->health_thread_ = std::thread([s = server.get()] { s->WatchHealth(); });
  }
  return server;
}

GrpcServer::~GrpcServer() { StopThreads(); }

// gRPC 1.51 (Debian 12) runs callback-API methods (PublishEvent, PublishEvents) on two
// "nexting" threads that wait for work at most 1 s and, when none came, sleep 100 ms before
// waiting again (CallbackAlternativeCQ in its completion_queue.cc): idle, each sleeps 100 ms
// in every 1.1 s, and a publish arriving while both sleep waits for them (p99 100-110 ms
// over the first 1.5 s of traffic after 2 of 6 fresh starts). A health check to ourselves
// over the in-process channel every 100 ms (a callback client call to a callback method)
// gives them work often enough that neither sleeps: every 250 ms, the ticks reached only
// one of them at times, and under the load of the whole test suite the other still napped.
void GrpcServer::KeepAwake() {
  struct Call {
    grpc::ClientContext ctx;
    grpc::Slice empty;  // HealthCheckRequest{} serializes to no bytes
    grpc::ByteBuffer request{&empty, 1}, response;
  };
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, kAwakeEvery, [this] { return stopping_; })) {
    auto* call = new Call;
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    self_->UnaryCall(&call->ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                     &call->request, &call->response, [call](grpc::Status) { delete call; });
  }
}

void GrpcServer::ReportHealth(bool serving) {
  grpc::HealthCheckServiceInterface* hc = server_->GetHealthCheckService();
  hc->SetServingStatus("", serving);
  if (!health_.service_name.empty()) hc->SetServingStatus(health_.service_name, serving);
  serving_ = serving;
}

void GrpcServer::WatchHealth() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, absl::ToChronoMilliseconds(health_.interval),
                       [this] { return stopping_; })) {
    lock.unlock();
    const absl::Status ready = health_.ready();  // may take a connect timeout: not locked
    lock.lock();
    if (stopping_ || ready.ok() == serving_) continue;
    ReportHealth(ready.ok());
    if (ready.ok()) {
      telemetry::LogInfo("ready again: health SERVING");
    } else {
      telemetry::LogWarn("not ready: health NOT_SERVING", {{"error", ready.ToString()}});
    }
  }
}

void GrpcServer::StopThreads() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (awake_.joinable()) awake_.join();
  if (health_thread_.joinable()) health_thread_.join();
}

void GrpcServer::Shutdown(absl::Duration deadline) {
  if (server_ == nullptr) return;
  StopThreads();
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + deadline));
  server_->Wait();
  server_.reset();
}

}  // namespace hookrelay::registry
