#pragma once

#include <condition_variable>
#include <mutex>

#include "absl/time/time.h"

namespace hookrelay::core {

// A one-shot event one thread waits for and another signals, as absl::Notification, on
// std::mutex: Debian's Abseil is not built for ThreadSanitizer, which then cannot see that
// an absl::Notification orders the notifier's writes before the waiter's reads (tests/run.sh
// runs the threaded suites under TSan). Thread-safe.
class Notification {
 public:
  // Notifies under the lock: a waiter may destroy this as soon as it sees `notified_`.
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
    cv_.notify_all();
  }
  bool HasBeenNotified() const {
    std::lock_guard<std::mutex> lock(mu_);
    return notified_;
  }
  void WaitForNotification() const {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return notified_; });
  }
  // False if `timeout` passed first.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return notified_; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool notified_ = false;
};

}  // namespace hookrelay::core
