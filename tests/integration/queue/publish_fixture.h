#pragma once

// The fixture of the publish tests: a private redis-server per test binary, flushed before
// each test, and a real Publisher on it for tenant "acme".

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/queue/publisher.h"
#include "libs/store/event_store.h"
#include "libs/store/hook_store.h"
#include "libs/store/keys.h"
#include "libs/store/redis_pool.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::queue {

class PublishFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = testing::RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override { ASSERT_OK(redis_->FlushAll()); }

  // Creates an enabled hook of "acme" for "order.*" events; returns its id ("" on failure).
  std::string CreateHook() {
    v1::Webhook hook;
    hook.set_id(core::NewId(core::kWebhookIdPrefix, absl::Now()));
    hook.set_tenant("acme");
    hook.set_url("https://example.com/h");
    hook.add_event_types("order.*");
    hook.set_enabled(true);
    absl::Status created = hooks_.Create(hook);
    EXPECT_TRUE(created.ok()) << created;
    return created.ok() ? hook.id() : "";
  }

  inline static std::unique_ptr<testing::RedisServer> redis_;
  store::KeySchema keys_;
  store::RedisPool pool_{store::RedisOptions{.url = redis_->url()}};
  store::HookStore hooks_{pool_, keys_};
  store::EventStore events_{pool_, keys_};
  FanOut fan_out_{pool_, keys_, store::EventStoreOptions{}};
  Publisher publisher_{hooks_, fan_out_, core::Clock::Real()};
};

}  // namespace hookrelay::queue
