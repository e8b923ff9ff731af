#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hookrelay::core {

// Time-sortable identifiers in the ULID layout (48-bit unix milliseconds followed by 80
// random bits, Crockford base32, 26 characters) behind a type prefix: "wh_", "evt_", "dlv_".
// Ids made later sort after ids made earlier (to the millisecond). Thread-safe.
std::string NewId(absl::string_view prefix, absl::Time now);

// True if `id` is `prefix` followed by 26 Crockford base32 characters.
bool IsValidId(absl::string_view id, absl::string_view prefix);

inline constexpr absl::string_view kWebhookIdPrefix = "wh_";
inline constexpr absl::string_view kEventIdPrefix = "evt_";
inline constexpr absl::string_view kDeliveryIdPrefix = "dlv_";
inline constexpr absl::string_view kApiKeyIdPrefix = "key_";

}  // namespace hookrelay::core
