#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hookrelay/v1/resources.pb.h"
#include "libs/render/json_value.h"

namespace hookrelay::render {

// A chat notification distilled from an event, before any receiver's limits apply.
struct Message {
  struct Field {
    std::string name;
    std::string value;
  };
  std::string title;   // never empty: falls back to the event type
  std::string url;     // http(s) only, else empty
  std::string text;    // the description, may be empty
  std::string author;  // may be empty
  uint32_t color = 0;  // 0xRRGGBB
  std::vector<Field> fields;
  std::string footer;     // the event type
  std::string timestamp;  // RFC 3339, the event's occurred_at
  int64_t unix_seconds = 0;
};

// Colors used when the payload names none, and for well-known status words.
inline constexpr uint32_t kDefaultColor = 0x439FE0;
inline constexpr uint32_t kGoodColor = 0x2EB67D;
inline constexpr uint32_t kWarningColor = 0xECB22E;
inline constexpr uint32_t kDangerColor = 0xE01E5A;
// At most this many fields are listed.
inline constexpr size_t kMaxMessageFields = 10;

// Builds a Message from well-known payload fields, looked up at the top level of `data`
// and then under its first object-valued member (e.g. data.review), each key in turn:
//   title   title, summary, subject, name              (fallback: the event type)
//   url     url, html_url, link, permalink, href        (http and https only)
//   text    description, text, message, body, comment, content
//   author  user, author, actor, sender, creator, submitter, owner, reporter: a string,
//           or an object's name, display_name, displayName, username, login or email
//   color   color/colour ("#rrggbb" or an integer), else a status, state, severity,
//           level, result or conclusion word (approved/passed → green, pending/warning →
//           amber, failed/rejected/critical → red), else the default blue
// The fields are the remaining scalar members (and arrays of scalars, comma-joined) of both
// objects, in payload order, except those equal to the event type; at most
// kMaxMessageFields.
Message ExtractMessage(const v1::Event& event, const Value& data);

}  // namespace hookrelay::render
