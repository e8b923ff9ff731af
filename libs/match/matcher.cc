#include "libs/match/matcher.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::match {
namespace {

constexpr size_t kMaxTypeLength = 128;

bool IsTypeChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }

bool FilterHolds(const v1::AttributeFilter& f,
                 const google::protobuf::Map<std::string, std::string>& attributes) {
  auto it = attributes.find(f.key());
  if (f.absent()) return it == attributes.end();
  if (it == attributes.end()) return false;
  if (f.any_of().empty()) return true;  // present with any value
  return std::find(f.any_of().begin(), f.any_of().end(), it->second) != f.any_of().end();
}

}  // namespace

bool EventTypeMatches(absl::string_view pattern, absl::string_view type) {
  if (pattern == "*") return true;
  if (absl::EndsWith(pattern, ".*")) {
    pattern.remove_suffix(1);  // keep the dot: "review." matches "review.created"
    return absl::StartsWith(type, pattern) && type.size() > pattern.size();
  }
  return pattern == type;
}

bool HookMatches(const v1::Webhook& hook, absl::string_view type,
                 const google::protobuf::Map<std::string, std::string>& attributes) {
  if (!hook.enabled()) return false;
  bool subscribed = false;
  for (const std::string& pattern : hook.event_types()) {
    if (EventTypeMatches(pattern, type)) {
      subscribed = true;
      break;
    }
  }
  if (!subscribed) return false;
  for (const v1::AttributeFilter& f : hook.filters()) {
    if (!FilterHolds(f, attributes)) return false;
  }
  return true;
}

absl::Status ValidateEventType(absl::string_view type, absl::string_view field) {
  if (type.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": must not be empty"));
  if (type.size() > kMaxTypeLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": longer than 128 characters"));
  }
  bool segment_empty = true;
  for (char c : type) {
    if (c == '.') {
      if (segment_empty) break;
      segment_empty = true;
    } else if (IsTypeChar(c)) {
      segment_empty = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": \"", type, "\" may hold only letters, digits, '_', '-' and '.'"));
    }
  }
  if (segment_empty) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", type, "\" has an empty segment"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEventTypePattern(absl::string_view pattern, absl::string_view field) {
  if (pattern == "*") return absl::OkStatus();
  if (absl::EndsWith(pattern, ".*")) pattern.remove_suffix(2);
  return ValidateEventType(pattern, field);
}

}  // namespace hookrelay::match
