#include "libs/store/redis_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, redis_url, "redis://127.0.0.1:6379",
          "redis[s]://[[user]:password@]host:port[,host:port...][/db]; several hosts are seed "
          "nodes of a Redis Cluster, rediss:// is TLS");
ABSL_FLAG(std::string, redis_username, "", "ACL user (replaces the URL's)");
ABSL_FLAG(std::string, redis_password, "", "Password (replaces the URL's; prefer the env var)");
ABSL_FLAG(std::string, redis_cluster, "auto",
          "auto (ask the first node), on (Redis Cluster) or off (one standalone Redis)");
ABSL_FLAG(std::string, redis_ca_file, "", "rediss://: PEM CA bundle (default: the system's)");
ABSL_FLAG(std::string, redis_cert_file, "", "rediss://: PEM client certificate (mutual TLS)");
ABSL_FLAG(std::string, redis_key_file, "", "rediss://: PEM client private key (mutual TLS)");
ABSL_FLAG(std::string, redis_tls_server_name, "",
          "rediss://: name to verify and send as SNI (default: the URL's host)");

namespace hookrelay::store {
namespace {

// The URL with its credentials replaced by `user` / `password` where those are set.
std::string WithCredentials(std::string url, const std::string& user, const std::string& password) {
  if (user.empty() && password.empty()) return url;
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;  // Validate() names the problem
  const size_t start = scheme + 3;
  const size_t at = url.find('@', start);
  std::string old_user, old_password;
  if (at != std::string::npos) {
    const std::string auth = url.substr(start, at - start);
    const size_t colon = auth.find(':');
    old_user = colon == std::string::npos ? "" : auth.substr(0, colon);
    old_password = colon == std::string::npos ? auth : auth.substr(colon + 1);
    url.erase(start, at - start + 1);
  }
  const std::string auth = absl::StrCat(user.empty() ? old_user : user, ":",
                                        password.empty() ? old_password : password, "@");
  url.insert(start, auth);
  return url;
}

}  // namespace

absl::StatusOr<RedisOptions> RedisOptionsFromFlags() {
  RedisOptions o;
  o.url = WithCredentials(absl::GetFlag(FLAGS_redis_url), absl::GetFlag(FLAGS_redis_username),
                          absl::GetFlag(FLAGS_redis_password));
  o.ca_file = absl::GetFlag(FLAGS_redis_ca_file);
  o.cert_file = absl::GetFlag(FLAGS_redis_cert_file);
  o.key_file = absl::GetFlag(FLAGS_redis_key_file);
  o.tls_server_name = absl::GetFlag(FLAGS_redis_tls_server_name);
  const std::string mode = absl::GetFlag(FLAGS_redis_cluster);
  if (mode == "auto") {
    o.mode = RedisOptions::Mode::kAuto;
  } else if (mode == "on" || mode == "true") {
    o.mode = RedisOptions::Mode::kCluster;
  } else if (mode == "off" || mode == "false") {
    o.mode = RedisOptions::Mode::kStandalone;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("redis_cluster: must be auto, on or off, not \"", mode, "\""));
  }
  if (absl::Status st = o.Validate(); !st.ok()) return st;
  return o;
}

}  // namespace hookrelay::store
