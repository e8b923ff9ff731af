#pragma once

// Internal to libs/render: the syntax tree of a Template, shared by its parser
// (template.cc) and its evaluator (template_eval.cc).

#include <cstddef>
#include <string>
#include <vector>

#include "libs/render/template.h"

namespace hookrelay::render {

struct Template::Node {
  enum class Kind { kRoot, kText, kVariable, kRaw, kSection, kInverted };
  Kind kind = Kind::kRoot;
  // The literal text (kText) or the name as written ("data.review.title").
  std::string text;
  // The name split at '.'; empty for "." (the current item).
  std::vector<std::string> path;
  // kVariable with Escape::kJson: the tag stands inside a "..." literal of the template.
  bool in_json_string = false;
  // kVariable and kRaw: {{truncate name N}} cuts the value's text to `truncate` UTF-16
  // units; 0 for a plain variable.
  size_t truncate = 0;
  size_t offset = 0;  // of the tag's "{{" in the template text
  std::vector<Node> children;
};

}  // namespace hookrelay::render
