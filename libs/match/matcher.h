#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"
#include "hookrelay/v1/resources.pb.h"

namespace hookrelay::match {

// True if `pattern` ("*", an exact type, or a prefix such as "review.*") covers `type`.
bool EventTypeMatches(absl::string_view pattern, absl::string_view type);

// True if the hook is enabled, subscribes to `type`, and every attribute filter holds.
bool HookMatches(const v1::Webhook& hook, absl::string_view type,
                 const google::protobuf::Map<std::string, std::string>& attributes);

// Event types are dot-separated segments of [A-Za-z0-9_-], at most 128 characters.
// INVALID_ARGUMENT naming `field` otherwise.
absl::Status ValidateEventType(absl::string_view type, absl::string_view field);
// A subscription is an event type, "*", or an event type followed by ".*".
absl::Status ValidateEventTypePattern(absl::string_view pattern, absl::string_view field);

}  // namespace hookrelay::match
