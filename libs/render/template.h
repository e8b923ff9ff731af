#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/render/json_value.h"

namespace hookrelay::render {

// How a template escapes the values it inserts ({{name}}; {{{name}}} and {{& name}} never
// escape). Chosen from the body's media type (see EscapeForMediaType).
enum class Escape {
  // JSON bodies. A tag inside a "..." string literal of the template text inserts the
  // value JSON-escaped without quotes (objects and arrays as escaped JSON text, null as
  // nothing); a tag outside string literals inserts the value as JSON (strings quoted,
  // numbers, true/false, null, objects and arrays as compact JSON).
  kJson,
  // URLs: values percent-encoded (RFC 3986 unreserved characters kept); a value that
  // renders empty is an error, since it would change the URL's path.
  kUrl,
  // XML and HTML: & < > " ' as entities, TAB/LF/CR as character references; objects and
  // arrays as escaped JSON text, null as nothing.
  kXml,
  // application/x-www-form-urlencoded: values form-encoded (space as '+'); objects and
  // arrays as their JSON text, null as nothing.
  kForm,
  // Plain text: strings as they are, other values as compact JSON, null as nothing.
  kNone,
};

struct TemplateOptions {
  Escape escape = Escape::kJson;
  // Prefix of every error message, e.g. "webhook.payload_template".
  std::string field = "template";
  // A member of the context whose own members may be named directly, looked up after the
  // context's members: with "data", {{jiraIssueKey}} means {{data.jiraIssueKey}} unless a
  // section item has a jiraIssueKey. Empty: none.
  std::string implicit_scope = "data";
  size_t max_template_bytes = 64 * 1024;
  int max_depth = 16;  // sections nested in sections
  size_t max_output_bytes = 1024 * 1024;
  // Work allowed per Render: one step per node, loop iteration and object member compared
  // in a lookup, so rendering time is bounded whatever the data.
  int64_t max_steps = 20'000'000;
};

// Longest length a {{truncate name N}} may ask for.
inline constexpr int64_t kMaxTruncateLength = 1'000'000;

// A parsed Mustache-like template, rendered many times over different contexts. Immutable
// and cheap to copy (the syntax tree is shared); thread-safe.
//
// Syntax:
//   {{a.b.c}}            value at a path; "." is the current item; a numeric segment
//                        indexes an array (items.0.name). The first segment is looked up
//                        in the innermost section item that has it, then outwards, then in
//                        the context, then in the implicit scope (the event's data).
//   {{{a}}}, {{& a}}     the value unescaped
//   {{truncate a N}}     the value's text cut to at most N characters (UTF-16 code units, as
//                        chat services count them), ending in "…" when cut, then escaped as
//                        a string; also {{{truncate a N}}}. N is 1..1000000.
//   {{#a}}…{{/a}}        for each element of a non-empty array, or once if `a` is truthy
//                        (see Value::Truthy; a missing name is falsy), with `a` (or the
//                        element) as the innermost item
//   {{^a}}…{{/a}}        once if `a` is falsy or missing
//   {{! comment}}        nothing
//   {{@index}}, {{@first}}, {{@last}}   the innermost loop's position, e.g. to put commas
//                        between elements: {{#items}}{{.}}{{^@last}},{{/@last}}{{/items}}
// Text outside tags, whitespace included, is copied as written. Partials ({{> x}}) and
// delimiter changes ({{=<% %>=}}) are not supported.
class Template {
 public:
  // INVALID_ARGUMENT "<field>: <problem> at offset <n>" for syntax errors (unclosed tags or
  // sections, mismatched closers, bad names, unknown helpers or bad helper arguments,
  // unsupported tags), sections nested deeper than
  // max_depth, or text larger than max_template_bytes.
  static absl::StatusOr<Template> Parse(absl::string_view text, TemplateOptions options = {});

  // Appends the rendering over `context` (usually {"event": {...}, "data": <payload>}) to
  // `out`. FAILED_PRECONDITION "<field>: <name> is missing" when a variable has no value,
  // or (Escape::kUrl) "<field>: <name> is empty" when it renders empty; OUT_OF_RANGE when the
  // output exceeds max_output_bytes or the work exceeds max_steps. On error `out` holds a partial
  // rendering.
  absl::Status Render(const Value& context, std::string* out) const;
  absl::StatusOr<std::string> Render(const Value& context) const;

  const TemplateOptions& options() const { return *options_; }

  struct Node;  // the syntax tree, defined in template.cc

 private:
  Template(std::shared_ptr<const Node> root, std::shared_ptr<const TemplateOptions> options)
      : root_(std::move(root)), options_(std::move(options)) {}

  std::shared_ptr<const Node> root_;
  std::shared_ptr<const TemplateOptions> options_;
};

}  // namespace hookrelay::render
