#include "libs/render/template.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/render/template_node.h"

namespace hookrelay::render {
namespace {

using Node = Template::Node;

// One {{...}} tag as written.
struct Tag {
  char sigil = 0;  // 0 (variable), '{' (triple), '&', '#', '^', '/', '!', '>', '='
  std::string name;
  size_t offset = 0;  // of "{{"
  size_t end = 0;     // one past the closing braces
};

bool IsNameChar(char c) {
  return !absl::ascii_isspace(static_cast<unsigned char>(c)) && c != '{' && c != '}' && c != '.';
}

bool IsSigil(char c) { return absl::string_view("#^/!&>=").find(c) != absl::string_view::npos; }

// Parses the template text into a tree: a flat scan for tags, with a stack of open sections.
class Parser {
 public:
  Parser(absl::string_view text, const TemplateOptions& options) : text_(text), options_(options) {}

  absl::Status Run(Node* root) {
    open_.push_back(root);
    size_t pos = 0;
    while (pos < text_.size()) {
      const size_t open = text_.find("{{", pos);
      AddText(text_.substr(pos, open == absl::string_view::npos ? open : open - pos));
      if (open == absl::string_view::npos) break;
      absl::StatusOr<Tag> tag = ReadTag(open);
      if (!tag.ok()) return tag.status();
      if (absl::Status st = AddTag(*tag); !st.ok()) return st;
      pos = tag->end;
    }
    if (open_.size() > 1) {
      const Node& section = *open_.back();
      return Error(section.offset, absl::StrCat("unclosed section {{",
                                                section.kind == Node::Kind::kSection ? "#" : "^",
                                                section.text, "}}"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(size_t offset, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(options_.field, ": ", what, " at offset ", offset));
  }

  absl::StatusOr<Tag> ReadTag(size_t open) const {
    Tag tag;
    tag.offset = open;
    size_t start = open + 2;
    absl::string_view closer = "}}";
    if (start < text_.size() && text_[start] == '{') {
      tag.sigil = '{';
      closer = "}}}";
      ++start;
    }
    const size_t close = text_.find(closer, start);
    if (close == absl::string_view::npos) {
      return Error(open, absl::StrCat("unclosed tag (no \"", closer, "\")"));
    }
    tag.end = close + closer.size();
    absl::string_view body = absl::StripAsciiWhitespace(text_.substr(start, close - start));
    if (tag.sigil == 0 && !body.empty() && IsSigil(body[0])) {
      tag.sigil = body[0];
      body = absl::StripLeadingAsciiWhitespace(body.substr(1));
    }
    tag.name = std::string(body);
    return tag;
  }

  absl::Status AddTag(const Tag& tag) {
    switch (tag.sigil) {
      case '!':
        return absl::OkStatus();
      case '>':
        return Error(tag.offset, "partials ({{> name}}) are not supported");
      case '=':
        return Error(tag.offset, "delimiter changes ({{=...=}}) are not supported");
      case '/':
        return CloseSection(tag);
      default:
        break;
    }
    Node node;
    node.offset = tag.offset;
    absl::Status st = ParseName(tag, &node);
    if (!st.ok()) return st;
    node.in_json_string = in_string_;
    if (tag.sigil == '#' || tag.sigil == '^') return OpenSection(tag, std::move(node));
    node.kind = (tag.sigil == '{' || tag.sigil == '&') ? Node::Kind::kRaw : Node::Kind::kVariable;
    open_.back()->children.push_back(std::move(node));
    return absl::OkStatus();
  }

  // Fills the node's name and path from a tag holding a name, or (variables only) a helper
  // call "truncate <name> <N>".
  absl::Status ParseName(const Tag& tag, Node* node) const {
    std::vector<absl::string_view> words =
        absl::StrSplit(tag.name, absl::ByAnyChar(" \t\n\v\f\r"), absl::SkipEmpty());
    if (words.size() <= 1) {
      node->text = tag.name;
      return SplitName(tag.offset, tag.name, &node->path);
    }
    if (words[0] != "truncate") {
      return Error(tag.offset, absl::StrCat("unknown helper \"", words[0], "\" in \"", tag.name,
                                            "\" (the only helper is truncate)"));
    }
    if (tag.sigil == '#' || tag.sigil == '^') {
      return Error(tag.offset, "truncate stands only in variable tags, not in sections");
    }
    int64_t length = 0;
    if (words.size() != 3 || !absl::SimpleAtoi(words[2], &length) || length < 1 ||
        length > kMaxTruncateLength) {
      return Error(tag.offset,
                   absl::StrCat("truncate takes a name and a length of 1 to ", kMaxTruncateLength,
                                ", e.g. {{truncate data.text 200}}"));
    }
    node->text = std::string(words[1]);
    node->truncate = static_cast<size_t>(length);
    return SplitName(tag.offset, words[1], &node->path);
  }

  absl::Status SplitName(size_t offset, absl::string_view name,
                         std::vector<std::string>* path) const {
    if (name.empty()) return Error(offset, "empty tag");
    if (name == ".") return absl::OkStatus();
    for (absl::string_view segment : absl::StrSplit(name, '.')) {
      if (segment.empty() || !std::all_of(segment.begin(), segment.end(), IsNameChar)) {
        return Error(offset, absl::StrCat("invalid name \"", name, "\""));
      }
      path->emplace_back(segment);
    }
    return absl::OkStatus();
  }

  absl::Status OpenSection(const Tag& tag, Node node) {
    if (static_cast<int>(open_.size()) > options_.max_depth) {
      return Error(tag.offset,
                   absl::StrCat("sections nested deeper than ", options_.max_depth, " levels"));
    }
    node.kind = tag.sigil == '#' ? Node::Kind::kSection : Node::Kind::kInverted;
    // The parent gains no child while this section is open, so the pointer stays valid.
    open_.push_back(&open_.back()->children.emplace_back(std::move(node)));
    return absl::OkStatus();
  }

  absl::Status CloseSection(const Tag& tag) {
    if (open_.size() == 1) {
      return Error(tag.offset, absl::StrCat("{{/", tag.name, "}} closes no open section"));
    }
    const Node& section = *open_.back();
    if (section.text != tag.name) {
      return Error(tag.offset,
                   absl::StrCat("{{/", tag.name, "}} does not match section {{",
                                section.kind == Node::Kind::kSection ? "#" : "^", section.text,
                                "}} (opened at offset ", section.offset, ")"));
    }
    open_.pop_back();
    return absl::OkStatus();
  }

  // Appends literal text, tracking whether JSON templates are inside a string literal.
  void AddText(absl::string_view s) {
    if (s.empty()) return;
    if (options_.escape == Escape::kJson) {
      for (char c : s) {
        if (escaped_) {
          escaped_ = false;
        } else if (in_string_ && c == '\\') {
          escaped_ = true;
        } else if (c == '"') {
          in_string_ = !in_string_;
        }
      }
    }
    std::vector<Node>& siblings = open_.back()->children;
    if (!siblings.empty() && siblings.back().kind == Node::Kind::kText) {
      absl::StrAppend(&siblings.back().text, s);
      return;
    }
    Node node;
    node.kind = Node::Kind::kText;
    node.text = std::string(s);
    siblings.push_back(std::move(node));
  }

  const absl::string_view text_;
  const TemplateOptions& options_;
  std::vector<Node*> open_;  // the root, then the open sections, innermost last
  bool in_string_ = false;
  bool escaped_ = false;
};

}  // namespace

absl::StatusOr<Template> Template::Parse(absl::string_view text, TemplateOptions options) {
  if (text.size() > options.max_template_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.field, ": larger than ", options.max_template_bytes, " bytes"));
  }
  auto root = std::make_shared<Node>();
  absl::Status st = Parser(text, options).Run(root.get());
  if (!st.ok()) return st;
  return Template(std::move(root), std::make_shared<const TemplateOptions>(std::move(options)));
}

absl::StatusOr<std::string> Template::Render(const Value& context) const {
  std::string out;
  absl::Status st = Render(context, &out);
  if (!st.ok()) return st;
  return out;
}

}  // namespace hookrelay::render
