#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/render/template.h"

// Media types of template bodies: which escaping each needs, and which values a hook's
// content_type may hold.
namespace hookrelay::render {

// The escaping for a body of `content_type` (parameters and case ignored):
//   application/json, */*+json                              Escape::kJson
//   application/xml, text/xml, */*+xml, text/html            Escape::kXml
//   application/x-www-form-urlencoded                        Escape::kForm
//   anything else (text/plain, text/csv, ...)                Escape::kNone
Escape EscapeForMediaType(absl::string_view content_type);

// The Content-Type of a TEMPLATE body whose hook states none, guessed from the template's
// first non-blank character: { or [ "application/json", < "application/xml", else
// "text/plain; charset=utf-8".
absl::string_view GuessTemplateMediaType(absl::string_view payload_template);

// OK if `content_type` is "type/subtype" (RFC 7230 token characters) optionally followed by
// ";" parameters, at most 256 characters without control characters; else INVALID_ARGUMENT
// "<field>: ...".
absl::Status ValidateContentType(absl::string_view content_type, absl::string_view field);

}  // namespace hookrelay::render
