#include "libs/core/clock.h"

namespace hookrelay::core {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

Clock& Clock::Real() {
  static RealClock* clock = new RealClock();
  return *clock;
}

absl::Time SimulatedClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void SimulatedClock::Advance(absl::Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
}

void SimulatedClock::Set(absl::Time t) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = t;
}

}  // namespace hookrelay::core
