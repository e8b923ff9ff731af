#include "libs/store/redis_client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/store/hiredis_ptr.h"

namespace hookrelay::store {
namespace {

// hiredis builds replies through these callbacks, straight into our RedisReply: no
// redisReply tree to allocate, copy from and free. The reader's privdata points at the
// RedisReply the next reply goes to (Execute sizes its vector first, so it stays put); an
// array's elements are sized when it is created, so a nested reply goes into its slot.
// Everything lives in Execute's vector: freeing is a no-op.
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

}  // namespace

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  RedisEndpoint ep;
  if (!absl::ConsumePrefix(&url, "redis://")) {
    return absl::InvalidArgumentError("redis_url: must start with redis://");
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
  absl::string_view hostport = url;
  if (const size_t slash = url.find('/'); slash != absl::string_view::npos) {
    hostport = url.substr(0, slash);
    absl::string_view db = url.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &ep.db) || ep.db < 0)) {
      return absl::InvalidArgumentError("redis_url: database must be a number");
    }
  }
  const size_t colon = hostport.rfind(':');
  if (colon == absl::string_view::npos) {
    ep.host = std::string(hostport);
  } else {
    ep.host = std::string(hostport.substr(0, colon));
    if (!absl::SimpleAtoi(hostport.substr(colon + 1), &ep.port) || ep.port <= 0 ||
        ep.port > 65535) {
      return absl::InvalidArgumentError("redis_url: bad port");
    }
  }
  if (ep.host.empty()) return absl::InvalidArgumentError("redis_url: missing host");
  return ep;
}

absl::Status RedisOptions::Validate() const {
  if (connect_timeout <= absl::ZeroDuration() || command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("redis timeouts must be positive");
  }
  return ParseRedisUrl(url).status();
}

absl::Status RedisReply::ToStatus() const {
  if (type != Type::kError) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("redis: ", str));
}

namespace {

// Appends "<prefix><n>\r\n" (a RESP array or bulk string header).
void AppendLength(char prefix, size_t n, std::string* out) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out->append(buf, static_cast<size_t>(end - buf));
}

}  // namespace

void Pipeline::AppendHeader(size_t argc) {
  AppendLength('*', argc, &buffer_);
  ++count_;
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
  scripts_.push_back({count_ - 1, std::move(argv)});
}

void Pipeline::Clear() {
  buffer_.clear();
  count_ = 0;
  scripts_.clear();
}

RedisScript::RedisScript(std::string source) : source_(std::move(source)), sha_(Sha1Hex(source_)) {}

class RedisConnection::Impl {
 public:
  Impl(RedisOptions options, RedisEndpoint endpoint)
      : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

