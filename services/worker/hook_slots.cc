#include "services/worker/hook_slots.h"

#include <algorithm>

namespace hookrelay::worker {

absl::Duration HookSlots::DeferFor(const Load& l, absl::Time now) const {
  if (!Stalled(l, now)) return absl::Seconds(1);  // its queue is full: soon again
  return std::clamp(now - l.last_progress, absl::Seconds(1), options_.max_defer);
}

HookSlots::Admit HookSlots::Acquire(const std::string& key, std::unique_ptr<Job>& job,
                                    absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  Load& l = hooks_[key];
  if (l.active < options_.per_hook) {
    if (l.active == 0) l.last_progress = now;
    ++l.active;
    return Admit::kGo;
  }
  if (Stalled(l, now) || static_cast<int>(l.queued.size()) >= options_.queue_per_hook) {
    job->defer_for = DeferFor(l, now);
    return Admit::kDefer;
  }
  job->queued_at = now;
  l.queued.push_back(std::move(job));
  return Admit::kQueued;
}

std::unique_ptr<Job> HookSlots::Release(const std::string& key, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hooks_.find(key);
  if (it == hooks_.end()) return nullptr;
  Load& l = it->second;
  l.last_progress = now;
  if (!l.queued.empty()) {
    std::unique_ptr<Job> next = std::move(l.queued.front());
    l.queued.pop_front();
    return next;  // the slot passes to it
  }
  if (--l.active <= 0) hooks_.erase(it);
  return nullptr;
}

std::vector<std::unique_ptr<Job>> HookSlots::TakeStalled(absl::Time now) {
  std::vector<std::unique_ptr<Job>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, l] : hooks_) {
    if (l.queued.empty()) continue;
    if (Stalled(l, now)) {
      const absl::Duration defer = DeferFor(l, now);
      for (auto& j : l.queued) {
        j->defer_for = defer;
        out.push_back(std::move(j));
      }
      l.queued.clear();
      continue;
    }
    // Oldest first: those waiting too long are at the front.
    while (!l.queued.empty() && now - l.queued.front()->queued_at > options_.max_wait) {
      l.queued.front()->defer_for = absl::Seconds(1);
      out.push_back(std::move(l.queued.front()));
      l.queued.pop_front();
    }
  }
  return out;
}

std::vector<std::unique_ptr<Job>> HookSlots::TakeAll() {
  std::vector<std::unique_ptr<Job>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, l] : hooks_) {
    for (auto& j : l.queued) out.push_back(std::move(j));
    l.queued.clear();
  }
  return out;
}

}  // namespace hookrelay::worker
