// libFuzzer target: http::ResponseParser over arbitrary bytes, as a receiver we do not control
// may send them on a kept-alive connection.
//
// Input: one byte choosing how the rest is cut into reads (the same bytes must parse alike
// however they arrive), then the response bytes. A zero first byte also ends the input with
// the peer closing the connection.
// Checks: no crash or sanitizer report; the kept body never exceeds its bound; a finished
// response has a status of three digits; feeding the bytes whole and in pieces gives the same
// result, status, body, Retry-After and (when every byte reached it) keep-alive.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "libs/http/response_parser.h"

namespace {

using hookrelay::http::ResponseParser;

constexpr size_t kMaxBody = 64;

void Check(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "response_parser_fuzzer: %s\n", what);
    abort();
  }
}

struct Outcome {
  ResponseParser::Result result = ResponseParser::Result::kMore;
  int status = 0;
  std::string body;
  std::string retry_after;
  bool keep_alive = false;
  bool all_fed = false;  // every byte reached the parser (none left after it finished)
};

// Feeds `data` in reads of `step` bytes (0: all at once), then the close when `close`.
Outcome Parse(absl::string_view data, size_t step, bool close) {
  ResponseParser parser(kMaxBody);
  Outcome o;
  while (o.result == ResponseParser::Result::kMore && !data.empty()) {
    const size_t n = step == 0 ? data.size() : std::min(step, data.size());
    o.result = parser.Feed(data.substr(0, n));
    data.remove_prefix(n);
  }
  o.all_fed = data.empty();
  if (o.result == ResponseParser::Result::kMore && close) o.result = parser.Finish();
  o.status = parser.status();
  o.body = parser.body();
  o.retry_after = parser.retry_after();
  o.keep_alive = parser.keep_alive();
  Check(o.body.size() <= kMaxBody, "kept more body than its bound");
  if (o.result == ResponseParser::Result::kDone) {
    Check(o.status >= 100 && o.status <= 999, "finished with a status not of three digits");
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t step = data[0] % 17;
  const bool close = data[0] == 0 || data[0] % 2 == 1;
  const absl::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const Outcome whole = Parse(bytes, 0, close);
  const Outcome pieces = Parse(bytes, step == 0 ? 1 : step, close);
  Check(whole.result == pieces.result, "the result depends on how the bytes arrived");
  if (whole.result == ResponseParser::Result::kDone) {
    Check(whole.status == pieces.status, "the status depends on how the bytes arrived");
    Check(whole.body == pieces.body, "the body depends on how the bytes arrived");
    Check(whole.retry_after == pieces.retry_after, "Retry-After depends on how the bytes arrived");
    // Bytes after the response make the connection unusable, but only if they reached the
    // parser: fed in pieces, the reads stop at the response's end.
    if (pieces.all_fed) {
      Check(whole.keep_alive == pieces.keep_alive, "keep-alive depends on how the bytes arrived");
    }
  }
  return 0;
}
