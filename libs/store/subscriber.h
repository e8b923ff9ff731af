#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/store/redis_client.h"

namespace hookrelay::store {

// A Redis pub/sub subscription to one channel on a connection of its own. Not thread-safe:
// one thread calls Poll() in a loop. After an I/O error the next Poll() reconnects and
// subscribes again (messages published while disconnected are lost: callers treat a
// reconnect as "anything may have changed", which OnReconnect tells them).
class Subscriber {
 public:
  Subscriber(RedisOptions options, std::string channel);
  ~Subscriber();

  // Waits up to `timeout` for messages and calls `on_message(payload)` for each. Calls
  // `on_reconnect()` after (re)subscribing. UNAVAILABLE while Redis cannot be reached.
  absl::Status Poll(absl::Duration timeout,
                    const std::function<void(const std::string&)>& on_message,
                    const std::function<void()>& on_reconnect);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookrelay::store
