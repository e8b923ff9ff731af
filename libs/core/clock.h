#pragma once

#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace hookrelay::core {

// Source of the current time. Passed in by reference so logic can be tested with a
// simulated clock. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // The process-wide real clock.
  static Clock& Real();
};

// A clock that moves only when told to. Thread-safe.
class SimulatedClock : public Clock {
 public:
  explicit SimulatedClock(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}
  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace hookrelay::core
