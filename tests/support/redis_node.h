#pragma once

// One redis-server process of a RedisServer (internal to tests/support).

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace hookrelay::testing {

struct RedisServer::Node {
  std::string dir;   // its data, log, nodes.conf and unix socket
  int port = 0;      // client port (TLS when the server runs TLS)
  int bus_port = 0;  // cluster bus
  std::unique_ptr<Process> process;
  pid_t last_pid = 0;

  std::string address() const { return absl::StrCat("127.0.0.1:", port); }
  std::string log_path() const { return absl::StrCat(dir, "/redis.log"); }
  std::string socket_path() const { return absl::StrCat(dir, "/redis.sock"); }
  bool running() const { return process != nullptr && process->Running(); }
};

}  // namespace hookrelay::testing
