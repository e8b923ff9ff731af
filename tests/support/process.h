#pragma once

// Runs a real binary (a service under test, redis-server, a shell) as a child process for
// integration and e2e tests, capturing its stdout and stderr to a file.
//
// The child is in the test's process group and receives SIGKILL when the thread that started
// it exits (PR_SET_PDEATHSIG), so a crashed test leaves no orphans. Start processes from the
// test's main thread (SetUp/SetUpTestSuite/the test body), not from a short-lived thread.
//
// Thread-safe: all methods may be called concurrently.

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hookrelay::testing {

class Process {
 public:
  struct Options {
    // A path, or a name looked up on PATH.
    std::string binary;
    // Arguments after argv[0] (which is `binary`).
    std::vector<std::string> args;
    // Added to (or replacing entries of) the inherited environment.
    std::vector<std::pair<std::string, std::string>> env;
    // If set, stdout+stderr are appended to this file, which is kept. Otherwise they go to a
    // private temp file that the destructor removes.
    std::string output_path;
  };

  // Starts the child and returns once it has exec'd. Returns NOT_FOUND if the binary does not
  // exist or is not executable, INTERNAL if the output file, fork or exec fails.
  static absl::StatusOr<std::unique_ptr<Process>> Start(Options options);

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Sends SIGKILL if the child still runs, and reaps it.
  ~Process();

  // The child's pid; after it exited and was reaped, the (possibly reused) former pid.
  pid_t pid() const { return pid_; }
  // Whether the child has not exited yet (reaps it if it has).
  bool Running();
  // Sends `sig` to the child unless it has been reaped already.
  void Signal(int sig);
  // Waits up to `timeout` for the child to exit. Returns its exit code, 128+N if signal N
  // killed it, or DEADLINE_EXCEEDED if it still runs.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Everything the child wrote to stdout and stderr so far.
  std::string Output() const;
  // Whether Output() contains `needle` within `timeout`.
  bool WaitForOutput(absl::string_view needle, absl::Duration timeout) const;

 private:
  Process(pid_t pid, std::string output_path, bool owns_output)
      : pid_(pid), output_path_(std::move(output_path)), owns_output_(owns_output) {}

  // Records the exit code if the child has exited; blocks until it does if `block`.
  void ReapLocked(bool block) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const pid_t pid_;
  const std::string output_path_;
  const bool owns_output_;
  std::mutex mu_;                 // not absl::Mutex: ThreadSanitizer sees std::mutex's ordering
  std::optional<int> exit_code_;  // guarded by mu_
};

// Returns $HOOKRELAY_BUILD_DIR + "/" + relative (the build directory this library was
// configured in if the variable is unset), e.g. BinaryPath("services/worker/delivery-worker").
std::string BinaryPath(absl::string_view relative);

}  // namespace hookrelay::testing
