#include "libs/store/internal/node_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace hookrelay::store::internal {
namespace {

// hiredis builds replies through these callbacks, straight into our RedisReply: no
// redisReply tree to allocate, copy from and free. The reader's privdata points at the
// RedisReply the next reply goes to; an array's elements are sized when it is created, so a
// nested reply goes into its slot. Everything lives in the caller's vector: freeing is a no-op.
RedisReply* Slot(const redisReadTask* task) {
  if (task->parent == nullptr) return static_cast<RedisReply*>(task->privdata);
  auto* parent = static_cast<RedisReply*>(task->parent->obj);
  return &parent->elements[static_cast<size_t>(task->idx)];
}
void* CreateString(const redisReadTask* task, char* str, size_t len) {
  RedisReply* r = Slot(task);
  if (r == nullptr) return nullptr;
  r->type = task->type == REDIS_REPLY_ERROR    ? RedisReply::Type::kError
            : task->type == REDIS_REPLY_STATUS ? RedisReply::Type::kStatus
                                               : RedisReply::Type::kString;
  r->str.assign(str, len);
  return r;
}
void* CreateArray(const redisReadTask* task, int elements) {
  RedisReply* r = Slot(task);
  if (r == nullptr) return nullptr;
  r->type = RedisReply::Type::kArray;
  r->elements.resize(static_cast<size_t>(std::max(elements, 0)));
  return r;
}
void* CreateInteger(const redisReadTask* task, long long value) {
  RedisReply* r = Slot(task);
  if (r == nullptr) return nullptr;
  r->type = RedisReply::Type::kInteger;
  r->integer = value;
  return r;
}
void* CreateNil(const redisReadTask* task) {
  RedisReply* r = Slot(task);
  if (r == nullptr) return nullptr;
  r->type = RedisReply::Type::kNil;
  return r;
}
void FreeNothing(void*) {}
redisReplyObjectFunctions kIntoRedisReply = {CreateString, CreateArray, CreateInteger, CreateNil,
                                             FreeNothing};

// OpenSSL's queued errors as one line (and the queue emptied).
std::string OpenSslErrors() {
  std::string out;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "unknown TLS error" : out;
}

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

// One SSL_CTX per TLS configuration, made once: loading the system's CA store per connection
// would cost milliseconds each.
absl::StatusOr<SSL_CTX*> ContextFor(const TlsConfig& c) {
  static std::mutex mu;
  static auto* contexts = new std::map<std::tuple<std::string, std::string, std::string>,
                                       std::unique_ptr<SSL_CTX, SslCtxFree>>();
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = (*contexts)[{c.ca_file, c.cert_file, c.key_file}];
  if (slot != nullptr) return slot.get();
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return absl::InternalError(absl::StrCat("redis TLS: ", OpenSslErrors()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int loaded = c.ca_file.empty()
                         ? SSL_CTX_set_default_verify_paths(ctx.get())
                         : SSL_CTX_load_verify_locations(ctx.get(), c.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("redis_ca_file: cannot load ",
                     c.ca_file.empty() ? "the system CAs" : c.ca_file, ": ", OpenSslErrors()));
  }
  if (!c.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), c.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), c.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "redis_cert_file, redis_key_file: cannot use the client certificate: ", OpenSslErrors()));
    }
  }
  slot = std::move(ctx);
  return slot.get();
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Waits until `fd` is ready for `events` or `deadline`; false on timeout or error.
bool WaitFd(int fd, short events, absl::Time deadline) {
  while (true) {
    const int ms =
        static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, ms);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

// The socket, and the TLS session on it when there is one. All I/O is non-blocking, waited
// for with poll against the command timeout.
class NodeConnection::Transport {
 public:
  ~Transport() {
    ssl_.reset();
    if (fd_ >= 0) close(fd_);
  }

  static absl::StatusOr<std::unique_ptr<Transport>> Open(const Options& o) {
    auto t = std::unique_ptr<Transport>(new Transport(o.command_timeout));
    if (absl::Status st = t->ConnectTcp(o); !st.ok()) return st;
    if (o.tls) {
      if (absl::Status st = t->Handshake(o); !st.ok()) return st;
    }
    return t;
  }

  absl::Status Write(absl::string_view bytes) {
    const absl::Time deadline = absl::Now() + timeout_;
    while (!bytes.empty()) {
      ssize_t n;
      if (ssl_ != nullptr) {
        n = SSL_write(ssl_.get(), bytes.data(),
                      static_cast<int>(std::min<size_t>(bytes.size(), 1 << 30)));
        if (n <= 0) {
          if (!WaitSsl(static_cast<int>(n), deadline)) return Error("write");
          continue;
        }
      } else {
        n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR) continue;
          if ((errno == EAGAIN || errno == EWOULDBLOCK) && WaitFd(fd_, POLLOUT, deadline)) continue;
          return Error("write");
        }
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  // Reads what is available (waiting up to the command timeout for the first byte) into `out`.
  absl::Status Read(std::string* out) {
    const absl::Time deadline = absl::Now() + timeout_;
    char buf[64 * 1024];
    while (true) {
      ssize_t n;
      if (ssl_ != nullptr) {
        n = SSL_read(ssl_.get(), buf, sizeof(buf));
        if (n <= 0) {
          if (SSL_get_error(ssl_.get(), static_cast<int>(n)) == SSL_ERROR_ZERO_RETURN) {
            return absl::UnavailableError("connection closed");
          }
          if (!WaitSsl(static_cast<int>(n), deadline)) return Error("read");
          continue;
        }
      } else {
        n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n == 0) return absl::UnavailableError("connection closed");
        if (n < 0) {
          if (errno == EINTR) continue;
          if ((errno == EAGAIN || errno == EWOULDBLOCK) && WaitFd(fd_, POLLIN, deadline)) continue;
          return Error("read");
        }
      }
      out->append(buf, static_cast<size_t>(n));
      return absl::OkStatus();
    }
  }

  int fd() const { return fd_; }
  // Decrypted bytes waiting in the TLS session (poll would not see them).
  bool Pending() const { return ssl_ != nullptr && SSL_pending(ssl_.get()) > 0; }

 private:
  explicit Transport(absl::Duration timeout) : timeout_(timeout) {}

  absl::Status ConnectTcp(const Options& o) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(o.port);
    if (int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
      return absl::UnavailableError(absl::StrCat("resolving ", o.host, ": ", gai_strerror(rc)));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);
    const absl::Time deadline = absl::Now() + o.connect_timeout;
    std::string last_error = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
      if (rc < 0 && errno == EINPROGRESS && WaitFd(fd, POLLOUT, deadline)) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err == 0 ? errno : err;
      }
      if (rc == 0) {
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        fd_ = fd;
        return absl::OkStatus();
      }
      last_error = errno == EINPROGRESS ? "timed out" : std::strerror(errno);
      close(fd);
    }
    return absl::UnavailableError(last_error);
  }

  absl::Status Handshake(const Options& o) {
    auto ctx = ContextFor(o.tls_config);
    if (!ctx.ok()) return ctx.status();
    ssl_.reset(SSL_new(*ctx));
    if (ssl_ == nullptr || SSL_set_fd(ssl_.get(), fd_) != 1) {
      return absl::InternalError(absl::StrCat("TLS: ", OpenSslErrors()));
    }
    const std::string& name = o.tls_config.server_name.empty() ? o.host : o.tls_config.server_name;
    if (IsIpLiteral(name)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_.get(), name.c_str());
      SSL_set1_host(ssl_.get(), name.c_str());
    }
    const absl::Time deadline = absl::Now() + o.connect_timeout;
    while (true) {
      const int rc = SSL_connect(ssl_.get());
      if (rc == 1) return absl::OkStatus();
      const long verify = SSL_get_verify_result(ssl_.get());
      if (verify != X509_V_OK) {
        return absl::FailedPreconditionError(absl::StrCat(
            "TLS: the server's certificate was refused (", X509_verify_cert_error_string(verify),
            "); check redis_ca_file and redis_tls_server_name"));
      }
      if (!WaitSsl(rc, deadline)) {
        const std::string why = OpenSslErrors();
        return absl::FailedPreconditionError(absl::StrCat("TLS handshake failed: ", why));
      }
    }
  }

  // After an SSL call returned `rc` <= 0: waits for what it needs; false on a real error or
  // when the deadline passed.
  bool WaitSsl(int rc, absl::Time deadline) {
    switch (SSL_get_error(ssl_.get(), rc)) {
      case SSL_ERROR_WANT_READ:
        return WaitFd(fd_, POLLIN, deadline);
      case SSL_ERROR_WANT_WRITE:
        return WaitFd(fd_, POLLOUT, deadline);
      default:
        return false;
    }
  }

  absl::Status Error(absl::string_view what) {
    const int err = errno;
    std::string why = ssl_ != nullptr ? OpenSslErrors() : std::string(std::strerror(err));
    if (why == "unknown TLS error") why = err != 0 ? std::strerror(err) : "timed out";
    return absl::UnavailableError(absl::StrCat(what, ": ", why));
  }

  const absl::Duration timeout_;
  int fd_ = -1;
  std::unique_ptr<SSL, SslFree> ssl_;
};

