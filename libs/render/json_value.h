#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hookrelay::render {

// A JSON value that keeps object members in document order (the order the publisher wrote
// them), so the XML, chat and template renderers produce deterministic output. Numbers keep
// their source text and re-serialize exactly. Member lookup is linear (last duplicate
// wins); callers that look up in a loop bound their work (see Template). Parsing is
// linear in the input, never recursive, and bounded in depth, so every recursive walk over
// a parsed value is bounded too. Not thread-safe to mutate; const access is.
class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, Value>;

  Value() = default;  // null
  static Value Bool(bool b);
  static Value Number(std::string json_text);  // `json_text` must be a JSON number
  static Value Integer(long long n);
  static Value String(std::string s);
  static Value Array();
  static Value Object();

  // Parses JSON text (RFC 8259, whole input). INVALID_ARGUMENT "<field>: is not valid JSON
  // (...)" or "<field>: nested deeper than <max_depth> levels".
  static absl::StatusOr<Value> Parse(absl::string_view json, int max_depth,
                                     absl::string_view field);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_scalar() const { return type_ != Type::kArray && type_ != Type::kObject; }
  bool boolean() const { return bool_; }
  // A string's value or a number's JSON text; empty for other types.
  const std::string& text() const { return text_; }
  const std::vector<Value>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }

  // The value of the last member named `key`; nullptr if absent or not an object.
  const Value* Find(absl::string_view key) const;
  // Member `segment` of an object, or element `segment` (decimal) of an array.
  const Value* Child(absl::string_view segment) const;

  // Appends to an array / an object; returns the added value.
  Value& Push(Value v);
  Value& Add(std::string key, Value v);

  // For callers that edit a parsed document in place (see chat_limits.h).
  Value* FindMutable(absl::string_view key);
  std::vector<Value>& mutable_items() { return items_; }
  std::vector<Member>& mutable_members() { return members_; }

  // Falsy: null, false, 0, "", []. Everything else (objects included) is truthy.
  bool Truthy() const;
  // Appends compact JSON (no spaces), members in order.
  void AppendJson(std::string* out) const;
  std::string ToJson() const;
  // Scalars as text: strings as they are, numbers, "true"/"false", "" for null; arrays and
  // objects as compact JSON.
  std::string ToText() const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<Value> items_;
  std::vector<Member> members_;
};

}  // namespace hookrelay::render
