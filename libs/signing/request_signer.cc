#include "libs/signing/request_signer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/core/status_macros.h"
#include "libs/signing/encoding.h"
#include "libs/signing/hmac.h"
#include "libs/signing/secret.h"

namespace hookrelay::signing {
namespace {

using ::hookrelay::v1::PreviousSecret;
using ::hookrelay::v1::Signing;
using ::hookrelay::v1::SigningScheme;

constexpr size_t kMaxHeaderNameLength = 256;
constexpr absl::string_view kPreviousSuffix = "-Previous";
constexpr size_t kMaxPrefixLength = 256;
constexpr absl::string_view kSecretField = "signing.secret";
// Headers the HTTP client owns: a second copy would corrupt or smuggle the request.
constexpr absl::string_view kReservedHeaders[] = {"host", "content-length", "transfer-encoding",
                                                  "connection"};

SigningScheme EffectiveScheme(const Signing& signing) {
  return signing.scheme() == v1::SIGNING_SCHEME_UNSPECIFIED ? v1::SIGNING_SCHEME_STANDARD
                                                            : signing.scheme();
}

bool IsHexScheme(SigningScheme scheme) {
  return scheme == v1::SIGNING_SCHEME_HMAC_SHA256_HEX || scheme == v1::SIGNING_SCHEME_HMAC_SHA1_HEX;
}

absl::string_view EffectiveHeader(const Signing& signing, SigningScheme scheme) {
  if (!signing.header().empty()) return signing.header();
  switch (scheme) {
    case v1::SIGNING_SCHEME_HMAC_SHA1_HEX:
      return "X-Hub-Signature";
    case v1::SIGNING_SCHEME_STRIPE:
      return "Stripe-Signature";
    default:
      return "X-Hub-Signature-256";
  }
}

// RFC 7230 §3.2.6 tchar.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

absl::Status ValidateHeaderName(absl::string_view field, absl::string_view name) {
  if (name.empty() || name.size() > kMaxHeaderNameLength ||
      !std::all_of(name.begin(), name.end(), IsTokenChar)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", absl::CHexEscape(name.substr(0, kMaxHeaderNameLength)),
                     "\" is not an HTTP header name (1..256 RFC 7230 token characters)"));
  }
  for (absl::string_view reserved : kReservedHeaders) {
    if (absl::EqualsIgnoreCase(name, reserved)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": \"", name, "\" is set by the HTTP client"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePrefix(absl::string_view prefix) {
  if (prefix.size() > kMaxPrefixLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing.prefix: longer than ", kMaxPrefixLength, " characters"));
  }
  for (char c : prefix) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return absl::InvalidArgumentError(
          "signing.prefix: must not contain control characters such as CR or LF");
    }
  }
  return absl::OkStatus();
}

// Checks one secret for `scheme`; errors name `field` instead of "signing.secret".
absl::Status ValidateSecret(SigningScheme scheme, absl::string_view secret,
                            absl::string_view field) {
  absl::Status status = scheme == v1::SIGNING_SCHEME_STANDARD
                            ? StandardSigner::Create(secret).status()
                            : RawSecretKey(secret).status();
  if (status.ok() || field == kSecretField) return status;
  absl::string_view message = status.message();
  absl::ConsumePrefix(&message, kSecretField);
  return absl::Status(status.code(), absl::StrCat(field, message));
}

absl::Status ValidatePreviousSecret(SigningScheme scheme, const PreviousSecret& previous,
                                    int index) {
  const std::string field = absl::StrCat("signing.previous_secrets[", index, "]");
  HR_RETURN_IF_ERROR(ValidateSecret(scheme, previous.secret(), absl::StrCat(field, ".secret")));
  const auto& expires_at = previous.expires_at();
  if (!previous.has_expires_at() || expires_at.nanos() < 0 || expires_at.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".expires_at: required, with nanos in 0..999999999"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSecrets(const Signing& signing, SigningScheme scheme) {
  if (signing.secret().empty()) {
    return absl::InvalidArgumentError("signing.secret: required unless the scheme is NONE");
  }
  HR_RETURN_IF_ERROR(ValidateSecret(scheme, signing.secret(), kSecretField));
  for (int i = 0; i < signing.previous_secrets_size(); ++i) {
    HR_RETURN_IF_ERROR(ValidatePreviousSecret(scheme, signing.previous_secrets(i), i));
  }
  return absl::OkStatus();
}

absl::Status ValidateHeaders(const Signing& signing, SigningScheme scheme) {
  if (!signing.header().empty()) {
    HR_RETURN_IF_ERROR(ValidateHeaderName("signing.header", signing.header()));
    if (IsHexScheme(scheme) &&
        signing.header().size() + kPreviousSuffix.size() > kMaxHeaderNameLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          "signing.header: at most ", kMaxHeaderNameLength - kPreviousSuffix.size(),
          " characters for the hex schemes (rotation adds a \"", kPreviousSuffix, "\" header)"));
    }
  }
  HR_RETURN_IF_ERROR(ValidatePrefix(signing.prefix()));
  if (signing.timestamp_header().empty()) return absl::OkStatus();
  HR_RETURN_IF_ERROR(ValidateHeaderName("signing.timestamp_header", signing.timestamp_header()));
  const absl::string_view header = EffectiveHeader(signing, scheme);
  if (IsHexScheme(scheme) &&
      (absl::EqualsIgnoreCase(signing.timestamp_header(), header) ||
       absl::EqualsIgnoreCase(signing.timestamp_header(), PreviousSignatureHeader(header)))) {
    return absl::InvalidArgumentError(
        "signing.timestamp_header: must differ from the signature headers");
  }
  return absl::OkStatus();
}

absl::Status ValidateTimestampSource(const Signing& signing, SigningScheme scheme) {
  if (!v1::Signing_TimestampSource_IsValid(signing.timestamp_source())) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing.timestamp_source: unknown value ", signing.timestamp_source()));
  }
  if (signing.timestamp_source() == Signing::TIMESTAMP_SOURCE_EVENT &&
      (!IsHexScheme(scheme) || signing.timestamp_header().empty())) {
    return absl::InvalidArgumentError(
        "signing.timestamp_source: EVENT applies to timestamp_header, which only the hex "
        "schemes send; set timestamp_header (the signed timestamps of STANDARD and STRIPE are "
        "always the attempt's)");
  }
  return absl::OkStatus();
}

