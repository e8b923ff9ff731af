#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store {

// A pool of RedisConnections for multi-threaded callers (the registry's RPC threads).
// Thread-safe. Connections are made on demand and kept for reuse.
class RedisPool {
 public:
  class Lease {
   public:
    Lease(RedisPool* pool, std::unique_ptr<RedisConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    RedisConnection* operator->() { return conn_.get(); }
    RedisConnection& operator*() { return *conn_; }

   private:
    RedisPool* pool_;
    std::unique_ptr<RedisConnection> conn_;
  };

  explicit RedisPool(RedisOptions options, size_t max_idle = 64)
      : options_(std::move(options)), max_idle_(max_idle) {}

  // UNAVAILABLE if no idle connection exists and a new one cannot be made.
  absl::StatusOr<Lease> Acquire();

 private:
  void Release(std::unique_ptr<RedisConnection> conn);

  const RedisOptions options_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
};

}  // namespace hookrelay::store
