// HttpSender over https against a real TLS server (cpp-httplib's SSLServer) with a
// certificate from a CA made for the test: verification, the CA option, and kept-alive
// TLS connections.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "libs/http/sender.h"
#include "tests/integration/http/send_and_wait.h"
#include "tests/support/wait.h"

namespace hookrelay::http {
namespace {

using ::hookrelay::testing::WaitFor;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `cn`, signed by `issuer_key` (self-signed when `issuer` is null).
Cert MakeCert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ca ? 1 : 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  if (ca) {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  X509_sign(cert.get(), issuer_key, EVP_sha256());
  return cert;
}

template <typename T, typename Writer>
void WritePem(const std::string& path, T* item, Writer write) {
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr) << path;
  write(f, item);
  fclose(f);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("hookrelay-tls-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->random_seed());
    std::filesystem::create_directories(dir_);
    Key ca_key(EVP_EC_gen("P-256"));
    Cert ca = MakeCert("hookrelay test CA", ca_key.get(), nullptr, ca_key.get(), true);
    Key key(EVP_EC_gen("P-256"));
    Cert cert = MakeCert("localhost", key.get(), ca.get(), ca_key.get(), false);
    WritePem(Path("ca.pem"), ca.get(), [](FILE* f, X509* c) { PEM_write_X509(f, c); });
    WritePem(Path("cert.pem"), cert.get(), [](FILE* f, X509* c) { PEM_write_X509(f, c); });
    WritePem(Path("key.pem"), key.get(), [](FILE* f, EVP_PKEY* k) {
      PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr);
    });

    server_ =
        std::make_unique<httplib::SSLServer>(Path("cert.pem").c_str(), Path("key.pem").c_str());
    ASSERT_TRUE(server_->is_valid());
    server_->Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      std::lock_guard<std::mutex> lock(mu_);
      remote_ports_.insert(req.remote_port);
      res.status = 201;
      res.set_content(absl::StrCat("got ", req.body.size(), " bytes"), "text/plain");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    ASSERT_TRUE(WaitFor([this] { return server_->is_running(); }, absl::Seconds(10)));
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    std::filesystem::remove_all(dir_);
  }

  std::string Path(const char* name) const { return (dir_ / name).string(); }
  std::string Url(const char* host) const {
    return absl::StrCat("https://", host, ":", port_, "/hook");
  }

  static HttpResponse SendOne(HttpSender& sender, std::string url) {
    return SendAndWait(sender, HttpRequest{.url = std::move(url),
                                           .headers = {{"Content-Type", "application/json"}},
                                           .body = R"({"tls":true})"});
  }

  std::unique_ptr<HttpSender> Sender(std::string ca_file) {
    auto guard = AddressGuard::Create({"127.0.0.0/8"});
    EXPECT_TRUE(guard.ok());
    auto s = HttpSender::Start({.ca_file = std::move(ca_file)}, *std::move(guard));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  std::filesystem::path dir_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::set<int> remote_ports_;  // guarded by mu_: the client ports the server saw
};

TEST_F(TlsTest, VerifiedCertificateDeliversOverOneKeptAliveConnection) {
  auto sender = Sender(Path("ca.pem"));
  ASSERT_NE(sender, nullptr);
  for (const char* host : {"localhost", "127.0.0.1", "localhost"}) {
    const HttpResponse r = SendOne(*sender, Url(host));
    ASSERT_EQ(r.failure, FailureKind::kNone) << host << ": " << r.error;
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(r.body, "got 12 bytes");
  }
  EXPECT_EQ(requests_.load(), 3);
  // localhost and 127.0.0.1 are two origins: one connection each, the third request reused.
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(remote_ports_.size(), 2u);
}

TEST_F(TlsTest, CertificateFromAnUnknownCaIsATlsFailure) {
  auto sender = Sender("");  // the system's CAs do not know the test CA
  ASSERT_NE(sender, nullptr);
  const HttpResponse r = SendOne(*sender, Url("localhost"));
  EXPECT_EQ(r.failure, FailureKind::kTls) << r.error;
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(requests_.load(), 0);
}

TEST_F(TlsTest, UnreadableCaFileIsRefusedAtStart) {
  auto guard = AddressGuard::Create({"127.0.0.0/8"});
  ASSERT_TRUE(guard.ok());
  auto s = HttpSender::Start({.ca_file = Path("missing.pem")}, *std::move(guard));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.status().message(), "ca_file:"));
}

}  // namespace
}  // namespace hookrelay::http
