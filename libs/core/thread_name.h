#pragma once

#include "absl/strings/string_view.h"

namespace hookrelay::core {

// Names the calling thread (at most 15 characters are kept), so `top -H`, `perf` and
// /proc/<pid>/task/*/comm tell the worker's and registry's threads apart.
void NameThisThread(absl::string_view name);

}  // namespace hookrelay::core