std::string FormatTimestamp(absl::Time t, bool iso8601) {
  return iso8601 ? absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone())
                 : absl::StrCat(absl::ToUnixSeconds(t));
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

absl::Status ValidateSigning(const Signing& signing) {
  if (!v1::SigningScheme_IsValid(signing.scheme())) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing.scheme: unknown value ", signing.scheme()));
  }
  if (!v1::Signing_TimestampFormat_IsValid(signing.timestamp_format())) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing.timestamp_format: unknown value ", signing.timestamp_format()));
  }
  const SigningScheme scheme = EffectiveScheme(signing);
  HR_RETURN_IF_ERROR(ValidateTimestampSource(signing, scheme));
  if (scheme == v1::SIGNING_SCHEME_NONE) return absl::OkStatus();
  HR_RETURN_IF_ERROR(ValidateSecrets(signing, scheme));
  return ValidateHeaders(signing, scheme);
}

std::string PreviousSignatureHeader(absl::string_view signature_header) {
  return absl::StrCat(signature_header, kPreviousSuffix);
}

absl::StatusOr<RequestSigner> RequestSigner::Create(const Signing& signing, absl::Time now) {
  HR_RETURN_IF_ERROR(ValidateSigning(signing));
  RequestSigner signer;
  signer.scheme_ = EffectiveScheme(signing);
  if (signer.scheme_ == v1::SIGNING_SCHEME_NONE) return signer;
  std::vector<const PreviousSecret*> active;
  for (const PreviousSecret& previous : signing.previous_secrets()) {
    if (ToTime(previous.expires_at()) > now) active.push_back(&previous);
  }
  std::stable_sort(active.begin(), active.end(),
                   [](const PreviousSecret* a, const PreviousSecret* b) {
                     return ToTime(a->expires_at()) > ToTime(b->expires_at());
                   });
  std::vector<absl::string_view> secrets = {signing.secret()};
  signer.expires_ = {absl::InfiniteFuture()};
  for (const PreviousSecret* previous : active) {
    secrets.push_back(previous->secret());
    signer.expires_.push_back(ToTime(previous->expires_at()));
  }
  for (absl::string_view secret : secrets) {
    if (signer.scheme_ == v1::SIGNING_SCHEME_STANDARD) {
      HR_ASSIGN_OR_RETURN(StandardSigner standard, StandardSigner::Create(secret));
      signer.standard_signers_.push_back(std::move(standard));
    } else {
      HR_ASSIGN_OR_RETURN(std::string key, RawSecretKey(secret));
      signer.keys_.push_back(std::move(key));
    }
  }
  HR_RETURN_IF_ERROR(CheckHmacAvailable(signer.scheme_ == v1::SIGNING_SCHEME_HMAC_SHA1_HEX
                                            ? HmacAlgorithm::kSha1
                                            : HmacAlgorithm::kSha256));
  signer.header_ = std::string(EffectiveHeader(signing, signer.scheme_));
  signer.previous_header_ = PreviousSignatureHeader(signer.header_);
  signer.prefix_ = signing.prefix();
  signer.timestamp_header_ = signing.timestamp_header();
  signer.iso8601_timestamp_ = signing.timestamp_format() == Signing::TIMESTAMP_FORMAT_ISO8601;
  signer.event_timestamp_ = signing.timestamp_source() == Signing::TIMESTAMP_SOURCE_EVENT;
  return signer;
}

