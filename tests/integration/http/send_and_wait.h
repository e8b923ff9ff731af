#pragma once

// Sends one request through an HttpSender and waits for its completion (which runs on the
// sender's thread). Shared by the HTTP integration tests.

#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/http/sender.h"
#include "tests/support/wait.h"

namespace hookrelay::http {

// The completion of `request`; a default HttpResponse (and a test failure) if none came
// within `timeout`.
inline HttpResponse SendAndWait(HttpSender& sender, HttpRequest request,
                                absl::Duration timeout = absl::Seconds(20)) {
  const std::string url = request.url;
  std::mutex mu;
  std::optional<HttpResponse> got;
  sender.Submit(std::move(request), [&](HttpResponse r) {
    std::lock_guard<std::mutex> lock(mu);
    got = std::move(r);
  });
  const bool done = ::hookrelay::testing::WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return got.has_value();
      },
      timeout);
  EXPECT_TRUE(done) << "no completion for " << url;
  std::lock_guard<std::mutex> lock(mu);
  return got.value_or(HttpResponse{});
}

}  // namespace hookrelay::http
