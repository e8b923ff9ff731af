#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hookrelay::telemetry {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// One structured field of a log line. Values are strings or integers.
struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), value(v), quoted(true) {}
  LogField(absl::string_view k, const char* v) : key(k), value(v), quoted(true) {}
  LogField(absl::string_view k, const std::string& v) : key(k), value(v), quoted(true) {}
  LogField(absl::string_view k, long long v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(absl::string_view k, int v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(absl::string_view k, double v) : key(k), value(std::to_string(v)), quoted(false) {}
  std::string key;
  std::string value;
  bool quoted;
};

// Configures the process-wide logger: the service name stamped on every line and the
// lowest level written. Call once from main() before other threads start.
void InitLogging(absl::string_view service, LogLevel min_level);
// Parses "debug", "info", "warn", "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);
// InitLogging from a --log_level value; INVALID_ARGUMENT "log_level: ..." if it does not parse.
absl::Status InitLogging(absl::string_view service, absl::string_view level_text);

// Writes one JSON object per line to stderr:
// {"ts":"2026-01-01T00:00:00.000Z","level":"info","service":"worker","msg":"...",<fields>}.
// Thread-safe. Never pass secrets as fields.
void Log(LogLevel level, absl::string_view msg, std::initializer_list<LogField> fields = {});

// Like Log, but writes a given `msg` at most once per `interval_seconds` per message text,
// adding a "suppressed" count of the lines skipped since. For errors that can repeat
// at request rate (a Redis outage, a flood of bad tasks).
void LogEvery(int interval_seconds, LogLevel level, absl::string_view msg,
              std::initializer_list<LogField> fields = {});

inline void LogInfo(absl::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, msg, f);
}
inline void LogWarn(absl::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, msg, f);
}
inline void LogError(absl::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, msg, f);
}

}  // namespace hookrelay::telemetry
