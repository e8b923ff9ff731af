#include "libs/store/redis_client.h"

#include <openssl/sha.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/store/hash_slot.h"
#include "libs/store/internal/cluster_map.h"
#include "libs/store/internal/command_route.h"
#include "libs/store/internal/node_connection.h"

namespace hookrelay::store {
namespace {

using internal::ClusterMap;
using internal::NodeConnection;

std::string Sha1Hex(absl::string_view data) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// Appends "<prefix><n>\r\n" (a RESP array or bulk string header).
void AppendLength(char prefix, size_t n, std::string* out) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out->append(buf, static_cast<size_t>(end - buf));
}

absl::Status ParseHostPort(absl::string_view hostport, std::string* host, int* port) {
  const size_t colon = hostport.rfind(':');
  if (colon == absl::string_view::npos) {
    *host = std::string(hostport);
  } else {
    *host = std::string(hostport.substr(0, colon));
    if (!absl::SimpleAtoi(hostport.substr(colon + 1), port) || *port <= 0 || *port > 65535) {
      return absl::InvalidArgumentError("redis_url: bad port");
    }
  }
  if (host->empty()) return absl::InvalidArgumentError("redis_url: missing host");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  RedisEndpoint ep;
  if (absl::ConsumePrefix(&url, "rediss://")) {
    ep.tls = true;
  } else if (!absl::ConsumePrefix(&url, "redis://")) {
    return absl::InvalidArgumentError("redis_url: must start with redis:// or rediss://");
  }
  if (const size_t at = url.rfind('@'); at != absl::string_view::npos) {
    absl::string_view auth = url.substr(0, at);
    url.remove_prefix(at + 1);
    const size_t colon = auth.find(':');
    if (colon == absl::string_view::npos) {
      ep.password = std::string(auth);
    } else {
      ep.username = std::string(auth.substr(0, colon));
      ep.password = std::string(auth.substr(colon + 1));
    }
  }
  absl::string_view hosts = url;
  if (const size_t slash = url.find('/'); slash != absl::string_view::npos) {
    hosts = url.substr(0, slash);
    absl::string_view db = url.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &ep.db) || ep.db < 0)) {
      return absl::InvalidArgumentError("redis_url: database must be a number");
    }
  }
  for (absl::string_view hostport : absl::StrSplit(hosts, ',')) {
    std::string host;
    int port = 6379;
    if (absl::Status st = ParseHostPort(hostport, &host, &port); !st.ok()) return st;
    ep.nodes.push_back(absl::StrCat(host, ":", port));
    if (ep.nodes.size() == 1) {
      ep.host = host;
      ep.port = port;
    }
  }
  return ep;
}

absl::Status RedisOptions::Validate() const {
  if (connect_timeout <= absl::ZeroDuration() || command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("redis timeouts must be positive");
  }
  auto ep = ParseRedisUrl(url);
  if (!ep.ok()) return ep.status();
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(
        "redis_cert_file, redis_key_file: a client certificate needs both");
  }
  if (!ep->tls && (!ca_file.empty() || !cert_file.empty() || !tls_server_name.empty())) {
    return absl::InvalidArgumentError(
        "redis_url: TLS settings given, but the URL is not rediss:// (use rediss://host:port)");
  }
  if (ep->db != 0 && (mode == Mode::kCluster || ep->nodes.size() > 1)) {
    return absl::InvalidArgumentError("redis_url: a Redis Cluster has database 0 only");
  }
  return absl::OkStatus();
}

bool RedisReply::is_redirect() const {
  if (!is_error()) return false;
  for (absl::string_view p : {"MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (absl::StartsWith(str, p)) return true;
  }
  return false;
}

absl::Status RedisReply::ToStatus() const {
  if (type != Type::kError) return absl::OkStatus();
  if (is_redirect()) {
    return absl::UnavailableError(absl::StrCat("redis: the cluster is changing (", str, ")"));
  }
  // Credentials and ACL permissions are the operator's to fix, not a fault of ours.
  if (absl::StartsWith(str, "NOAUTH") || absl::StartsWith(str, "WRONGPASS")) {
    return absl::UnauthenticatedError(absl::StrCat("redis: ", str));
  }
  if (absl::StartsWith(str, "NOPERM")) {
    return absl::PermissionDeniedError(absl::StrCat("redis: the ACL user may not: ", str));
  }
  return absl::InternalError(absl::StrCat("redis: ", str));
}

void Pipeline::AppendHeader(size_t argc) {
  starts_.push_back(buffer_.size());
  AppendLength('*', argc, &buffer_);
}

void Pipeline::AppendArg(absl::string_view arg) {
  AppendLength('$', arg.size(), &buffer_);
  buffer_.append(arg.data(), arg.size());
  buffer_.append("\r\n", 2);
}

void Pipeline::Add(std::initializer_list<absl::string_view> argv) {
  Add(absl::Span<const absl::string_view>(argv.begin(), argv.size()));
}

template <typename Args>
void Pipeline::AddCommand(const Args& argv) {
  size_t bytes = 16;  // the header; each argument adds at most 16 bytes of framing
  for (const auto& a : argv) bytes += a.size() + 16;
  buffer_.reserve(buffer_.size() + bytes);  // std::string still grows geometrically
  AppendHeader(argv.size());
  for (const auto& a : argv) AppendArg(a);
}

void Pipeline::Add(absl::Span<const absl::string_view> argv) { AddCommand(argv); }

void Pipeline::Add(absl::Span<const std::string> argv) { AddCommand(argv); }

void Pipeline::AddEval(const RedisScript& script, absl::Span<const std::string> keys,
                       absl::Span<const std::string> args) {
  std::vector<std::string> argv = {"EVALSHA", script.sha(), std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  Add(absl::MakeConstSpan(argv));
  argv[0] = "EVAL";
  argv[1] = script.source();
  scripts_.push_back({size() - 1, std::move(argv)});
}

void Pipeline::Clear() {
  buffer_.clear();
  starts_.clear();
  scripts_.clear();
}

RedisScript::RedisScript(std::string source) : source_(std::move(source)), sha_(Sha1Hex(source_)) {}

}  // namespace hookrelay::store
