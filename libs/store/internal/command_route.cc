#include "libs/store/internal/command_route.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace hookrelay::store::internal {
namespace {

// Reads "<prefix><n>\r\n" at `*pos`.
bool ReadLength(absl::string_view b, char prefix, size_t* pos, long long* n) {
  if (*pos >= b.size() || b[*pos] != prefix) return false;
  const size_t eol = b.find("\r\n", *pos);
  if (eol == absl::string_view::npos) return false;
  if (!absl::SimpleAtoi(b.substr(*pos + 1, eol - *pos - 1), n) || *n < 0) return false;
  *pos = eol + 2;
  return true;
}

}  // namespace

std::vector<absl::string_view> ParseCommand(absl::string_view b, size_t offset, size_t* end) {
  std::vector<absl::string_view> argv;
  size_t pos = offset;
  long long argc = 0;
  if (!ReadLength(b, '*', &pos, &argc)) return {};
  argv.reserve(static_cast<size_t>(argc));
  for (long long i = 0; i < argc; ++i) {
    long long len = 0;
    if (!ReadLength(b, '$', &pos, &len) || pos + static_cast<size_t>(len) + 2 > b.size()) return {};
    argv.push_back(b.substr(pos, static_cast<size_t>(len)));
    pos += static_cast<size_t>(len) + 2;
  }
  *end = pos;
  return argv;
}

bool IsCommand(const std::vector<absl::string_view>& argv, absl::string_view name) {
  return !argv.empty() && absl::EqualsIgnoreCase(argv[0], name);
}

std::optional<absl::string_view> RouteKey(const std::vector<absl::string_view>& argv) {
  if (argv.size() < 2) return std::nullopt;
  static constexpr absl::string_view kKeyless[] = {
      "PING",        "MULTI",   "EXEC",   "DISCARD", "UNWATCH",  "AUTH",     "SELECT",  "INFO",
      "CLUSTER",     "SCRIPT",  "CONFIG", "CLIENT",  "DBSIZE",   "FLUSHALL", "FLUSHDB", "SCAN",
      "KEYS",        "PUBLISH", "WAIT",   "ASKING",  "READONLY", "TIME",     "COMMAND", "SUBSCRIBE",
      "UNSUBSCRIBE", "HELLO",   "ACL",    "SAVE",    "BGSAVE",   "SPUBLISH"};
  for (absl::string_view k : kKeyless) {
    if (absl::EqualsIgnoreCase(argv[0], k)) return std::nullopt;
  }
  if (IsCommand(argv, "XREADGROUP") || IsCommand(argv, "XREAD")) {
    for (size_t i = 1; i + 1 < argv.size(); ++i) {
      if (absl::EqualsIgnoreCase(argv[i], "STREAMS")) return argv[i + 1];
    }
    return std::nullopt;
  }
  if (IsCommand(argv, "XINFO") || IsCommand(argv, "XGROUP") || IsCommand(argv, "OBJECT")) {
    return argv.size() > 2 ? std::optional<absl::string_view>(argv[2]) : std::nullopt;
  }
  if (IsCommand(argv, "EVAL") || IsCommand(argv, "EVALSHA")) {
    int numkeys = 0;
    if (argv.size() > 3 && absl::SimpleAtoi(argv[2], &numkeys) && numkeys > 0) return argv[3];
    return std::nullopt;
  }
  return argv[1];
}

}  // namespace hookrelay::store::internal
