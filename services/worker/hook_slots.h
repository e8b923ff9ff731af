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

// Keeps one slow, dead or busy endpoint from holding up the others. At most `per_hook`
// requests are in flight to a hook; up to `queue_per_hook` more wait in the hook's queue and
// start as its requests finish; any more are put off (kDefer: back to the retry set for a
// second), so one hook holds at most per_hook + queue_per_hook of the worker's read window
// and the reader always has room for other hooks. A busy but healthy hook keeps finishing
// requests, and the reader reads no faster than the window empties, so its jobs queue rather
// than churn. A hook at its limit that finished nothing for `stalled_after` is stalled: its
// queue is handed back (TakeStalled) and new jobs are put off for as long as it has been
// stalled (at least a second, at most `max_defer`), so a dead endpoint's backlog costs a few
// Redis writes rather than the window. A job queued longer than `max_wait` is handed back
// too: its stream entry must be recorded well within the visibility timeout, or another
// worker would reclaim and send it as well. Times come from the caller's clock. Thread-safe.
class HookSlots {
 public:
  struct Options {
    int per_hook = 32;
    int queue_per_hook = 32;
    absl::Duration stalled_after = absl::Seconds(1);
    absl::Duration max_defer = absl::Seconds(30);
    absl::Duration max_wait = absl::Seconds(15);
  };
  explicit HookSlots(Options options) : options_(options) {}

  enum class Admit { kGo, kQueued, kDefer };
  // kGo: a slot is taken, the caller starts `job`. kQueued: `job` was moved into the hook's
  // queue. kDefer: the hook is stalled or its queue full; `job` stays with the caller, its
  // defer_for set to how long to put it off.
  Admit Acquire(const std::string& key, std::unique_ptr<Job>& job, absl::Time now);
  // Frees a slot of `key`. Returns the hook's next queued job, which takes over the slot,
  // or nullptr.
  std::unique_ptr<Job> Release(const std::string& key, absl::Time now);
  // Removes and returns the queued jobs of stalled hooks and those queued longer than
  // max_wait, their defer_for set.
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
    return l.active >= options_.per_hook && now - l.last_progress >= options_.stalled_after;
  }
  absl::Duration DeferFor(const Load& l, absl::Time now) const;

  const Options options_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Load> hooks_;
};

}  // namespace hookrelay::worker
