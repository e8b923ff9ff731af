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

// `payload=<the payload as published, form-encoded>` (application/x-www-form-urlencoded),
// as Review Board sends its payload in its "HTML Form Data" encoding.
std::string FormBody(const v1::Event& event);

// The payload as Review Board's XML encoding writes it (djblets' XMLEncoderAdapter):
//   <?xml version="1.0" encoding="utf-8"?>
//   <rsp>
//    <event>review_request_published</event>
//    <review_request>
//     <id>1303</id>
//     <target_people>
//      <array>
//       <item>
//        <title>chipx86</title>
//       </item>
//      </array>
//     </target_people>
//    </review_request>
//   </rsp>
// Object members become elements named by their key, in payload order (<item key="...">
// when the key is not a plain XML name, where Review Board would write malformed XML);
// arrays become <array> of <item>; strings are escaped text, numbers as written, true and
// false "1" and "0" (Review Board's Python writes booleans as integers), null nothing.
// Each element starts a line indented one space per level; text stays inline. A scalar
// payload is the text of <rsp>.
std::string XmlBody(const Value& data);

// The template context: {"event": {"id","type","timestamp","timestamp_unix",
// "timestamp_unix_ms","tenant","attributes":{...}}, "data": <data>}; timestamp is RFC 3339
// with milliseconds, timestamp_unix whole seconds and timestamp_unix_ms milliseconds, all
// of occurred_at; attributes sorted by key.
Value EventContext(const v1::Event& event, Value data);

}  // namespace hookrelay::render
