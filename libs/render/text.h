#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "libs/core/json_text.h"

// Text encodings shared by the payload formats: JSON string escaping, percent and form
// encoding, XML escaping, and length limits measured the way chat receivers count.
namespace hookrelay::render {

// JSON string escaping lives in libs/core (logging uses it too).
using core::AppendJsonEscaped;
using core::AppendJsonString;

// RFC 3986 percent-encoding: every byte except A-Z a-z 0-9 - . _ ~ becomes %XX.
void AppendPercentEncoded(std::string* out, absl::string_view s);

// application/x-www-form-urlencoded (WHATWG URL): space becomes '+', A-Z a-z 0-9 * - . _
// stay, every other byte becomes %XX.
void AppendFormEncoded(std::string* out, absl::string_view s);

// Escapes XML character data and attribute values: & < > " ' as entities, TAB/LF/CR as
// character references, and the C0 controls XML 1.0 cannot represent as U+FFFD.
void AppendXmlEscaped(std::string* out, absl::string_view s);

// Escapes XML character data between tags as Python's XMLGenerator does (& < > as
// entities, quotes, TAB and LF as they are), except that CR becomes &#13; (a raw one would
// reach the reader as LF) and the C0 controls XML 1.0 cannot represent become U+FFFD. Not
// for attribute values.
void AppendXmlText(std::string* out, absl::string_view s);

// Length in UTF-16 code units, as JavaScript-based receivers (Slack, Discord) count it.
size_t Utf16Length(absl::string_view s);

// Returns `s` if it is at most `max_units` UTF-16 code units long; otherwise its longest
// prefix that, with "…" appended, fits, cut on a UTF-8 character boundary.
std::string Truncate(absl::string_view s, size_t max_units);

}  // namespace hookrelay::render
