// Tests of the Redis client (URL parsing, commands, pipelines, scripts, reconnects) and the
// connection pool against a private redis-server.

#include "libs/store/redis_client.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/store/redis_pool.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace hookrelay::store {
namespace {

using ::hookrelay::testing::IsOk;
using ::hookrelay::testing::IsOkAndHolds;
using ::hookrelay::testing::RedisServer;
using ::hookrelay::testing::StatusIs;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using Type = RedisReply::Type;

TEST(ParseRedisUrlTest, ParsesHostPortAndDefaults) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint ep, ParseRedisUrl("redis://10.1.2.3:6380"));
  EXPECT_EQ(ep.host, "10.1.2.3");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.db, 0);
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "");

  ASSERT_OK_AND_ASSIGN(ep, ParseRedisUrl("redis://redis.internal"));
  EXPECT_EQ(ep.host, "redis.internal");
  EXPECT_EQ(ep.port, 6379);

  ASSERT_OK_AND_ASSIGN(ep, ParseRedisUrl("redis://localhost:6379/"));
  EXPECT_EQ(ep.db, 0);
}

TEST(ParseRedisUrlTest, ParsesPasswordUserAndDatabase) {
  ASSERT_OK_AND_ASSIGN(RedisEndpoint ep, ParseRedisUrl("redis://:s3cret@redis:6390/4"));
  EXPECT_EQ(ep.host, "redis");
  EXPECT_EQ(ep.port, 6390);
  EXPECT_EQ(ep.db, 4);
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "s3cret");

  ASSERT_OK_AND_ASSIGN(ep, ParseRedisUrl("redis://alice:pa:ss@redis:6390/15"));
  EXPECT_EQ(ep.username, "alice");
  EXPECT_EQ(ep.password, "pa:ss");
  EXPECT_EQ(ep.db, 15);

  ASSERT_OK_AND_ASSIGN(ep, ParseRedisUrl("redis://onlypass@redis"));
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "onlypass");
  EXPECT_EQ(ep.port, 6379);
}

TEST(ParseRedisUrlTest, RejectsMalformedUrlsNamingTheFlag) {
  for (const char* url : {"", "127.0.0.1:6379", "http://127.0.0.1:6379", "redis://",
                          "redis://:6379", "redis://host:0", "redis://host:65536",
                          "redis://host:port", "redis://host:6379/x", "redis://host:6379/-1"}) {
    EXPECT_THAT(ParseRedisUrl(url),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("redis_url")))
        << url;
  }
}

TEST(RedisOptionsTest, ValidateRejectsBadUrlAndTimeouts) {
  EXPECT_OK(RedisOptions().Validate());
  EXPECT_THAT(RedisOptions{.url = "tcp://x"}.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("redis_url")));
  EXPECT_THAT(RedisOptions{.command_timeout = absl::ZeroDuration()}.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

class RedisClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = RedisServer::Start().value(); }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override { ASSERT_OK(redis_->FlushAll()); }

  static absl::StatusOr<std::unique_ptr<RedisConnection>> Connect(absl::string_view url) {
    return RedisConnection::Connect(RedisOptions{.url = std::string(url)});
  }
  static std::string Url(absl::string_view auth, absl::string_view db = "") {
    return absl::StrCat("redis://", auth, "127.0.0.1:", redis_->port(), db);
  }

  inline static std::unique_ptr<RedisServer> redis_;
};

TEST_F(RedisClientTest, ConnectToClosedPortIsUnavailable) {
  const int port = testing::FreeLoopbackPort();
  ASSERT_NE(port, 0);
  EXPECT_THAT(Connect(absl::StrCat("redis://127.0.0.1:", port)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(absl::StrCat(port))));
}

TEST_F(RedisClientTest, ConnectRejectsBadUrl) {
  EXPECT_THAT(Connect("redis://127.0.0.1:notaport"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("redis_url")));
}

