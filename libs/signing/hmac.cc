#include "libs/signing/hmac.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace hookrelay::signing {
namespace {

struct MacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

// Drains OpenSSL's thread-local error queue into one line.
std::string OpenSslErrors() {
  std::string out;
  char buf[256];
  while (unsigned long err = ERR_get_error()) {
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "unknown error" : out;
}

// Returns an HMAC context bound to the digest, or null (with the OpenSSL error queued).
MacCtxPtr NewHmacContext(HmacAlgorithm algorithm) {
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  if (mac == nullptr) return nullptr;
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));  // holds its own reference to `mac`
  if (ctx == nullptr) return nullptr;
  char sha1[] = "SHA1";
  char sha256[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                       algorithm == HmacAlgorithm::kSha1 ? sha1 : sha256, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1) return nullptr;
  return ctx;
}

// A thread's HMAC context for one digest, and the key it was last initialised with.
struct ThreadHmac {
  MacCtxPtr ctx;
  std::string key;
  bool keyed = false;  // `key` is the context's key
};

// The calling thread's context for `algorithm`, created on first use (ctx null on failure).
ThreadHmac& ThreadContext(HmacAlgorithm algorithm) {
  thread_local ThreadHmac contexts[2];
  ThreadHmac& slot = contexts[algorithm == HmacAlgorithm::kSha1 ? 0 : 1];
  if (slot.ctx == nullptr) slot.ctx = NewHmacContext(algorithm);
  return slot;
}

[[noreturn]] void DieOnOpenSslFailure() {
  std::fprintf(stderr, "hookrelay::signing: OpenSSL HMAC failed: %s\n", OpenSslErrors().c_str());
  std::abort();
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

HmacDigest ComputeHmac(HmacAlgorithm algorithm, absl::string_view key,
                       std::initializer_list<absl::string_view> parts) {
  ThreadHmac& hmac = ThreadContext(algorithm);
  EVP_MAC_CTX* ctx = hmac.ctx.get();
  if (ctx == nullptr) DieOnOpenSslFailure();
  if (hmac.keyed && hmac.key == key) {
    // The same key as last time (a worker signs many requests for one hook in a row): a
    // null key makes OpenSSL restart from the keyed state it kept, without hashing the key
    // pads again.
    if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1) DieOnOpenSslFailure();
  } else {
    hmac.keyed = false;
    // Never a null pointer here, even for an empty key: that would mean "the previous key".
    static const unsigned char kEmptyKey = 0;
    const unsigned char* key_bytes = key.empty() ? &kEmptyKey : Bytes(key);
    if (EVP_MAC_init(ctx, key_bytes, key.size(), nullptr) != 1) DieOnOpenSslFailure();
    hmac.key.assign(key.data(), key.size());
    hmac.keyed = true;
  }
  for (absl::string_view part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx, Bytes(part), part.size()) != 1) {
      DieOnOpenSslFailure();
    }
  }
  HmacDigest digest;
  if (EVP_MAC_final(ctx, digest.bytes.data(), &digest.size, digest.bytes.size()) != 1) {
    DieOnOpenSslFailure();
  }
  return digest;
}

absl::Status CheckHmacAvailable(HmacAlgorithm algorithm) {
  if (ThreadContext(algorithm).ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("signing: OpenSSL cannot compute HMAC: ", OpenSslErrors()));
  }
  return absl::OkStatus();
}

}  // namespace hookrelay::signing
