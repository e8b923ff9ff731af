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
  size_t offset = 0;  // of the tag's "{{" in the template text
  std::vector<Node> children;
};

}  // namespace hookrelay::render
