#pragma once

#include "absl/strings/string_view.h"

namespace hookrelay::store {

// Field names of the delivery record hash (KeySchema::Delivery). Short, because there is
// one record per delivery. The publish script writes the same names.
namespace dlv {
inline constexpr absl::string_view kStatus = "s";        // hookrelay.v1.DeliveryStatus number
inline constexpr absl::string_view kHook = "h";          // webhook id
inline constexpr absl::string_view kEvent = "e";         // event id
inline constexpr absl::string_view kType = "ty";         // event type
inline constexpr absl::string_view kCreated = "c";       // unix ms
inline constexpr absl::string_view kUpdated = "u";       // unix ms
inline constexpr absl::string_view kAttempts = "n";      // attempts made
inline constexpr absl::string_view kLastStatus = "hs";   // last HTTP status, 0 = none
inline constexpr absl::string_view kLastError = "ec";    // hookrelay.v1.ErrorClass number
inline constexpr absl::string_view kNextAttempt = "nx";  // unix ms of the next retry
inline constexpr absl::string_view kTest = "t";          // "1": sent by TestWebhook
// Fields "a<number>.<attempt id>": serialized hookrelay.v1.Attempt, one per attempt made.
// Kept in the record rather than a list of its own: one command and no second key (and
// TTL) per delivery. No other field name starts with this.
inline constexpr absl::string_view kAttemptPrefix = "a";
// The record's fields without the attempts, for listings.
inline constexpr absl::string_view kSummary[] = {kStatus,    kHook,        kEvent,    kType,
                                                 kCreated,   kUpdated,     kAttempts, kLastStatus,
                                                 kLastError, kNextAttempt, kTest};
}  // namespace dlv

}  // namespace hookrelay::store
