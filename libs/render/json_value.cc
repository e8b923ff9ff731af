#include "libs/render/json_value.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/render/text.h"
#include "nlohmann/json.hpp"

namespace hookrelay::render {
namespace {

// nlohmann SAX handler that builds a Value, refusing documents deeper than `max_depth`.
class Builder {
 public:
  using Json = nlohmann::json;
  explicit Builder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return Insert(Value()) != nullptr; }
  bool boolean(bool b) { return Insert(Value::Bool(b)) != nullptr; }
  bool number_integer(Json::number_integer_t n) { return Insert(Value::Integer(n)) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t n) {
    return Insert(Value::Number(absl::StrCat(n))) != nullptr;
  }
  bool number_float(Json::number_float_t, const std::string& text) {
    return Insert(Value::Number(text)) != nullptr;
  }
  bool string(std::string& s) { return Insert(Value::String(std::move(s))) != nullptr; }
  bool binary(Json::binary_t&) { return false; }
  bool start_object(size_t) { return Open(Value::Object()); }
  bool key(std::string& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(size_t) { return Open(Value::Array()); }
  bool end_array() { return Close(); }
  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception&) {
    error_position_ = position;
    return false;
  }

  bool too_deep() const { return too_deep_; }
  size_t error_position() const { return error_position_; }
  Value& root() { return root_; }

 private:
  Value* Insert(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Value* top = stack_.back();
    return top->is_array() ? &top->Push(std::move(v)) : &top->Add(std::move(key_), std::move(v));
  }
  bool Open(Value container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    stack_.push_back(Insert(std::move(container)));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }

  const int max_depth_;
  Value root_;
  // Open containers, outermost first. A parent gains no element while a child is open, so
  // these pointers stay valid.
  std::vector<Value*> stack_;
  std::string key_;
  bool too_deep_ = false;
  size_t error_position_ = 0;
};

}  // namespace

Value Value::Bool(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}

Value Value::Number(std::string json_text) {
  Value v;
  v.type_ = Type::kNumber;
  v.text_ = std::move(json_text);
  return v;
}

Value Value::Integer(long long n) { return Number(absl::StrCat(n)); }

Value Value::String(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.text_ = std::move(s);
  return v;
}

Value Value::Array() {
  Value v;
  v.type_ = Type::kArray;
  return v;
}

Value Value::Object() {
  Value v;
  v.type_ = Type::kObject;
  return v;
}

absl::StatusOr<Value> Value::Parse(absl::string_view json, int max_depth, absl::string_view field) {
  Builder builder(max_depth);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(json.begin(), json.end(), &builder);
  } catch (const nlohmann::json::exception& e) {  // not expected: the handler never throws
    return absl::InvalidArgumentError(absl::StrCat(field, ": is not valid JSON (", e.what(), ")"));
  }
  if (builder.too_deep()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": nested deeper than ", max_depth, " levels"));
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": is not valid JSON (error near byte ",
                                                   builder.error_position(), ")"));
  }
  return std::move(builder.root());
}

const Value* Value::Find(absl::string_view key) const {
  for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

Value* Value::FindMutable(absl::string_view key) {
  return const_cast<Value*>(static_cast<const Value*>(this)->Find(key));
}

const Value* Value::Child(absl::string_view segment) const {
  if (type_ == Type::kObject) return Find(segment);
  size_t index = 0;
  if (type_ != Type::kArray || segment.empty() || !absl::ascii_isdigit(segment[0]) ||
      !absl::SimpleAtoi(segment, &index) || index >= items_.size()) {
    return nullptr;
  }
  return &items_[index];
}

Value& Value::Push(Value v) {
  items_.push_back(std::move(v));
  return items_.back();
}

Value& Value::Add(std::string key, Value v) {
  members_.emplace_back(std::move(key), std::move(v));
  return members_.back().second;
}

bool Value::Truthy() const {
  switch (type_) {
    case Type::kNull:
      return false;
    case Type::kBool:
      return bool_;
    case Type::kNumber: {
      double d = 0;
      return !absl::SimpleAtod(text_, &d) || d != 0;
    }
    case Type::kString:
      return !text_.empty();
    case Type::kArray:
      return !items_.empty();
    case Type::kObject:
      return true;
  }
  return false;
}

void Value::AppendJson(std::string* out) const {
  switch (type_) {
    case Type::kNull:
      out->append("null");
      return;
    case Type::kBool:
      out->append(bool_ ? "true" : "false");
      return;
    case Type::kNumber:
      out->append(text_);
      return;
    case Type::kString:
      AppendJsonString(out, text_);
      return;
    case Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) out->push_back(',');
        items_[i].AppendJson(out);
      }
      out->push_back(']');
      return;
    case Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(out, members_[i].first);
        out->push_back(':');
        members_[i].second.AppendJson(out);
      }
      out->push_back('}');
      return;
  }
}

std::string Value::ToJson() const {
  std::string out;
  AppendJson(&out);
  return out;
}

std::string Value::ToText() const {
  switch (type_) {
    case Type::kNull:
      return "";
    case Type::kBool:
      return bool_ ? "true" : "false";
    case Type::kNumber:
    case Type::kString:
      return text_;
    default:
      return ToJson();
  }
}

}  // namespace hookrelay::render
