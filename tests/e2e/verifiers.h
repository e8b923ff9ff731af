#pragma once

// Receiver-side checks for the compatibility tests, written the way each receiver's
// documentation describes them and independent of hookrelay's own code (no libs/signing,
// no libs/render): signatures computed with OpenSSL's HMAC directly, a strict little XML
// reader, a form decoder, and the public npm verifiers run by node.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace hookrelay::testing {

// Lowercase hex of HMAC-SHA256 / HMAC-SHA1 over `data`, keyed with `key`'s bytes as given
// (GitHub, Review Board, MockReview, Smartlook, Miniback, Stripe).
std::string HmacSha256Hex(absl::string_view key, absl::string_view data);
std::string HmacSha1Hex(absl::string_view key, absl::string_view data);

// The Standard Webhooks signature "v1,<base64 HMAC-SHA256(key, id.ts.body)>" with the key
// base64-decoded from after "whsec_"; nullopt when the secret is not of that form.
std::optional<std::string> StandardWebhooksSignature(absl::string_view secret, absl::string_view id,
                                                     absl::string_view timestamp,
                                                     absl::string_view body);

// Whether `header` ("v1,a v1,b") holds `signature` as one of its space-separated entries.
bool HeaderHoldsSignature(absl::string_view header, absl::string_view signature);

// Stripe-Signature "t=<ts>,v1=<hex>[,v1=...]": the timestamp and the v1 values; error when
// the header is malformed.
struct StripeSignature {
  int64_t timestamp = 0;
  std::vector<std::string> v1;
};
absl::StatusOr<StripeSignature> ParseStripeSignature(absl::string_view header);

// An application/x-www-form-urlencoded body as name → value ('+' is a space, %XX a byte);
// error on malformed percent escapes, repeated names, or characters the WHATWG serializer
// always percent-encodes (anything but ASCII letters, digits, '*', '-', '.', '_').
absl::StatusOr<std::map<std::string, std::string>> ParseForm(absl::string_view body);

// A well-formed XML 1.0 document of elements, attributes, text and the five predefined
// entities and character references (what a webhook body uses; no DTD, CDATA or
// processing instructions other than the leading declaration). Errors on anything a
// conforming parser rejects in that subset: unclosed or mismatched tags, raw '<' or a bare
// '&' in text, unquoted or repeated attributes, content after the root element.
struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<XmlElement> children;
  std::string text;  // the element's character data, entities decoded
  // The first child named `name`, or null.
  const XmlElement* Child(absl::string_view name) const;
};
absl::StatusOr<XmlElement> ParseXml(absl::string_view document);

// Runs `script` (a file next to this one) with node on `input` (JSON on stdin), resolving
// npm packages from $HOOKRELAY_BUILD_DIR/tools/node_modules; returns the exit code (0: the
// signature verified).
int RunNodeVerifier(absl::string_view script, const nlohmann::json& input);

}  // namespace hookrelay::testing