void RequestSigner::Sign(absl::string_view delivery_id, absl::Time attempt_time,
                         const google::protobuf::Timestamp& event_time, absl::string_view body,
                         std::vector<Header>* out) const {
  switch (scheme_) {
    case v1::SIGNING_SCHEME_STANDARD:
      return SignStandard(delivery_id, attempt_time, body, out);
    case v1::SIGNING_SCHEME_HMAC_SHA256_HEX:
    case v1::SIGNING_SCHEME_HMAC_SHA1_HEX:
      return SignHex(attempt_time, event_timestamp_ ? ToTime(event_time) : attempt_time, body, out);
    case v1::SIGNING_SCHEME_STRIPE:
      return SignStripe(attempt_time, body, out);
    default:  // NONE; Create() admits no other value
      return;
  }
}

void RequestSigner::SignStandard(absl::string_view delivery_id, absl::Time ts,
                                 absl::string_view body, std::vector<Header>* out) const {
  std::string signature;
  signature.reserve(standard_signers_.size() * 48);  // "v1," + 44 base64 + " "
  for (size_t i = 0; i < standard_signers_.size(); ++i) {
    if (ts >= expires_[i]) continue;
    if (!signature.empty()) signature.push_back(' ');
    standard_signers_[i].AppendSignature(delivery_id, ts, body, &signature);
  }
  out->push_back({"webhook-id", std::string(delivery_id)});
  out->push_back({"webhook-timestamp", absl::StrCat(absl::ToUnixSeconds(ts))});
  out->push_back({"webhook-signature", std::move(signature)});
}

std::string RequestSigner::HexSignature(const std::string& key, absl::string_view body) const {
  const HmacDigest digest = ComputeHmac(
      scheme_ == v1::SIGNING_SCHEME_HMAC_SHA1_HEX ? HmacAlgorithm::kSha1 : HmacAlgorithm::kSha256,
      key, {body});
  std::string value(prefix_.size() + 2 * digest.size, '\0');
  std::copy(prefix_.begin(), prefix_.end(), value.begin());
  HexEncodeTo(digest.view(), value.data() + prefix_.size());
  return value;
}

void RequestSigner::SignHex(absl::Time attempt_time, absl::Time header_time, absl::string_view body,
                            std::vector<Header>* out) const {
  out->push_back({header_, HexSignature(keys_.front(), body)});
  std::string previous;
  for (size_t i = 1; i < keys_.size(); ++i) {
    if (attempt_time >= expires_[i]) continue;
    if (!previous.empty()) previous.append(", ");
    previous.append(HexSignature(keys_[i], body));
  }
  if (!previous.empty()) out->push_back({previous_header_, std::move(previous)});
  if (timestamp_header_.empty()) return;
  out->push_back({timestamp_header_, FormatTimestamp(header_time, iso8601_timestamp_)});
}

void RequestSigner::SignStripe(absl::Time ts, absl::string_view body,
                               std::vector<Header>* out) const {
  const absl::AlphaNum unix_seconds(absl::ToUnixSeconds(ts));
  std::string value = absl::StrCat("t=", unix_seconds);
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (ts >= expires_[i]) continue;
    const HmacDigest digest =
        ComputeHmac(HmacAlgorithm::kSha256, keys_[i], {unix_seconds.Piece(), ".", body});
    const size_t start = value.size();
    value.resize(start + 4 + 2 * digest.size);
    std::copy_n(",v1=", 4, value.begin() + start);
    HexEncodeTo(digest.view(), value.data() + start + 4);
  }
  out->push_back({header_, std::move(value)});
}

}  // namespace hookrelay::signing
