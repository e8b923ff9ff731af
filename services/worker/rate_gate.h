#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/queue/rate_limiter.h"
#include "services/worker/job.h"

namespace hookrelay::worker {

// Holds the deliveries of hooks with a rate limit, or paused by a receiver's Retry-After,
// until they may go; like HookSlots (which they pass next), it keeps one hook's wait from
// holding up the others. Per hook, jobs wait in arrival order; the gate asks the shared
// limiter (queue::RateLimiter, through the caller: Requests/Grant) for tokens for all the
// jobs waiting without one, once per hook and round, and releases each job at its token's
// time (TakeDue). Waiting is not an attempt: a job is sent, or put off (kDeferred, back to
// the retry set with the same attempt number), never failed by the gate. A hook holds at
// most queue_per_hook jobs here and the gate max_held in all; more are put off for about the
// time the limit needs to reach them, spaced by the hook's interval so they come back in
// order and at its pace. A pause longer than max_hold, or a job without a token for
// max_hold, is put off too: a held job's stream entry must be recorded well within the
// visibility timeout. Times come from the caller's clock. Thread-safe.
class RateGate {
 public:
  struct Options {
    int queue_per_hook = 32;
    int max_held = 128;
    // How far ahead a round reserves tokens at most.
    absl::Duration horizon = absl::Seconds(1);
    // While its tokens are taken, a hook asks again when the next frees, but not more often.
    absl::Duration ask_every = absl::Milliseconds(250);
    absl::Duration max_hold = absl::Seconds(5);
  };
  explicit RateGate(Options options) : options_(options) {}

  // Whether `job` (its hook fetched) must pass the gate: its hook has a limit or is paused.
  // Costs unlimited hooks one atomic load while no hook is paused.
  bool Holds(const Job& job);
  // Takes a job Holds() accepted. Returns it back, kind kDeferred with defer_for set, when
  // it is put off instead.
  std::unique_ptr<Job> Admit(std::unique_ptr<Job> job, absl::Time now);
  // No job of hook `key` ("<tenant>/<hook id>") leaves before `until`; the tokens its jobs
  // hold are dropped (they ask again after the pause). Returns whether this moved the
  // hook's pause later.
  bool Pause(const std::string& key, absl::Time until);

  // Token requests for the hooks with jobs waiting without a token (one each), marked as
  // asked until Grant() or Failed() answers them.
  std::vector<queue::RateRequest> Requests(absl::Time now);
  void Grant(absl::Span<const queue::RateRequest> requests,
             absl::Span<const queue::RateGrant> grants, absl::Time now);
  void Failed(absl::Span<const queue::RateRequest> requests, absl::Time now);
  // The jobs whose time came, in arrival order per hook, and those put off (kDeferred).
  std::vector<std::unique_ptr<Job>> TakeDue(absl::Time now);
  // When the gate next has something to do (InfiniteFuture: nothing held).
  absl::Time NextWake(absl::Time now);
  // Removes every held job (shutdown).
  std::vector<std::unique_ptr<Job>> TakeAll();
  int held();

  // For the gate's thread: waits until Notify() or `timeout`.
  void Wait(absl::Duration timeout);
  void Notify();

 private:
  struct Held {
    std::unique_ptr<Job> job;
    absl::Time send_at = absl::InfiniteFuture();  // no token yet
  };
  struct Hook {
    std::string tenant;
    std::string hook_id;
    std::optional<queue::RateSpec> spec;  // none: held only while paused
    std::deque<Held> queue;
    int reserved = 0;  // the first `reserved` jobs have a token
    bool asking = false;
    absl::Time ask_at = absl::InfinitePast();
    absl::Time paused_until = absl::InfinitePast();
    absl::Time defer_tail = absl::InfinitePast();  // the last put-off job's due time
    absl::Time next_free = absl::InfinitePast();   // the next token free, as of the last grant
  };
  // Puts `job` off for about the time the hook needs to reach it.
  std::unique_ptr<Job> Defer(Hook& h, std::unique_ptr<Job> job, absl::Time earliest,
                             absl::Time now);
  void TakeHookDue(Hook& h, absl::Time now, std::vector<std::unique_ptr<Job>>* out);
  absl::Duration Spacing(const Hook& h) const;
  // The jobs the hook may hold: a second of its rate, at least queue_per_hook, at most
  // max_held.
  int Cap(const Hook& h) const;

  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
  absl::flat_hash_map<std::string, Hook> hooks_;
  std::atomic<int> hooks_count_{0};  // hooks_.size(), for Holds()' fast path
  int held_ = 0;
};

}  // namespace hookrelay::worker
