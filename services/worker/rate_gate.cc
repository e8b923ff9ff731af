#include "services/worker/rate_gate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace hookrelay::worker {
namespace {

// A put-off job comes back no sooner than this: the retry set's promoter runs every few
// hundred ms, and each put-off costs Redis a write and a move.
constexpr absl::Duration kMinDefer = absl::Milliseconds(100);
// Put-off jobs of a hook without a limit (paused) are spaced this far apart, to keep order.
constexpr absl::Duration kPausedSpacing = absl::Milliseconds(1);

}  // namespace

bool RateGate::Holds(const Job& job) {
  if (job.hook != nullptr && job.hook->hook.has_rate_limit()) return true;
  if (hooks_count_.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return hooks_.contains(job.HookKey());
}

int RateGate::Cap(const Hook& h) const {
  if (!h.spec.has_value()) return options_.queue_per_hook;
  const int64_t second = absl::Seconds(1) / h.spec->interval;  // a second of the hook's rate
  return static_cast<int>(std::clamp<int64_t>(
      second, options_.queue_per_hook, std::max(options_.queue_per_hook, options_.max_held)));
}

absl::Duration RateGate::Spacing(const Hook& h) const {
  return h.spec.has_value() ? h.spec->interval : kPausedSpacing;
}

std::unique_ptr<Job> RateGate::Defer(Hook& h, std::unique_ptr<Job> job, absl::Time earliest,
                                     absl::Time now) {
  const absl::Time due =
      std::max({earliest, now + kMinDefer, std::max(h.defer_tail, now) + Spacing(h)});
  h.defer_tail = due;
  job->kind = Job::Kind::kDeferred;
  job->rate_deferred = true;
  job->defer_for = due - now;
  job->rate_waited += due - now;
  return job;
}

std::unique_ptr<Job> RateGate::Admit(std::unique_ptr<Job> job, absl::Time now) {
  const std::string key = job->HookKey();
  std::lock_guard<std::mutex> lock(mu_);
  Hook& h = hooks_[key];
  hooks_count_.store(static_cast<int>(hooks_.size()), std::memory_order_release);
  if (h.tenant.empty()) {
    h.tenant = job->task.tenant();
    h.hook_id = job->task.webhook_id();
  }
  if (job->hook != nullptr && job->hook->hook.has_rate_limit()) {
    h.spec = queue::RateSpec::Of(job->hook->hook.rate_limit());
  } else {
    h.spec.reset();
  }
  const absl::Time resume = std::max(now, h.paused_until);
  if (static_cast<int>(h.queue.size()) >= Cap(h) || held_ >= options_.max_held ||
      resume - now > options_.max_hold) {
    // About when the jobs held before it will have gone: after the tokens reserved so far
    // (by every worker: the last grant's next free token), one interval each.
    const absl::Duration drain = Spacing(h) * static_cast<int64_t>(h.queue.size() - h.reserved);
    return Defer(h, std::move(job), std::max(resume, h.next_free) + drain, now);
  }
  job->held_at = now;
  h.queue.push_back(Held{std::move(job)});
  ++held_;
  notified_ = true;
  cv_.notify_one();
  return nullptr;
}

bool RateGate::Pause(const std::string& key, absl::Time until) {
  std::lock_guard<std::mutex> lock(mu_);
  Hook& h = hooks_[key];
  hooks_count_.store(static_cast<int>(hooks_.size()), std::memory_order_release);
  if (h.tenant.empty()) {
    const size_t slash = key.find('/');
    h.tenant = key.substr(0, slash);
    h.hook_id = slash == std::string::npos ? "" : key.substr(slash + 1);
  }
  if (until <= h.paused_until) return false;
  h.paused_until = until;
  // Tokens reserved before the pause would all fall due at its end, at once: ask again then
  // (the limiter's state was pushed past the pause too).
  for (Held& w : h.queue) w.send_at = absl::InfiniteFuture();
  h.reserved = 0;
  notified_ = true;
  cv_.notify_one();
  return true;
}

std::vector<queue::RateRequest> RateGate::Requests(absl::Time now) {
  std::vector<queue::RateRequest> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, h] : hooks_) {
    const int waiting = static_cast<int>(h.queue.size()) - h.reserved;
    if (!h.spec.has_value() || waiting <= 0 || h.asking || h.ask_at > now || h.paused_until > now) {
      continue;
    }
    h.asking = true;
    out.push_back(queue::RateRequest{.tenant = h.tenant,
                                     .hook_id = h.hook_id,
                                     .spec = *h.spec,
                                     .count = waiting,
                                     .horizon = options_.horizon});
  }
  return out;
}

