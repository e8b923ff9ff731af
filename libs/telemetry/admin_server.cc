#include "libs/telemetry/admin_server.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace hookrelay::telemetry {

absl::Status SplitHostPort(const std::string& address, const std::string& field, std::string* host,
                           int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": want host:port, got \"", address, "\""));
  }
  *host = address.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (!absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": bad port in \"", address, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry, ReadyCheck ready) {
  std::string host;
  int port = 0;
  absl::Status split = SplitHostPort(address, "metrics_address", &host, &port);
  if (!split.ok()) return split;
  std::unique_ptr<AdminServer> self(new AdminServer());
  self->server_ = std::make_unique<httplib::Server>();
  httplib::Server& srv = *self->server_;
  srv.Get("/metrics", [registry](const httplib::Request&, httplib::Response& res) {
    prometheus::TextSerializer serializer;
    res.set_content(serializer.Serialize(registry->Collect()), "text/plain; version=0.0.4");
  });
  srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  srv.Get("/readyz", [ready](const httplib::Request&, httplib::Response& res) {
    absl::Status st = ready ? ready() : absl::OkStatus();
    res.status = st.ok() ? 200 : 503;
    res.set_content(st.ok() ? "ok\n" : absl::StrCat(st.message(), "\n"), "text/plain");
  });
  if (port == 0) {
    self->port_ = srv.bind_to_any_port(host);
  } else {
    self->port_ = srv.bind_to_port(host, port) ? port : -1;
  }
  if (self->port_ < 0) {
    return absl::UnavailableError(absl::StrCat("metrics_address: cannot listen on ", address));
  }
  self->thread_ = std::thread([s = self.get()] { s->server_->listen_after_bind(); });
  // httplib's stop() does nothing until the server runs: a Stop() right after Start() (a
  // process that fails to start) would otherwise leave listen() blocked and the join hung.
  for (int i = 0; i < 5000 && !self->server_->is_running(); ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return self;
}

void AdminServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

AdminServer::~AdminServer() { Stop(); }

}  // namespace hookrelay::telemetry
