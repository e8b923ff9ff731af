#include "libs/store/redis_pool.h"

namespace hookrelay::store {

absl::StatusOr<RedisPool::Lease> RedisPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<RedisConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
  }
  auto conn = RedisConnection::Connect(options_);
  if (!conn.ok()) return conn.status();
  return Lease(this, *std::move(conn));
}

void RedisPool::Release(std::unique_ptr<RedisConnection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

}  // namespace hookrelay::store