NodeConnection::Options NodeOptionsFor(const RedisOptions& options, const RedisEndpoint& endpoint,
                                       const std::string& address) {
  NodeConnection::Options o;
  const size_t colon = address.rfind(':');
  o.host = address.substr(0, colon);
  o.port = std::atoi(address.c_str() + colon + 1);
  o.tls = endpoint.tls;
  o.tls_config = {.ca_file = options.ca_file,
                  .cert_file = options.cert_file,
                  .key_file = options.key_file,
                  .server_name = options.tls_server_name};
  o.username = endpoint.username;
  o.password = endpoint.password;
  o.db = endpoint.db;
  o.connect_timeout = options.connect_timeout;
  o.command_timeout = options.command_timeout;
  return o;
}

void NodeConnection::ReaderFree::operator()(void* r) const {
  redisReaderFree(static_cast<redisReader*>(r));
}

NodeConnection::NodeConnection(std::unique_ptr<Transport> transport, std::string address)
    : transport_(std::move(transport)), address_(std::move(address)) {
  redisReader* reader = redisReaderCreateWithFunctions(&kIntoRedisReply);
  // hiredis frees its read buffer whenever it is empty and over 16 KiB, so every large
  // pipelined reply grew a fresh buffer, often by mmap and page faults. Keep it.
  reader->maxbuf = 0;
  reader_.reset(reader);
}

