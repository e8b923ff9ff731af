#pragma once

// Which key a Redis command routes by in a cluster, read from the RESP bytes a Pipeline
// holds. Internal to libs/store.

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"

namespace hookrelay::store::internal {

// The arguments of the RESP command at `offset` in `buffer` (views into it); `*end` is set to
// the offset after it. Empty on malformed input.
std::vector<absl::string_view> ParseCommand(absl::string_view buffer, size_t offset, size_t* end);

// The key a command's node is chosen by (the first key it names), or nullopt for commands
// that name none (PING, MULTI, EXEC, UNWATCH, PUBLISH, WAIT, ...).
std::optional<absl::string_view> RouteKey(const std::vector<absl::string_view>& argv);

// Whether `argv` is the command `name` (case-insensitive).
bool IsCommand(const std::vector<absl::string_view>& argv, absl::string_view name);

}  // namespace hookrelay::store::internal
