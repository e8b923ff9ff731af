#pragma once

// Helpers the commands share: option values, the payload, and one RPC call.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/hookctl/commands.h"
#include "services/hookctl/output.h"

namespace hookrelay::hookctl {

// The option's value, or `def` when it was not given.
std::string Opt(const CommandContext& ctx, absl::string_view name, absl::string_view def = "");
bool Has(const CommandContext& ctx, absl::string_view name);
// Typed option values; usage errors name the option. `def` when not given.
absl::StatusOr<int64_t> IntOpt(const CommandContext& ctx, absl::string_view name, int64_t def);
absl::StatusOr<bool> BoolOpt(const CommandContext& ctx, absl::string_view name);
// RFC 3339, e.g. 2026-01-02T15:04:05Z.
absl::StatusOr<google::protobuf::Timestamp> TimeOpt(const CommandContext& ctx,
                                                    absl::string_view name);
// A comma-separated list, empty items dropped.
std::vector<std::string> ListOpt(const CommandContext& ctx, absl::string_view name);
// "k=v,k2=v2" into `out`; a usage error for an item without '='.
absl::Status MapOpt(const CommandContext& ctx, absl::string_view name,
                    google::protobuf::Map<std::string, std::string>* out);

// --payload JSON or --payload-file FILE ("-": standard input); "" when neither was given.
// A usage error when both were, or the file cannot be read.
absl::StatusOr<std::string> ReadPayload(const CommandContext& ctx);

// The status of a failed call as hookctl reports it: "<rpc>: <CODE>: <message>", with a hint
// when the registry could not be reached or refused the key.
absl::Status RpcError(const CommandContext& ctx, absl::string_view rpc, const grpc::Status& st);

// Calls `method` with the caller's key and --timeout (at least `min_timeout`).
template <typename Req, typename Resp>
absl::Status Call(const CommandContext& ctx, absl::string_view rpc,
                  grpc::Status (v1::WebhookRegistry::StubInterface::*method)(grpc::ClientContext*,
                                                                             const Req&, Resp*),
                  const Req& req, Resp* resp, absl::Duration min_timeout = absl::ZeroDuration()) {
  grpc::ClientContext c;
  if (!ctx.globals.api_key.empty()) c.AddMetadata("authorization", "Bearer " + ctx.globals.api_key);
  c.set_deadline(absl::ToChronoTime(absl::Now() + std::max(ctx.globals.timeout, min_timeout)));
  const grpc::Status st = (ctx.stub->*method)(&c, req, resp);
  return st.ok() ? absl::OkStatus() : RpcError(ctx, rpc, st);
}

// Call, then prints the response: as JSON with --json, else with `text` (nothing if null).
template <typename Req, typename Resp>
absl::Status CallAndShow(const CommandContext& ctx, absl::string_view rpc,
                         grpc::Status (v1::WebhookRegistry::StubInterface::*method)(
                             grpc::ClientContext*, const Req&, Resp*),
                         const Req& req, void (*text)(const CommandContext&, const Resp&),
                         absl::Duration min_timeout = absl::ZeroDuration()) {
  Resp resp;
  if (absl::Status st = Call(ctx, rpc, method, req, &resp, min_timeout); !st.ok()) return st;
  if (ctx.globals.json) {
    PrintJson(*ctx.out, resp);
  } else if (text != nullptr) {
    text(ctx, resp);
  }
  return absl::OkStatus();
}

// A request naming one object by --tenant and --id.
template <typename Req>
Req RefRequest(const CommandContext& ctx) {
  Req req;
  req.set_tenant(Opt(ctx, "tenant"));
  req.set_id(Opt(ctx, "id"));
  return req;
}

}  // namespace hookrelay::hookctl