TEST_F(RedisClientTest, AuthenticatesAsAclUserAndSelectsDatabase) {
  if (redis_->cluster()) GTEST_SKIP() << "a Redis Cluster has database 0 only";
  ASSERT_OK(
      redis_->Command({"ACL", "SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all"}).status());
  absl::Cleanup drop_user = [] { (void)redis_->Command({"ACL", "DELUSER", "alice"}); };

  ASSERT_OK_AND_ASSIGN(auto conn, Connect(Url("alice:s3cret@", "/3")));
  ASSERT_OK_AND_ASSIGN(RedisReply info, conn->Command({"CLIENT", "INFO"}));
  EXPECT_THAT(info.str, HasSubstr("user=alice"));
  EXPECT_THAT(info.str, HasSubstr("db=3"));

  // The write lands in database 3, not in the default database 0.
  ASSERT_OK(conn->Command({"SET", "k", "v"}).status());
  EXPECT_THAT(redis_->Command({"EXISTS", "k"}), IsOkAndHolds("0"));
  EXPECT_THAT(redis_->Command({"INFO", "keyspace"}), IsOkAndHolds(HasSubstr("db3:keys=1")));
}

TEST_F(RedisClientTest, WrongPasswordFailsToConnect) {
  ASSERT_OK(
      redis_->Command({"ACL", "SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all"}).status());
  absl::Cleanup drop_user = [] { (void)redis_->Command({"ACL", "DELUSER", "alice"}); };
  auto conn = Connect(Url("alice:wrong@"));
  EXPECT_THAT(conn, StatusIs(::testing::Ne(absl::StatusCode::kOk), HasSubstr("AUTH")));
}

TEST_F(RedisClientTest, PasswordOnlyUrlAuthenticatesDefaultUser) {
  if (RedisServer::MastersFromEnvironment() > 1) {
    GTEST_SKIP() << "a cluster's replicas would need masterauth; redis_security_e2e_test "
                    "covers credentials on a cluster";
  }
  ASSERT_OK(redis_->Command({"CONFIG", "SET", "requirepass", "pw-1"}).status());
  absl::Cleanup restore = [] {
    auto admin = Connect(Url(":pw-1@"));
    if (admin.ok()) (void)(*admin)->Command({"CONFIG", "SET", "requirepass", ""});
  };

  ASSERT_OK_AND_ASSIGN(auto authed, Connect(Url(":pw-1@")));
  EXPECT_OK(authed->Ping());

  // Without the password the first command is refused, and the error says why.
  auto anonymous = Connect(Url(""));
  if (anonymous.ok()) {
    EXPECT_THAT((*anonymous)->Ping(),
                StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("NOAUTH")));
  } else {
    EXPECT_THAT(anonymous, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("NOAUTH")));
  }
}

TEST_F(RedisClientTest, CommandReturnsRepliesOfEachType) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  EXPECT_THAT(
      conn->Command({"SET", "k", std::string("a\0b", 3)}),
      IsOkAndHolds(AllOf(Field(&RedisReply::type, Type::kStatus), Field(&RedisReply::str, "OK"))));
  EXPECT_THAT(conn->Command({"GET", "k"}),
              IsOkAndHolds(AllOf(Field(&RedisReply::type, Type::kString),
                                 Field(&RedisReply::str, std::string("a\0b", 3)))));
  EXPECT_THAT(conn->Command({"GET", "missing"}),
              IsOkAndHolds(Field(&RedisReply::type, Type::kNil)));
  EXPECT_THAT(conn->Command({"INCRBY", "n", "41"}), IsOkAndHolds(Field(&RedisReply::integer, 41)));
  const std::vector<std::string> argv = {"RPUSH", "l", "x", "y"};
  ASSERT_OK(conn->Command(absl::MakeConstSpan(argv)).status());
  ASSERT_OK_AND_ASSIGN(RedisReply list, conn->Command({"LRANGE", "l", "0", "-1"}));
  ASSERT_EQ(list.type, Type::kArray);
  EXPECT_THAT(list.elements,
              ElementsAre(Field(&RedisReply::str, "x"), Field(&RedisReply::str, "y")));
}

TEST_F(RedisClientTest, CommandTurnsErrorReplyIntoInternal) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  ASSERT_OK(conn->Command({"SET", "s", "text"}).status());
  EXPECT_THAT(conn->Command({"INCR", "s"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("redis: ERR")));
  // The connection stays usable after an error reply.
  EXPECT_OK(conn->Ping());
}

