#pragma once

namespace hookrelay::core {

// Blocks SIGTERM and SIGINT in the calling thread (call first in main, before any thread
// starts, so every thread inherits the mask) and returns. WaitForShutdownSignal() then
// returns the signal number once one arrives.
void BlockShutdownSignals();
int WaitForShutdownSignal();

}  // namespace hookrelay::core
