#include "libs/store/subscriber.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include "absl/strings/str_cat.h"
#include "libs/store/hiredis_ptr.h"

namespace hookrelay::store {
class Subscriber::Impl {
 public:
  Impl(RedisOptions options, std::string channel)
      : options_(std::move(options)), channel_(std::move(channel)) {}

  absl::Status Poll(absl::Duration timeout,
                    const std::function<void(const std::string&)>& on_message,
                    const std::function<void()>& on_reconnect) {
    if (ctx_ == nullptr) {
      if (absl::Status st = Subscribe(); !st.ok()) return st;
      on_reconnect();
    }
    pollfd pfd{.fd = ctx_->fd, .events = POLLIN, .revents = 0};
    if (::poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) {
      return absl::OkStatus();
    }
    if (redisBufferRead(ctx_.get()) != REDIS_OK) return Drop();
    while (true) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(ctx_.get(), &raw) != REDIS_OK) return Drop();
      if (raw == nullptr) return absl::OkStatus();
      ReplyPtr reply(static_cast<redisReply*>(raw));
      // ["message", channel, payload]
      if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
          reply->element[0]->type == REDIS_REPLY_STRING &&
          std::string(reply->element[0]->str, reply->element[0]->len) == "message") {
        on_message(std::string(reply->element[2]->str, reply->element[2]->len));
      }
    }
  }

 private:
  absl::Status Subscribe() {
    auto endpoint = ParseRedisUrl(options_.url);
    if (!endpoint.ok()) return endpoint.status();
    ContextPtr ctx(redisConnectWithTimeout(endpoint->host.c_str(), endpoint->port,
                                           absl::ToTimeval(options_.connect_timeout)));
    if (ctx == nullptr || ctx->err != 0) {
      return absl::UnavailableError(
          absl::StrCat("redis subscribe: ", ctx ? ctx->errstr : "out of memory"));
    }
    redisSetTimeout(ctx.get(), absl::ToTimeval(options_.command_timeout));
    if (!endpoint->password.empty()) {
      auto* r = static_cast<redisReply*>(
          endpoint->username.empty()
              ? redisCommand(ctx.get(), "AUTH %s", endpoint->password.c_str())
              : redisCommand(ctx.get(), "AUTH %s %s", endpoint->username.c_str(),
                             endpoint->password.c_str()));
      const bool ok = r != nullptr && r->type != REDIS_REPLY_ERROR;
      if (r != nullptr) freeReplyObject(r);
      if (!ok) return absl::UnavailableError("redis subscribe: AUTH failed");
    }
    auto* r = static_cast<redisReply*>(
        redisCommand(ctx.get(), "SUBSCRIBE %b", channel_.data(), channel_.size()));
    if (r == nullptr) return absl::UnavailableError("redis subscribe: connection lost");
    freeReplyObject(r);
    ctx_ = std::move(ctx);
    return absl::OkStatus();
  }

  absl::Status Drop() {
    ctx_.reset();
    return absl::UnavailableError("redis subscribe: connection lost");
  }

  const RedisOptions options_;
  const std::string channel_;
  ContextPtr ctx_;
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
