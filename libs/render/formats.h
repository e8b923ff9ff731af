#pragma once

#include <string>

#include "hookrelay/v1/resources.pb.h"
#include "libs/render/json_value.h"

// The fixed encodings of an event: envelope JSON, XML and form, and the context that
// templates see.
namespace hookrelay::render {

// Deepest payload nesting the parsing formats (XML, templates, chat) accept.
inline constexpr int kMaxPayloadDepth = 64;

// RFC 3339 UTC with milliseconds, e.g. "2026-01-15T10:30:00.000Z".
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);

// The default envelope: {"id","type","timestamp","tenant","data"}; `data` is the payload
// text as published, so no re-serialization happens on the hot path.
void AppendEnvelope(const v1::Event& event, std::string* out);

// `payload=<envelope, form-encoded>` (application/x-www-form-urlencoded), as Review Board
// sends it.
std::string FormBody(const v1::Event& event);

// <?xml version="1.0" encoding="UTF-8"?><event><id/><type/><timestamp/><tenant/><data/>
// </event>, `data` (the parsed payload) mapped to elements: object members become elements
// named by their key (<item key="..."> when the key is not a plain XML name), array
// elements become <item> elements, scalars text, null an empty element. Member order is
// the payload's; output is deterministic.
std::string XmlBody(const v1::Event& event, const Value& data);

// The template context: {"event": {"id","type","timestamp","tenant","attributes":{...}},
// "data": <data>}; attributes sorted by key.
Value EventContext(const v1::Event& event, Value data);

}  // namespace hookrelay::render
