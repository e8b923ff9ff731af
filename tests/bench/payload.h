#pragma once

// The benchmark's event payload: exactly `size` bytes of JSON,
//   {"bench_ns":<19 digits>,"seq":"<12 digits>","pad":"xxxx…"}
// bench_ns is the publisher's send time (unix ns, CLOCK_REALTIME); bench_receiver reads it
// back to measure publish-to-delivered latency. Stamp() rewrites the two fields in place.

#include <cstdint>
#include <cstdio>
#include <string>

namespace hookrelay::bench {

class Payload {
 public:
  explicit Payload(size_t size = 1024) {
    text_ = "{\"bench_ns\":1000000000000000000,\"seq\":\"000000000000\",\"pad\":\"";
    const size_t tail = 2;  // "}
    text_.append(size > text_.size() + tail ? size - text_.size() - tail : 0, 'x');
    text_ += "\"}";
  }

  // The payload carrying send time `ns` (0: none) and sequence number `seq`.
  const std::string& Stamp(int64_t ns, uint64_t seq) {
    char digits[32];
    // A valid JSON number either way; the receiver ignores values before 2017.
    snprintf(digits, sizeof(digits), "%019lld",
             static_cast<long long>(ns > 0 ? ns : 1000000000000000000LL));
    text_.replace(kNsAt, 19, digits, 19);
    snprintf(digits, sizeof(digits), "%012llu",
             static_cast<unsigned long long>(seq % 1000000000000ULL));
    text_.replace(kSeqAt, 12, digits, 12);
    return text_;
  }

 private:
  static constexpr size_t kNsAt = 12;   // after {"bench_ns":
  static constexpr size_t kSeqAt = 39;  // after ,"seq":"
  std::string text_;
};

}  // namespace hookrelay::bench
