#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/signing/standard_signer.h"

namespace hookrelay::signing {

// One HTTP request header.
struct Header {
  std::string name;
  std::string value;
};

// Returns OK if `signing` can sign requests. INVALID_ARGUMENT with a message starting with the
// field at fault: "signing.scheme", "signing.timestamp_format", "signing.timestamp_source",
// "signing.secret", "signing.previous_secrets[i].secret" / ".expires_at", "signing.header",
// "signing.prefix", "signing.timestamp_header". Used by the registry on create and update;
// ignores expiry.
absl::Status ValidateSigning(const hookrelay::v1::Signing& signing);

// The header that carries the previous secrets' signatures of a hex scheme during a
// rotation's grace period: `signature_header` + "-Previous".
std::string PreviousSignatureHeader(absl::string_view signature_header);

// The per-webhook signer the worker uses: the signing configuration turned into ready keys,
// built once per hook (or when its configuration changes). Thread-safe: Sign() is const.
//
// Per scheme (UNSPECIFIED means STANDARD):
// * STANDARD: `webhook-id`, `webhook-timestamp` (unix seconds of the attempt) and
//   `webhook-signature` with "v1,<base64>" for the current secret, then each active previous
//   secret, space-separated.
// * HMAC_SHA256_HEX / HMAC_SHA1_HEX: `header` (default "X-Hub-Signature-256" /
//   "X-Hub-Signature") = `prefix` + lowercase hex HMAC of the body with the current secret,
//   plus `timestamp_header` (not signed) if set, carrying the attempt's time or (with
//   TIMESTAMP_SOURCE_EVENT) the event's. GitHub-style receivers compare one value, so during
//   a rotation's grace period the active previous secrets sign in a second header,
//   PreviousSignatureHeader(header) = "<prefix><hex>" values joined by ", " (newest first):
//   a receiver still holding the old secret checks that header until it has the new one.
// * STRIPE: `header` (default "Stripe-Signature") = "t=<ts>,v1=<hex>[,v1=<hex>...]", one v1
//   per active secret, over "<ts>.<body>" with the attempt's unix seconds.
// * NONE: no headers.
// Previous secrets go newest (latest expiry) first. The hex and Stripe schemes key HMAC with
// the secret string itself ("whsec_" included), as their receivers' libraries do; STANDARD
// decodes the base64 after "whsec_".
class RequestSigner {
 public:
  // Validates `signing` (see ValidateSigning) and prepares keys for every active secret: the
  // current one and previous ones whose expires_at is after `now`. Each previous secret
  // signs only attempts before its expires_at.
  static absl::StatusOr<RequestSigner> Create(const hookrelay::v1::Signing& signing,
                                              absl::Time now);

  // Appends the signature headers for one request to `*out`. `delivery_id` becomes
  // `webhook-id`; it must be header-safe (our generated ids are). `attempt_time` is when
  // this attempt is sent, `event_time` the event's occurred_at.
  void Sign(absl::string_view delivery_id, absl::Time attempt_time,
            const google::protobuf::Timestamp& event_time, absl::string_view body,
            std::vector<Header>* out) const;

 private:
  RequestSigner() = default;

  void SignStandard(absl::string_view delivery_id, absl::Time ts, absl::string_view body,
                    std::vector<Header>* out) const;
  void SignHex(absl::Time attempt_time, absl::Time header_time, absl::string_view body,
               std::vector<Header>* out) const;
  std::string HexSignature(const std::string& key, absl::string_view body) const;
  void SignStripe(absl::Time ts, absl::string_view body, std::vector<Header>* out) const;

  hookrelay::v1::SigningScheme scheme_ = hookrelay::v1::SIGNING_SCHEME_NONE;
  std::vector<StandardSigner> standard_signers_;  // STANDARD: current first
  std::vector<std::string> keys_;                 // hex schemes and STRIPE: current first
  // When each secret above stops signing (the current one never): a signer built before a
  // grace period ends stops using the old secret at its expires_at, not when rebuilt.
  std::vector<absl::Time> expires_;
  std::string header_;
  std::string previous_header_;  // hex schemes
  std::string prefix_;
  std::string timestamp_header_;
  bool iso8601_timestamp_ = false;
  bool event_timestamp_ = false;
};

}  // namespace hookrelay::signing
