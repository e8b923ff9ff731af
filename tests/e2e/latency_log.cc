#include "tests/e2e/latency_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "tests/support/wait.h"

namespace hookrelay::testing {

std::string LatencyLog::StampedPayload() {
  return absl::StrCat(R"({"sent_ns":)", absl::GetCurrentTimeNanos(), "}");
}

Handler LatencyLog::Recorder() {
  return [this](const ReceivedRequest& r) {
    const auto body = nlohmann::json::parse(r.body, nullptr, false);
    const nlohmann::json sent =
        body.is_object()
            ? body.value(nlohmann::json::json_pointer("/data/sent_ns"), nlohmann::json())
            : nlohmann::json();
    if (!sent.is_number_integer()) return Reply{.status = 400};  // not a stamped event
    std::lock_guard<std::mutex> lock(mu_);
    latencies_.push_back(r.received_at - absl::FromUnixNanos(sent.get<int64_t>()));
    return Reply{.status = 204};
  };
}

bool LatencyLog::WaitForCount(size_t n, absl::Duration timeout) const {
  return WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return latencies_.size() >= n;
      },
      timeout);
}

LatencyLog::Summary LatencyLog::Summarize() const {
  std::vector<absl::Duration> sorted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sorted = latencies_;
  }
  Summary s;
  s.count = sorted.size();
  if (sorted.empty()) return s;
  std::sort(sorted.begin(), sorted.end());
  s.p50 = sorted[sorted.size() / 2];
  s.p99 = sorted[sorted.size() * 99 / 100];
  s.max = sorted.back();
  return s;
}

}  // namespace hookrelay::testing
