#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "hookrelay/v1/resources.pb.h"

namespace hookrelay::render {

// The request body and target of one delivery, before signing.
struct RenderedRequest {
  std::string url;
  std::string body;
  std::string content_type;
};

// Renders `event` for `hook` in the hook's payload format. The event payload must already
// be valid JSON (the registry checks it on publish). INVALID_ARGUMENT when the hook's
// format cannot render this event (the attempt fails with error class "render", not
// retried); UNIMPLEMENTED for formats this build does not know.
absl::StatusOr<RenderedRequest> Render(const v1::Webhook& hook, const v1::Event& event);

// The default envelope: {"id","type","timestamp","tenant","data"}; `data` is the payload
// text as published, so no re-serialization happens on the hot path.
void AppendEnvelope(const v1::Event& event, std::string* out);

// RFC 3339 UTC with milliseconds, e.g. "2026-01-15T10:30:00.000Z".
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);

// Appends `s` as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, absl::string_view s);

}  // namespace hookrelay::render
