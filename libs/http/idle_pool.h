#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace hookrelay::http {

// Kept-alive connections that carry no request, by origin. The most recently used one is
// handed out first (it is the least likely to have been closed by the server); the sweep
// returns those idle too long and, beyond a cap on the total, the oldest. The pool only
// holds pointers: its owner opens and closes the connections.
template <typename Conn>
class IdlePool {
 public:
  // A connection to `origin`, or null if none is idle.
  Conn* Take(const std::string& origin) {
    auto it = idle_.find(origin);
    if (it == idle_.end() || it->second.empty()) return nullptr;
    Conn* c = it->second.back().first;
    it->second.pop_back();
    --size_;
    return c;
  }

  void Put(const std::string& origin, Conn* c, absl::Time now) {
    idle_[origin].emplace_back(c, now);
    ++size_;
  }

  // Forgets `c` (closed by the server while idle); false if it was not in the pool.
  bool Remove(const std::string& origin, Conn* c) {
    auto it = idle_.find(origin);
    if (it == idle_.end()) return false;
    auto& conns = it->second;
    auto found =
        std::find_if(conns.begin(), conns.end(), [c](const auto& e) { return e.first == c; });
    if (found == conns.end()) return false;
    conns.erase(found);
    --size_;
    return true;
  }

  // Takes out, for the owner to close, the connections idle for longer than `max_idle` and
  // then the oldest of each origin until at most `max_total` are left.
  std::vector<Conn*> Sweep(absl::Time now, absl::Duration max_idle, size_t max_total) {
    std::vector<Conn*> out;
    size_t excess = size_ > max_total ? size_ - max_total : 0;
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& conns = it->second;
      size_t drop = 0;  // the oldest are first
      while (drop < conns.size() && (now - conns[drop].second > max_idle || excess > 0)) {
        out.push_back(conns[drop].first);
        if (excess > 0) --excess;
        ++drop;
      }
      conns.erase(conns.begin(), conns.begin() + static_cast<ptrdiff_t>(drop));
      size_ -= drop;
      if (conns.empty()) {
        idle_.erase(it++);
      } else {
        ++it;
      }
    }
    return out;
  }

  // Takes out every connection.
  std::vector<Conn*> TakeAll() { return Sweep(absl::InfiniteFuture(), absl::ZeroDuration(), 0); }

  size_t size() const { return size_; }

 private:
  // Per origin, oldest first; each with the time it was put back.
  absl::flat_hash_map<std::string, std::vector<std::pair<Conn*, absl::Time>>> idle_;
  size_t size_ = 0;
};

}  // namespace hookrelay::http