  absl::Status EnsureConnected() {
    if (ctx_ != nullptr) return absl::OkStatus();
    const timeval tv = absl::ToTimeval(options_.connect_timeout);
    ContextPtr ctx(redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv));
    if (ctx == nullptr || ctx->err != 0) {
      return absl::UnavailableError(absl::StrCat("redis ", endpoint_.host, ":", endpoint_.port,
                                                 ": ", ctx ? ctx->errstr : "out of memory"));
    }
    redisSetTimeout(ctx.get(), absl::ToTimeval(options_.command_timeout));
    // hiredis frees its read buffer whenever it is empty and over 16 KiB, so every large
    // pipelined reply (a batch of events, a stream read) grew a fresh buffer, often by mmap
    // and page faults. Keep it.
    ctx->reader->maxbuf = 0;
    ctx->reader->fn = &kIntoRedisReply;
    ctx_ = std::move(ctx);
    if (!endpoint_.password.empty()) {
      Pipeline p;
      if (endpoint_.username.empty()) {
        p.Add({"AUTH", endpoint_.password});
      } else {
        p.Add({"AUTH", endpoint_.username, endpoint_.password});
      }
      if (absl::Status st = RunSetup(p); !st.ok()) return Annotate(st, "redis AUTH");
    }
    if (endpoint_.db != 0) {
      Pipeline p;
      p.Add({"SELECT", std::to_string(endpoint_.db)});
      if (absl::Status st = RunSetup(p); !st.ok()) return Annotate(st, "redis SELECT");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<RedisReply>> Execute(const Pipeline& pipeline) {
    if (pipeline.empty()) return std::vector<RedisReply>();
    if (absl::Status sent = Send(pipeline); !sent.ok()) return sent;
    return Receive(pipeline.size());
  }

  absl::Status Send(const Pipeline& pipeline) {
    if (pipeline.empty()) return absl::OkStatus();
    absl::Status connected = EnsureConnected();
    if (!connected.ok()) return connected;
    // Written here rather than by hiredis, which would copy the pipeline into its output
    // buffer first (a fresh allocation, page faults and all, per large pipeline).
    absl::string_view out = pipeline.buffer();
    while (!out.empty()) {
      const ssize_t n = ::send(ctx_->fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {  // EAGAIN: the command timeout (SO_SNDTIMEO) passed
        return Drop(absl::StrCat("write: ", n < 0 ? std::strerror(errno) : "closed"));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<RedisReply>> Receive(size_t count) {
    if (count == 0) return std::vector<RedisReply>();
    if (ctx_ == nullptr) return Drop("connection lost");
    std::vector<RedisReply> replies(count);
    for (RedisReply& reply : replies) {
      ctx_->reader->privdata = &reply;  // where kIntoRedisReply builds it
      void* raw = nullptr;
      const int rc = redisGetReply(ctx_.get(), &raw);
      if (rc != REDIS_OK || raw == nullptr) return Drop();
    }
    ctx_->reader->privdata = nullptr;
    return replies;
  }

  // The socket to poll, or -1 when there is nothing to wait for: no connection (Receive
  // reports it) or bytes already buffered by the reader.
  int PollFd() const {
    if (ctx_ == nullptr || ctx_->reader->pos < ctx_->reader->len) return -1;
    return ctx_->fd;
  }

 private:
  // Runs a connection-setup command; closes the connection if it fails.
  absl::Status RunSetup(const Pipeline& p) {
    auto replies = Execute(p);
    if (!replies.ok()) return replies.status();
    absl::Status st = (*replies)[0].ToStatus();
    if (!st.ok()) ctx_.reset();
    return st;
  }

  absl::Status Drop(std::string err = "") {
    if (err.empty()) err = ctx_ && ctx_->err ? ctx_->errstr : "connection lost";
    ctx_.reset();
    return absl::UnavailableError(
        absl::StrCat("redis ", endpoint_.host, ":", endpoint_.port, ": ", err));
  }

  static absl::Status Annotate(absl::Status st, absl::string_view what) {
    if (st.ok()) return st;
    return absl::Status(st.code(), absl::StrCat(what, ": ", st.message()));
  }

  RedisOptions options_;
  RedisEndpoint endpoint_;
  ContextPtr ctx_;
};

RedisConnection::RedisConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisConnection::~RedisConnection() = default;

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const RedisOptions& options) {
  absl::Status valid = options.Validate();
  if (!valid.ok()) return valid;
  auto endpoint = ParseRedisUrl(options.url);
  if (!endpoint.ok()) return endpoint.status();
  auto impl = std::make_unique<Impl>(options, *std::move(endpoint));
  absl::Status connected = impl->EnsureConnected();
  if (!connected.ok()) return connected;
  return std::unique_ptr<RedisConnection>(new RedisConnection(std::move(impl)));
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Execute(const Pipeline& pipeline) {
  auto replies = impl_->Execute(pipeline);
  if (!replies.ok()) return replies;
  // Scripts Redis no longer knew (it restarted, or SCRIPT FLUSH): run each once more by source.
  for (const Pipeline::ScriptCall& call : pipeline.scripts_) {
    RedisReply& reply = (*replies)[call.index];
    if (!reply.is_error() || !absl::StartsWith(reply.str, "NOSCRIPT")) continue;
    Pipeline again;
    again.Add(absl::MakeConstSpan(call.eval));
    auto r = impl_->Execute(again);
    if (!r.ok()) return r.status();
    reply = std::move((*r)[0]);
  }
  return replies;
}

absl::Status RedisConnection::Send(const Pipeline& pipeline) { return impl_->Send(pipeline); }

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Receive(size_t count) {
  return impl_->Receive(count);
}

class WakeSignal::Fd {
 public:
  Fd() : fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  const int fd;
};

WakeSignal::WakeSignal() : fd_(std::make_unique<Fd>()) {}
WakeSignal::~WakeSignal() = default;

void WakeSignal::Notify() const {
  const uint64_t one = 1;
  (void)!write(fd_->fd, &one, sizeof(one));
}

void WakeSignal::Clear() const {
  uint64_t value = 0;
  (void)!read(fd_->fd, &value, sizeof(value));
}

std::vector<size_t> RedisConnection::WaitReadable(absl::Span<RedisConnection* const> conns,
                                                  const WakeSignal* wake, absl::Duration timeout) {
  std::vector<size_t> ready;
  std::vector<pollfd> fds;
  std::vector<size_t> index;  // of each polled connection in `conns`
  for (size_t i = 0; i < conns.size(); ++i) {
    const int fd = conns[i]->impl_->PollFd();
    if (fd < 0) {
      ready.push_back(i);
    } else {
      fds.push_back({fd, POLLIN, 0});
      index.push_back(i);
    }
  }
  if (wake != nullptr) fds.push_back({wake->fd_->fd, POLLIN, 0});
  const int wait_ms = ready.empty() ? static_cast<int>(absl::ToInt64Milliseconds(timeout)) : 0;
  int n = ::poll(fds.data(), fds.size(), std::max(0, wait_ms));
  while (n < 0 && errno == EINTR) n = ::poll(fds.data(), fds.size(), 0);
  for (size_t k = 0; n > 0 && k < index.size(); ++k) {
    if (fds[k].revents != 0) ready.push_back(index[k]);
  }
  return ready;
}

namespace {

// The one reply of a single-command pipeline, with an error reply as a Status.
absl::StatusOr<RedisReply> SingleReply(absl::StatusOr<std::vector<RedisReply>> replies) {
  if (!replies.ok()) return replies.status();
  RedisReply& reply = (*replies)[0];
  if (reply.is_error()) return reply.ToStatus();
  return std::move(reply);
}

}  // namespace

absl::StatusOr<RedisReply> RedisConnection::Command(std::initializer_list<absl::string_view> argv) {
  Pipeline p;
  p.Add(argv);
  return SingleReply(impl_->Execute(p));
}

absl::StatusOr<RedisReply> RedisConnection::Command(absl::Span<const std::string> argv) {
  Pipeline p;
  p.Add(argv);
  return SingleReply(impl_->Execute(p));
}

absl::StatusOr<RedisReply> RedisConnection::Eval(const RedisScript& script,
                                                 absl::Span<const std::string> keys,
                                                 absl::Span<const std::string> args) {
  const std::string numkeys = std::to_string(keys.size());
  for (const bool by_sha : {true, false}) {
    std::vector<absl::string_view> argv = {by_sha ? "EVALSHA" : "EVAL",
                                           by_sha ? script.sha() : script.source(), numkeys};
    argv.reserve(3 + keys.size() + args.size());
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    Pipeline p;
    p.Add(absl::MakeConstSpan(argv));
    auto replies = impl_->Execute(p);
    if (!replies.ok()) return replies.status();
    RedisReply& reply = (*replies)[0];
    if (by_sha && reply.is_error() && absl::StartsWith(reply.str, "NOSCRIPT")) continue;
    if (reply.is_error()) return reply.ToStatus();
    return std::move(reply);
  }
  return absl::InternalError("redis: script could not be loaded");
}

absl::Status RedisConnection::Ping() { return Command({"PING"}).status(); }

}  // namespace hookrelay::store
