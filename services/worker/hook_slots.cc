#include "services/worker/hook_slots.h"

#include "services/worker/job.h"

namespace hookrelay::worker {

HookSlots::Admit HookSlots::Acquire(const std::string& key, std::unique_ptr<Job>& job,
                                    absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  Load& l = hooks_[key];
  if (l.active < per_hook_) {
    if (l.active == 0) l.last_progress = now;
    ++l.active;
    return Admit::kGo;
  }
  if (Stalled(l, now)) return Admit::kDefer;
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
    if (l.queued.empty() || !Stalled(l, now)) continue;
    for (auto& j : l.queued) out.push_back(std::move(j));
    l.queued.clear();
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
