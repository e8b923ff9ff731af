#pragma once

// Owning pointers for hiredis objects, shared by the store's Redis clients (internal).

#include <hiredis/hiredis.h>

#include <memory>

namespace hookrelay::store {

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

}  // namespace hookrelay::store
