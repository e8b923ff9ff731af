#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace hookrelay::core {

// Appends `s` as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, absl::string_view s);

// Appends the JSON-escaped contents of `s` without the surrounding quotes: `"` `\` and
// control characters are escaped; other bytes, UTF-8 included, pass through.
void AppendJsonEscaped(std::string* out, absl::string_view s);

}  // namespace hookrelay::core
