#include "libs/core/flags.h"

#include <cctype>
#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::core {

std::string EnvironmentVariableForFlag(const std::string& flag_name) {
  std::string out = "HOOKRELAY_";
  for (char c : flag_name) out.push_back(static_cast<char>(std::toupper(c)));
  return out;
}

absl::Status ParseFlagsWithEnvironment(int argc, char** argv, const char* usage,
                                       std::vector<std::string>* positional) {
  absl::SetProgramUsageMessage(usage);
  for (auto& [name, flag] : absl::GetAllFlags()) {
    const std::string var = EnvironmentVariableForFlag(std::string(name));
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(var, ": ", error));
    }
  }
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (positional != nullptr) {
    for (size_t i = 1; i < rest.size(); ++i) positional->emplace_back(rest[i]);
  }
  return absl::OkStatus();
}

}  // namespace hookrelay::core
