#include "libs/telemetry/log.h"

#include <cstdio>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/core/json_text.h"

namespace hookrelay::telemetry {
namespace {

struct LoggerState {
  std::string service = "hookrelay";
  LogLevel min_level = LogLevel::kInfo;
  std::mutex mu;  // guards writes and `last_logged`
  struct Throttle {
    absl::Time last;
    long long suppressed = 0;
  };
  absl::flat_hash_map<std::string, Throttle> last_logged;
};

LoggerState& State() {
  static LoggerState* state = new LoggerState();
  return *state;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string FormatLine(LogLevel level, absl::string_view msg,
                       std::initializer_list<LogField> fields, long long suppressed) {
  std::string line = "{\"ts\":";
  core::AppendJsonString(
      &line, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()));
  absl::StrAppend(&line, ",\"level\":\"", LevelName(level), "\",\"service\":");
  core::AppendJsonString(&line, State().service);
  line.append(",\"msg\":");
  core::AppendJsonString(&line, msg);
  for (const LogField& f : fields) {
    line.push_back(',');
    core::AppendJsonString(&line, f.key);
    line.push_back(':');
    if (f.quoted) {
      core::AppendJsonString(&line, f.value);
    } else {
      line.append(f.value);
    }
  }
  if (suppressed > 0) absl::StrAppend(&line, ",\"suppressed\":", suppressed);
  line.append("}\n");
  return line;
}

}  // namespace

void InitLogging(absl::string_view service, LogLevel min_level) {
  State().service = std::string(service);
  State().min_level = min_level;
}

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  if (text == "debug")
    *level = LogLevel::kDebug;
  else if (text == "info")
    *level = LogLevel::kInfo;
  else if (text == "warn" || text == "warning")
    *level = LogLevel::kWarn;
  else if (text == "error")
    *level = LogLevel::kError;
  else
    return false;
  return true;
}

absl::Status InitLogging(absl::string_view service, absl::string_view level_text) {
  LogLevel level;
  if (!ParseLogLevel(level_text, &level)) {
    return absl::InvalidArgumentError("log_level: want debug, info, warn or error");
  }
  InitLogging(service, level);
  return absl::OkStatus();
}

void Log(LogLevel level, absl::string_view msg, std::initializer_list<LogField> fields) {
  if (level < State().min_level) return;
  const std::string line = FormatLine(level, msg, fields, 0);
  std::lock_guard<std::mutex> lock(State().mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void LogEvery(int interval_seconds, LogLevel level, absl::string_view msg,
              std::initializer_list<LogField> fields) {
  if (level < State().min_level) return;
  long long suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(State().mu);
    auto& throttle = State().last_logged[msg];
    const absl::Time now = absl::Now();
    if (now - throttle.last < absl::Seconds(interval_seconds)) {
      ++throttle.suppressed;
      return;
    }
    throttle.last = now;
    suppressed = throttle.suppressed;
    throttle.suppressed = 0;
  }
  const std::string line = FormatLine(level, msg, fields, suppressed);
  std::lock_guard<std::mutex> lock(State().mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace hookrelay::telemetry
