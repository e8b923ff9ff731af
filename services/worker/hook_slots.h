#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "services/worker/job.h"

namespace hookrelay::worker {

// Limits the requests in flight to each hook, so one slow or dead endpoint cannot take every
// slot of the worker. A job over the limit waits in its hook's queue and starts when a
// request of that hook finishes. A hook at its limit that has not finished a request for
// `slow_after` is stalled: its queued jobs are handed back (TakeStalled) and new ones are
// refused (kDefer), to be retried a little later. A busy but healthy hook keeps finishing
// requests, so its jobs queue instead of churning. Thread-safe.
class HookSlots {
 public:
  HookSlots(int per_hook, absl::Duration slow_after)
      : per_hook_(per_hook), slow_after_(slow_after) {}

  enum class Admit { kGo, kQueued, kDefer };
  // kGo: a slot is taken, the caller starts `job`. kQueued: `job` was moved into the hook's
  // queue. kDefer: the hook is stalled; `job` stays with the caller.
  Admit Acquire(const std::string& key, std::unique_ptr<Job>& job, absl::Time now);
  // Frees a slot of `key`. Returns the hook's next queued job, which takes over the slot,
  // or nullptr.
  std::unique_ptr<Job> Release(const std::string& key, absl::Time now);
  // Removes and returns the queued jobs of stalled hooks.
  std::vector<std::unique_ptr<Job>> TakeStalled(absl::Time now);
  // Removes and returns every queued job (shutdown).
  std::vector<std::unique_ptr<Job>> TakeAll();

 private:
  struct Load {
    int active = 0;
    absl::Time last_progress;
    std::deque<std::unique_ptr<Job>> queued;
  };
  bool Stalled(const Load& l, absl::Time now) const {
    return l.active >= per_hook_ && now - l.last_progress >= slow_after_;
  }

  const int per_hook_;
  const absl::Duration slow_after_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Load> hooks_;
};

}  // namespace hookrelay::worker
