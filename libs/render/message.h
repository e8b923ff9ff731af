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
  std::string title;   // never empty: falls back to the event type in words
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
// At most this many fields are listed, and this many objects searched for well-known keys.
inline constexpr size_t kMaxMessageFields = 10;
inline constexpr size_t kMaxMessageScopes = 16;

// Builds a Message from well-known payload fields. They are looked up first in the payload
// object and its subject (its first object member, e.g. data.review), then in its other
// object members and the objects in those (at most kMaxMessageScopes objects; objects
// that hold a person, such as "author", only give the author); within each of the two
// tiers key by key:
//   title   "<type in words>: <title>", <title> from title, summary, subject, name (e.g.
//           "Review Requested: Homepage Redesign"); the type in words alone without one
//   url     url, html_url, absolute_url, web_url, link, permalink, href, shareUrl (http
//           and https only)
//   text    description, text, message, body, comment, content
//   author  user, author, actor, sender, creator, submitter, owner, reporter, reviewer:
//           a string, or an object's name, display_name, displayName, username, login or
//           email
//   color   color/colour ("#rrggbb" or an integer), else a status, state, severity,
//           level, result or conclusion word (approved/passed → green, pending/warning →
//           amber, failed/rejected/critical → red), else the default blue
// The fields follow the payload's order: its scalar members (and arrays of scalars,
// comma-joined); for its first object member (the subject, e.g. data.review), that
// object's scalar members; for every other object member, one field naming it by its
// key with its label (name, title, summary, display_name, displayName, username, key or
// id; e.g. "Project: Mobile App Q4"). Values already shown (title, url, text, author) and
// values equal to the event type are left out; at most kMaxMessageFields.
Message ExtractMessage(const v1::Event& event, const Value& data);

}  // namespace hookrelay::render