TEST_F(RedisClientTest, PipelineReturnsRepliesInOrder) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  Pipeline p;
  for (int i = 0; i < 100; ++i) p.Add({"RPUSH", "seq", absl::StrCat(i)});
  p.Add({"LRANGE", "seq", "0", "-1"});
  p.Add({"GET", "nothing"});
  EXPECT_EQ(p.size(), 102u);
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies, conn->Execute(p));
  ASSERT_EQ(replies.size(), 102u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(replies[i].type, Type::kInteger);
    EXPECT_EQ(replies[i].integer, i + 1) << "reply " << i;
  }
  ASSERT_EQ(replies[100].elements.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(replies[100].elements[i].str, absl::StrCat(i));
  EXPECT_TRUE(replies[101].is_nil());
}

// Execute writes the pipeline itself, in as many sends as the socket takes: a pipeline of
// several megabytes (far more than a socket buffer) arrives whole and in order, twice on the
// same connection, and the same Pipeline can be cleared and reused.
TEST_F(RedisClientTest, PipelineOfSeveralMegabytesArrivesWhole) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  Pipeline p;
  for (int round = 0; round < 2; ++round) {
    p.Clear();
    std::vector<std::string> values;
    for (int i = 0; i < 64; ++i) {
      values.push_back(std::string(64 * 1024, static_cast<char>('a' + (i + round) % 26)));
      p.Add({"SET", absl::StrCat("big", i), values.back()});
    }
    for (int i = 0; i < 64; ++i) p.Add({"STRLEN", absl::StrCat("big", i)});
    p.Add({"GET", "big63"});
    ASSERT_GT(p.buffer().size(), 4u << 20);
    ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies, conn->Execute(p));
    ASSERT_EQ(replies.size(), 129u);
    for (int i = 0; i < 64; ++i) {
      EXPECT_EQ(replies[i].str, "OK");
      EXPECT_EQ(replies[64 + i].integer, 64 * 1024);
    }
    EXPECT_EQ(replies[128].str, values[63]);
  }
}

TEST_F(RedisClientTest, PipelineKeepsErrorRepliesInPlace) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  Pipeline p;
  p.Add({"SET", "s", "text"});
  p.Add({"INCR", "s"});
  p.Add({"NOSUCHCOMMAND"});
  p.Add({"GET", "s"});
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies, conn->Execute(p));
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_THAT(replies[1].ToStatus(), StatusIs(absl::StatusCode::kInternal, HasSubstr("integer")));
  EXPECT_TRUE(replies[2].is_error());
  EXPECT_EQ(replies[3].str, "text");
  EXPECT_OK(replies[3].ToStatus());
}

TEST_F(RedisClientTest, NestedRepliesKeepTheirShapeAcrossManyReads) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  // Large values, so that the replies arrive over many socket reads.
  const std::string big(100 * 1024, 'v');
  Pipeline p;
  // One hash tag: the MGET and the transaction stay in one slot, as a cluster requires.
  p.Add({"SET", "{k}a", big});
  p.Add({"XADD", "{k}s", "1-1", "f", "one", "g", big});
  p.Add({"XADD", "{k}s", "2-1", "f", "two"});
  p.Add({"MULTI"});
  p.Add({"SET", "{k}t", "text"});
  p.Add({"INCR", "{k}t"});  // fails inside the transaction
  p.Add({"MGET", "{k}a", "{k}missing", "{k}t"});
  p.Add({"EXEC"});
  p.Add({"XRANGE", "{k}s", "-", "+"});
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies, conn->Execute(p));
  ASSERT_EQ(replies.size(), 9u);

  // EXEC: [OK, error, [big, nil, "text"]].
  const RedisReply& exec = replies[7];
  ASSERT_EQ(exec.type, Type::kArray);
  ASSERT_EQ(exec.elements.size(), 3u);
  EXPECT_EQ(exec.elements[0].type, Type::kStatus);
  EXPECT_TRUE(exec.elements[1].is_error());
  const RedisReply& mget = exec.elements[2];
  ASSERT_EQ(mget.elements.size(), 3u);
  EXPECT_EQ(mget.elements[0].str, big);
  EXPECT_TRUE(mget.elements[1].is_nil());
  EXPECT_EQ(mget.elements[2].str, "text");

  // XRANGE: [[id, [field, value, ...]], ...].
  const RedisReply& range = replies[8];
  ASSERT_EQ(range.elements.size(), 2u);
  EXPECT_EQ(range.elements[0].elements[0].str, "1-1");
  EXPECT_THAT(range.elements[0].elements[1].elements,
              ElementsAre(Field(&RedisReply::str, "f"), Field(&RedisReply::str, "one"),
                          Field(&RedisReply::str, "g"), Field(&RedisReply::str, big)));
  EXPECT_EQ(range.elements[1].elements[0].str, "2-1");
  EXPECT_THAT(range.elements[1].elements[1].elements,
              ElementsAre(Field(&RedisReply::str, "f"), Field(&RedisReply::str, "two")));
  // The connection is in step for the next call.
  EXPECT_THAT(conn->Command({"GET", "{k}t"}), IsOkAndHolds(Field(&RedisReply::str, "text")));
}

