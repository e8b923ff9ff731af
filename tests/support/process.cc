#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/unique_fd.h"
#include "tests/support/wait.h"

extern char** environ;

namespace hookrelay::testing {
namespace {

// Everything the child needs, prepared before fork: between fork and exec only
// async-signal-safe calls are allowed.
struct ExecPlan {
  std::string path;
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

absl::StatusOr<std::string> ResolveBinary(const std::string& binary) {
  if (binary.empty()) return absl::InvalidArgumentError("binary: empty");
  if (absl::StrContains(binary, '/')) {
    if (access(binary.c_str(), X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat(binary, ": not executable: ", strerror(errno)));
    }
    return binary;
  }
  const char* path = getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", binary);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(binary, ": not found on PATH"));
}

std::vector<std::string> MergedEnvironment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    absl::string_view name = absl::string_view(*entry).substr(0, strcspn(*entry, "="));
    bool overridden = false;
    for (const auto& [key, value] : overrides) overridden |= (key == name);
    if (!overridden) env.emplace_back(*entry);
  }
  for (const auto& [key, value] : overrides) env.push_back(absl::StrCat(key, "=", value));
  return env;
}

absl::StatusOr<ExecPlan> MakeExecPlan(const Process::Options& options) {
  ExecPlan plan;
  auto path = ResolveBinary(options.binary);
  if (!path.ok()) return path.status();
  plan.path = *std::move(path);
  plan.argv_storage.push_back(options.binary);
  plan.argv_storage.insert(plan.argv_storage.end(), options.args.begin(), options.args.end());
  plan.env_storage = MergedEnvironment(options.env);
  for (std::string& arg : plan.argv_storage) plan.argv.push_back(arg.data());
  for (std::string& var : plan.env_storage) plan.envp.push_back(var.data());
  plan.argv.push_back(nullptr);
  plan.envp.push_back(nullptr);
  return plan;
}

// Runs in the forked child: only async-signal-safe calls. Reports an exec failure's errno
// through `error_fd`.
[[noreturn]] void ExecChild(const ExecPlan& plan, pid_t parent, int output_fd, int error_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // The parent died before prctl.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(output_fd, STDOUT_FILENO) < 0 ||
      dup2(output_fd, STDERR_FILENO) < 0) {
    const int error = errno;
    (void)!write(error_fd, &error, sizeof(error));
    _exit(127);
  }
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // Inherit nothing but stdio.
  execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  const int error = errno;
  (void)!write(error_fd, &error, sizeof(error));
  _exit(127);
}

// Returns the errno the child reported before exec, or 0 if exec succeeded (pipe closed).
int ReadExecError(int fd) {
  int error = 0;
  ssize_t n;
  do {
    n = read(fd, &error, sizeof(error));
  } while (n < 0 && errno == EINTR);
  return n == sizeof(error) ? error : 0;
}

absl::StatusOr<std::string> OutputFile(const std::string& requested) {
  if (!requested.empty()) return requested;
  const char* tmp = getenv("TMPDIR");
  std::string path = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/hookrelay-process-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) return absl::InternalError(absl::StrCat(path, ": mkstemp: ", strerror(errno)));
  close(fd);
  return path;
}

// Forks and execs `plan` with stdout+stderr appended to `output_path`. Returns the pid once
// the child has exec'd, or the exec error (the failed child is reaped).
absl::StatusOr<pid_t> Spawn(const ExecPlan& plan, const std::string& output_path) {
  UniqueFd output(open(output_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (output.get() < 0) {
    return absl::InternalError(absl::StrCat(output_path, ": open: ", strerror(errno)));
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", strerror(errno)));
  }
  UniqueFd error_read(pipe_fds[0]), error_write(pipe_fds[1]);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) ExecChild(plan, parent, output.get(), error_write.get());
  error_write.Reset();
  const int error = ReadExecError(error_read.get());
  if (error == 0) return pid;
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(plan.path, ": exec: ", strerror(error)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Process>> Process::Start(Options options) {
  auto plan = MakeExecPlan(options);
  if (!plan.ok()) return plan.status();
  auto output_path = OutputFile(options.output_path);
  if (!output_path.ok()) return output_path.status();
  const bool owns_output = options.output_path.empty();
  absl::Cleanup remove_output = [&] {
    if (owns_output) unlink(output_path->c_str());
  };
  auto pid = Spawn(*plan, *output_path);
  if (!pid.ok()) return pid.status();
  std::move(remove_output).Cancel();
  return std::unique_ptr<Process>(new Process(*pid, *output_path, owns_output));
}

Process::~Process() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!exit_code_.has_value()) {
    kill(pid_, SIGKILL);
    ReapLocked(/*block=*/true);
  }
  if (owns_output_) unlink(output_path_.c_str());
}

void Process::ReapLocked(bool block) {
  if (exit_code_.has_value()) return;
  int status = 0;
  pid_t result;
  do {
    result = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (result < 0 && errno == EINTR);
  if (result == 0) return;  // Still running.
  if (result < 0) {
    exit_code_ = -1;  // Reaped by someone else (ECHILD): unknown.
  } else if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_code_ = 128 + WTERMSIG(status);
  }
}

bool Process::Running() {
  std::lock_guard<std::mutex> lock(mu_);
  ReapLocked(/*block=*/false);
  return !exit_code_.has_value();
}

void Process::Signal(int sig) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!exit_code_.has_value()) kill(pid_, sig);
}

absl::StatusOr<int> Process::Wait(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) {
    std::lock_guard<std::mutex> lock(mu_);
    ReapLocked(/*block=*/true);
  } else {
    WaitFor([this] { return !Running(); }, timeout, absl::Milliseconds(2));
  }
  std::lock_guard<std::mutex> lock(mu_);
  ReapLocked(/*block=*/false);
  if (!exit_code_.has_value()) {
    return absl::DeadlineExceededError(
        absl::StrCat("pid ", pid_, ": still running after ", absl::FormatDuration(timeout)));
  }
  return *exit_code_;
}

std::string Process::Output() const {
  std::ifstream file(output_path_, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

bool Process::WaitForOutput(absl::string_view needle, absl::Duration timeout) const {
  return WaitFor([&] { return absl::StrContains(Output(), needle); }, timeout,
                 absl::Milliseconds(10));
}

std::string BinaryPath(absl::string_view relative) {
  const char* dir = getenv("HOOKRELAY_BUILD_DIR");
  return absl::StrCat(dir != nullptr && *dir != '\0' ? dir : HOOKRELAY_TESTING_BUILD_DIR, "/",
                      relative);
}

}  // namespace hookrelay::testing
