#pragma once

#include "absl/time/time.h"

namespace hookrelay::core {

// Blocks SIGTERM and SIGINT in the calling thread (call first in main, before any thread
// starts, so every thread inherits the mask) and returns. WaitForShutdownSignal() then
// returns the signal number once one arrives.
void BlockShutdownSignals();
int WaitForShutdownSignal();
// Waits at most `timeout`: the signal's number, or 0 if none arrived.
int WaitForShutdownSignalFor(absl::Duration timeout);

}  // namespace hookrelay::core
