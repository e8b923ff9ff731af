#pragma once

// Polling helpers for tests of I/O: wait for a condition with a deadline instead of sleeping,
// and pick a free loopback port instead of a fixed one. Thread-safe.

#include <functional>

#include "absl/time/time.h"

namespace hookrelay::testing {

// Evaluates `condition` every `poll` until it returns true (returns true) or `timeout` has
// passed (returns the result of one last evaluation). Evaluates at least once.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout,
             absl::Duration poll = absl::Milliseconds(5));

// Returns a TCP port that was free on 127.0.0.1 a moment ago (bind 127.0.0.1:0, read the
// port, close). Another process may take it before the caller binds it: retry on EADDRINUSE.
// Returns 0 only if no socket could be bound at all.
int FreeLoopbackPort();

}  // namespace hookrelay::testing
