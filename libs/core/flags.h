#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace hookrelay::core {

// For `main()` only: sets every defined absl flag from the environment variable
// HOOKRELAY_<FLAG_IN_CAPITALS> when that variable exists, then parses argv (so a flag on the
// command line wins over the environment). Returns INVALID_ARGUMENT naming the variable when
// a value does not parse. Returns the positional arguments.
absl::Status ParseFlagsWithEnvironment(int argc, char** argv, const char* usage,
                                       std::vector<std::string>* positional);

// Name of the environment variable that sets `flag_name`.
std::string EnvironmentVariableForFlag(const std::string& flag_name);

}  // namespace hookrelay::core
