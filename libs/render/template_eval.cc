// Template::Render: walks the syntax tree over a context with a stack of section items,
// counting steps and output bytes so that any template over any data finishes quickly.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/render/template.h"
#include "libs/render/template_node.h"
#include "libs/render/text.h"

namespace hookrelay::render {
namespace {

using Node = Template::Node;

// One item on the section stack: the context root, a section's value or a loop element.
struct Frame {
  const Value* value = nullptr;
  bool in_loop = false;
  size_t index = 0;  // with in_loop: the element's position and the array's size
  size_t size = 0;
};

class Evaluator {
 public:
  Evaluator(const TemplateOptions& options, const Value& context, std::string* out)
      : options_(options), out_(out), start_(out->size()) {
    // Looked up innermost first: the implicit scope comes last, after the context itself.
    const Value* scope =
        options.implicit_scope.empty() ? nullptr : context.Find(options.implicit_scope);
    if (scope != nullptr && scope->is_object()) frames_.push_back(Frame{scope});
    frames_.push_back(Frame{&context});
  }

  absl::Status Nodes(const std::vector<Node>& nodes) {
    for (const Node& node : nodes) {
      if (absl::Status st = One(node); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status One(const Node& node) {
    if (absl::Status st = Charge(1); !st.ok()) return st;
    switch (node.kind) {
      case Node::Kind::kText:
        out_->append(node.text);
        return CheckOutput();
      case Node::Kind::kVariable:
      case Node::Kind::kRaw:
        return Variable(node);
      case Node::Kind::kSection:
        return Section(node);
      case Node::Kind::kInverted: {
        absl::StatusOr<const Value*> value = Lookup(node);
        if (!value.ok()) return value.status();
        return (*value == nullptr || !(*value)->Truthy()) ? Nodes(node.children) : absl::OkStatus();
      }
      case Node::Kind::kRoot:
        return Nodes(node.children);
    }
    return absl::OkStatus();
  }

  absl::Status Section(const Node& node) {
    absl::StatusOr<const Value*> found = Lookup(node);
    if (!found.ok()) return found.status();
    const Value* value = *found;
    if (value == nullptr || !value->Truthy()) return absl::OkStatus();
    if (!value->is_array()) return WithFrame(Frame{value}, node);
    const size_t size = value->items().size();
    for (size_t i = 0; i < size; ++i) {
      if (absl::Status st = WithFrame(Frame{&value->items()[i], true, i, size}, node); !st.ok()) {
        return st;
      }
    }
    return absl::OkStatus();
  }

  absl::Status WithFrame(Frame frame, const Node& node) {
    if (absl::Status st = Charge(1); !st.ok()) return st;
    frames_.push_back(frame);
    absl::Status st = Nodes(node.children);
    frames_.pop_back();
    return st;
  }

  absl::Status Variable(const Node& node) {
    absl::StatusOr<const Value*> value = Lookup(node);
    if (!value.ok()) return value.status();
    if (*value == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(options_.field, ": ", node.text, " is missing"));
    }
    std::optional<Value> truncated;
    if (node.truncate > 0) truncated = Value::String(Truncate((*value)->ToText(), node.truncate));
    const Value& v = truncated.has_value() ? *truncated : **value;
    const size_t before = out_->size();
    if (node.kind == Node::Kind::kRaw) {
      out_->append(v.ToText());
    } else {
      AppendEscaped(v, node.in_json_string);
    }
    if (options_.escape == Escape::kUrl && out_->size() == before) {
      return absl::FailedPreconditionError(
          absl::StrCat(options_.field, ": ", node.text, " is empty"));
    }
    return CheckOutput();
  }

  void AppendEscaped(const Value& v, bool in_json_string) {
    switch (options_.escape) {
      case Escape::kJson:
        if (!in_json_string) {
          v.AppendJson(out_);
        } else {
          AppendJsonEscaped(out_, v.ToText());
        }
        return;
      case Escape::kUrl:
        AppendPercentEncoded(out_, v.ToText());
        return;
      case Escape::kXml:
        AppendXmlEscaped(out_, v.ToText());
        return;
      case Escape::kForm:
        AppendFormEncoded(out_, v.ToText());
        return;
      case Escape::kNone:
        out_->append(v.ToText());
        return;
    }
  }

  // The value named by `node`, or nullptr if it has none. Errors only when out of steps.
  absl::StatusOr<const Value*> Lookup(const Node& node) {
    const std::vector<std::string>& path = node.path;
    if (path.empty()) return frames_.back().value;
    if (path.size() == 1 && path[0][0] == '@') return LoopVariable(path[0]);
    const Value* value = nullptr;
    for (auto frame = frames_.rbegin(); frame != frames_.rend() && value == nullptr; ++frame) {
      value = Child(*frame->value, path[0]);
    }
    for (size_t i = 1; i < path.size() && value != nullptr; ++i) value = Child(*value, path[i]);
    if (absl::Status st = Charge(0); !st.ok()) return st;
    return value;
  }

  const Value* Child(const Value& parent, absl::string_view segment) {
    steps_ += 1 + static_cast<int64_t>(parent.members().size());
    return parent.Child(segment);
  }

  const Value* LoopVariable(absl::string_view name) {
    static const Value* const kTrue = new Value(Value::Bool(true));
    static const Value* const kFalse = new Value(Value::Bool(false));
    for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame) {
      if (!frame->in_loop) continue;
      if (name == "@first") return frame->index == 0 ? kTrue : kFalse;
      if (name == "@last") return frame->index + 1 == frame->size ? kTrue : kFalse;
      if (name == "@index") {
        index_ = Value::Integer(static_cast<long long>(frame->index));
        return &index_;
      }
      return nullptr;
    }
    return nullptr;
  }

  absl::Status Charge(int64_t steps) {
    steps_ += steps;
    if (steps_ <= options_.max_steps) return absl::OkStatus();
    return absl::OutOfRangeError(
        absl::StrCat(options_.field, ": rendering exceeded ", options_.max_steps, " steps"));
  }

  absl::Status CheckOutput() const {
    if (out_->size() - start_ <= options_.max_output_bytes) return absl::OkStatus();
    return absl::OutOfRangeError(absl::StrCat(options_.field, ": rendered output larger than ",
                                              options_.max_output_bytes, " bytes"));
  }

  const TemplateOptions& options_;
  std::string* const out_;
  const size_t start_;
  std::vector<Frame> frames_;
  int64_t steps_ = 0;
  Value index_;  // holds the value of the last {{@index}} looked up
};

}  // namespace

absl::Status Template::Render(const Value& context, std::string* out) const {
  return Evaluator(*options_, context, out).Nodes(root_->children);
}

}  // namespace hookrelay::render