void RateGate::Grant(absl::Span<const queue::RateRequest> requests,
                     absl::Span<const queue::RateGrant> grants, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < requests.size() && i < grants.size(); ++i) {
    auto it = hooks_.find(absl::StrCat(requests[i].tenant, "/", requests[i].hook_id));
    if (it == hooks_.end()) continue;  // (tokens of jobs gone meanwhile are lost)
    Hook& h = it->second;
    h.asking = false;
    const queue::RateGrant& g = grants[i];
    const int waiting = static_cast<int>(h.queue.size()) - h.reserved;
    const int granted = std::min(g.granted, waiting);
    for (int k = 0; k < granted; ++k) {
      h.queue[static_cast<size_t>(h.reserved + k)].send_at = now + g.At(k);
    }
    h.reserved += granted;
    h.next_free = now + g.next;
    // All granted: the next arrival asks at once. Otherwise when the next token frees.
    h.ask_at = granted >= requests[i].count ? now : now + std::max(g.next, options_.ask_every);
  }
  notified_ = true;
  cv_.notify_one();
}

void RateGate::Failed(absl::Span<const queue::RateRequest> requests, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const queue::RateRequest& r : requests) {
    auto it = hooks_.find(absl::StrCat(r.tenant, "/", r.hook_id));
    if (it == hooks_.end()) continue;
    it->second.asking = false;
    it->second.ask_at = now + options_.ask_every;
  }
}

void RateGate::TakeHookDue(Hook& h, absl::Time now, std::vector<std::unique_ptr<Job>>* out) {
  auto take = [&](std::unique_ptr<Job> job) {
    --held_;
    job->rate_waited += now - job->held_at;
    out->push_back(std::move(job));
  };
  if (h.paused_until - now > options_.max_hold) {  // a long pause: hand them all back
    for (Held& w : h.queue) take(Defer(h, std::move(w.job), h.paused_until, now));
    h.queue.clear();
    h.reserved = 0;
    return;
  }
  if (h.paused_until > now) return;
  while (!h.queue.empty()) {
    Held& front = h.queue.front();
    const bool due = h.spec.has_value() ? h.reserved > 0 && front.send_at <= now : true;
    if (!due) break;
    take(std::move(front.job));
    h.queue.pop_front();
    if (h.reserved > 0) --h.reserved;
  }
  // Jobs without a token for max_hold (others took the tokens): put off, in order.
  for (size_t i = static_cast<size_t>(h.reserved); i < h.queue.size();) {
    if (now - h.queue[i].job->held_at < options_.max_hold) break;
    const absl::Duration drain = Spacing(h) * static_cast<int64_t>(i);
    take(Defer(h, std::move(h.queue[i].job), now + drain, now));
    h.queue.erase(h.queue.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

std::vector<std::unique_ptr<Job>> RateGate::TakeDue(absl::Time now) {
  std::vector<std::unique_ptr<Job>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = hooks_.begin(); it != hooks_.end();) {
    Hook& h = it->second;
    TakeHookDue(h, now, &out);
    if (h.queue.empty() && !h.asking && h.paused_until <= now) {
      hooks_.erase(it++);
    } else {
      ++it;
    }
  }
  hooks_count_.store(static_cast<int>(hooks_.size()), std::memory_order_release);
  return out;
}

absl::Time RateGate::NextWake(absl::Time now) {
  absl::Time next = absl::InfiniteFuture();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, h] : hooks_) {
    if (h.paused_until > now) {  // its end (a long one: handing the held jobs back, now)
      const bool hand_back = !h.queue.empty() && h.paused_until - now > options_.max_hold;
      next = std::min(next, hand_back ? now : h.paused_until);
      continue;
    }
    if (h.queue.empty()) continue;
    if (!h.spec.has_value()) return now;  // its pause is over: all due
    if (h.reserved > 0) next = std::min(next, h.queue.front().send_at);
    if (static_cast<int>(h.queue.size()) > h.reserved) {
      if (!h.asking) next = std::min(next, std::max(h.ask_at, now));
      next =
          std::min(next, h.queue[static_cast<size_t>(h.reserved)].job->held_at + options_.max_hold);
    }
  }
  return next;
}

std::vector<std::unique_ptr<Job>> RateGate::TakeAll() {
  std::vector<std::unique_ptr<Job>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, h] : hooks_) {
    for (Held& w : h.queue) out.push_back(std::move(w.job));
    h.queue.clear();
    h.reserved = 0;
  }
  held_ = 0;
  return out;
}

int RateGate::held() {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

void RateGate::Wait(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMicroseconds(std::max(timeout, absl::ZeroDuration())),
               [this] { return notified_; });
  notified_ = false;
}

void RateGate::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
  }
  cv_.notify_one();
}

}  // namespace hookrelay::worker
