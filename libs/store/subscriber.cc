#include "libs/store/subscriber.h"

#include <poll.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/store/internal/node_connection.h"

namespace hookrelay::store {

// A subscription on a connection of its own to any node (on a Redis Cluster every node
// receives every PUBLISH).
class Subscriber::Impl {
 public:
  Impl(RedisOptions options, std::string channel)
      : options_(std::move(options)), channel_(std::move(channel)) {}

  absl::Status Poll(absl::Duration timeout,
                    const std::function<void(const std::string&)>& on_message,
                    const std::function<void()>& on_reconnect) {
    if (conn_ == nullptr || conn_->broken()) {
      conn_.reset();
      if (absl::Status st = Subscribe(); !st.ok()) return st;
      on_reconnect();
    }
    if (const int fd = conn_->PollFd(); fd >= 0) {
      pollfd pfd{.fd = fd, .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) {
        return absl::OkStatus();
      }
    }
    // Every message waiting, then back to poll.
    do {
      std::vector<RedisReply> replies;
      if (absl::Status st = conn_->Receive(1, &replies); !st.ok()) return st;
      const RedisReply& r = replies[0];
      // ["message", channel, payload]
      if (r.elements.size() == 3 && r.elements[0].str == "message") on_message(r.elements[2].str);
    } while (conn_->PollFd() < 0 && !conn_->broken());
    return absl::OkStatus();
  }

 private:
  absl::Status Subscribe() {
    auto endpoint = ParseRedisUrl(options_.url);
    if (!endpoint.ok()) return endpoint.status();
    absl::Status last;
    for (const std::string& address : endpoint->nodes) {
      auto conn =
          internal::NodeConnection::Connect(internal::NodeOptionsFor(options_, *endpoint, address));
      if (!conn.ok()) {
        last = conn.status();
        continue;
      }
      Pipeline p;
      p.Add({"SUBSCRIBE", channel_});
      std::vector<RedisReply> replies;
      last = (*conn)->Send(p.buffer());
      if (last.ok()) last = (*conn)->Receive(1, &replies);
      if (last.ok()) last = replies[0].ToStatus();
      if (last.ok()) {
        conn_ = *std::move(conn);
        return last;
      }
    }
    return absl::Status(last.code(), absl::StrCat("redis subscribe: ", last.message()));
  }

  const RedisOptions options_;
  const std::string channel_;
  std::unique_ptr<internal::NodeConnection> conn_;
};

Subscriber::Subscriber(RedisOptions options, std::string channel)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(channel))) {}
Subscriber::~Subscriber() = default;

absl::Status Subscriber::Poll(absl::Duration timeout,
                              const std::function<void(const std::string&)>& on_message,
                              const std::function<void()>& on_reconnect) {
  return impl_->Poll(timeout, on_message, on_reconnect);
}

}  // namespace hookrelay::store