NodeConnection::~NodeConnection() = default;

absl::StatusOr<std::unique_ptr<NodeConnection>> NodeConnection::Connect(const Options& options) {
  const std::string address = absl::StrCat(options.host, ":", options.port);
  auto transport = Transport::Open(options);
  if (!transport.ok()) {
    const absl::Status& st = transport.status();
    return absl::Status(st.code(), absl::StrCat("redis ", address, ": ", st.message()));
  }
  std::unique_ptr<NodeConnection> c(new NodeConnection(*std::move(transport), address));
  if (absl::Status st = c->Setup(options); !st.ok()) return st;
  return c;
}

absl::Status NodeConnection::Setup(const Options& o) {
  Pipeline p;
  if (!o.password.empty()) {
    if (o.username.empty()) {
      p.Add({"AUTH", o.password});
    } else {
      p.Add({"AUTH", o.username, o.password});
    }
  }
  if (o.db != 0) p.Add({"SELECT", std::to_string(o.db)});
  if (p.empty()) return absl::OkStatus();
  auto executed = Execute(p);
  if (!executed.ok()) return executed.status();
  const std::vector<RedisReply>& replies = *executed;
  size_t i = 0;
  if (!o.password.empty()) {
    if (replies[i].is_error()) {
      return absl::UnauthenticatedError(absl::StrCat("redis ", address_, ": AUTH",
                                                     o.username.empty() ? "" : " as ", o.username,
                                                     " refused: ", replies[i].str));
    }
    ++i;
  }
  if (o.db != 0 && replies[i].is_error()) {
    return absl::FailedPreconditionError(
        absl::StrCat("redis ", address_, ": SELECT ", o.db, ": ", replies[i].str));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RedisReply>> NodeConnection::Execute(const Pipeline& p) {
  std::vector<RedisReply> replies;
  if (absl::Status st = Send(p.buffer()); !st.ok()) return st;
  if (absl::Status st = Receive(p.size(), &replies); !st.ok()) return st;
  return replies;
}

absl::Status NodeConnection::Fail(absl::string_view what) {
  broken_ = true;
  return absl::UnavailableError(absl::StrCat("redis ", address_, ": ", what));
}

absl::Status NodeConnection::Send(absl::string_view bytes) {
  if (broken_) return Fail("connection lost");
  if (absl::Status st = transport_->Write(bytes); !st.ok()) return Fail(st.message());
  return absl::OkStatus();
}

absl::Status NodeConnection::Receive(size_t count, std::vector<RedisReply>* out) {
  if (broken_) return Fail("connection lost");
  auto* reader = static_cast<redisReader*>(reader_.get());
  const size_t first = out->size();
  out->resize(first + count);
  for (size_t i = first; i < out->size(); ++i) {
    reader->privdata = &(*out)[i];  // where kIntoRedisReply builds it
    while (true) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
        return Fail(absl::StrCat("protocol error: ", reader->errstr));
      }
      if (raw != nullptr) break;
      read_buffer_.clear();
      if (absl::Status st = transport_->Read(&read_buffer_); !st.ok()) return Fail(st.message());
      if (redisReaderFeed(reader, read_buffer_.data(), read_buffer_.size()) != REDIS_OK) {
        return Fail("protocol error");
      }
    }
  }
  reader->privdata = nullptr;
  return absl::OkStatus();
}

int NodeConnection::PollFd() const {
  auto* reader = static_cast<redisReader*>(reader_.get());
  if (broken_ || reader->pos < reader->len || transport_->Pending()) return -1;
  return transport_->fd();
}

}  // namespace hookrelay::store::internal