TEST_F(RedisClientTest, EmptyPipelineSendsNothing) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  Pipeline p;
  EXPECT_THAT(conn->Execute(p), IsOkAndHolds(::testing::IsEmpty()));
  p.Add({"PING"});
  p.Clear();
  EXPECT_TRUE(p.empty());
  EXPECT_THAT(conn->Execute(p), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(RedisClientTest, EvalReloadsScriptAfterCacheFlush) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  RedisScript script("redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1] .. '!'");
  const std::vector<std::string> keys = {"k"};
  const std::vector<std::string> args = {"v1"};
  EXPECT_THAT(conn->Eval(script, keys, args), IsOkAndHolds(Field(&RedisReply::str, "v1!")));
  ASSERT_OK(redis_->Command({"SCRIPT", "FLUSH"}).status());
  EXPECT_THAT(redis_->Command({"SCRIPT", "EXISTS", script.sha()}), IsOkAndHolds("0"));
  EXPECT_THAT(conn->Eval(script, keys, args), IsOkAndHolds(Field(&RedisReply::str, "v1!")));
  EXPECT_THAT(redis_->Command({"GET", "k"}), IsOkAndHolds("v1"));
}

TEST_F(RedisClientTest, EvalReturnsScriptErrors) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  RedisScript script("return redis.error_reply('BAD thing')");
  EXPECT_THAT(conn->Eval(script, {}, {}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("BAD thing")));
}

TEST_F(RedisClientTest, ReconnectsAfterRedisRestart) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  ASSERT_OK(conn->Ping());
  ASSERT_OK(redis_->Restart());
  // The call in flight when the server went away may fail, as UNAVAILABLE; the next one
  // reconnects.
  EXPECT_THAT(conn->Ping(), AnyOf(IsOk(), StatusIs(absl::StatusCode::kUnavailable)));
  EXPECT_OK(conn->Ping());
  EXPECT_THAT(conn->Command({"SET", "after", "1"}), IsOk());
  EXPECT_THAT(redis_->Command({"GET", "after"}), IsOkAndHolds("1"));
}

TEST_F(RedisClientTest, CommandsWhileRedisIsDownAreUnavailable) {
  ASSERT_OK_AND_ASSIGN(auto conn, Connect(redis_->url()));
  ASSERT_OK(redis_->Stop());
  absl::Cleanup start_again = [] { ASSERT_OK(redis_->StartAgain()); };
  EXPECT_THAT(conn->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(conn->Ping(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("127.0.0.1")));
}

TEST_F(RedisClientTest, PoolReusesReleasedConnections) {
  RedisPool pool(RedisOptions{.url = redis_->url()});
  std::string first_id;
  {
    ASSERT_OK_AND_ASSIGN(RedisPool::Lease lease, pool.Acquire());
    ASSERT_OK_AND_ASSIGN(RedisReply id, lease->Command({"CLIENT", "ID"}));
    first_id = absl::StrCat(id.integer);
  }
  ASSERT_OK_AND_ASSIGN(RedisPool::Lease again, pool.Acquire());
  ASSERT_OK_AND_ASSIGN(RedisReply id, again->Command({"CLIENT", "ID"}));
  EXPECT_EQ(absl::StrCat(id.integer), first_id);
  // A second lease held at the same time is another connection.
  ASSERT_OK_AND_ASSIGN(RedisPool::Lease other, pool.Acquire());
  ASSERT_OK_AND_ASSIGN(RedisReply other_id, other->Command({"CLIENT", "ID"}));
  EXPECT_NE(absl::StrCat(other_id.integer), first_id);
}

TEST_F(RedisClientTest, PoolAcquireIsUnavailableWhenRedisIsDown) {
  const int port = testing::FreeLoopbackPort();
  RedisPool pool(RedisOptions{.url = absl::StrCat("redis://127.0.0.1:", port)});
  EXPECT_THAT(pool.Acquire(), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace hookrelay::store
