#include "services/registry/validation.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/http/sender.h"
#include "libs/http/target.h"
#include "libs/match/matcher.h"
#include "libs/queue/rate_limiter.h"
#include "libs/queue/retry_policy.h"
#include "libs/render/renderer.h"
#include "libs/signing/request_signer.h"
#include "libs/signing/secret.h"
#include "nlohmann/json.hpp"

namespace hookrelay::registry {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

std::string Path(absl::string_view field, absl::string_view child) {
  return field.empty() ? std::string(child) : absl::StrCat(field, ".", child);
}

// Checks JSON syntax and nesting depth in one pass without building a document.
class JsonShapeCheck : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit JsonShapeCheck(int max_depth) : max_depth_(max_depth) {}
  bool too_deep() const { return too_deep_; }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return Enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return --depth_, true; }
  bool start_array(std::size_t) override { return Enter(); }
  bool end_array() override { return --depth_, true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Enter() {
    too_deep_ = ++depth_ > max_depth_;
    return !too_deep_;
  }
  const int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
};

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

bool HasControlChars(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\t') return true;
    if (c == 0x7f) return true;
  }
  return false;
}

absl::Status ValidateHeaders(const v1::Webhook& hook, const Limits& limits,
                             absl::string_view field) {
  if (hook.headers_size() > limits.max_headers) {
    return Invalid(field, absl::StrCat("at most ", limits.max_headers, " headers"));
  }
  for (const auto& [name, value] : hook.headers()) {
    const std::string path = absl::StrCat(field, "[\"", absl::CEscape(name.substr(0, 64)), "\"]");
    if (name.empty() || name.size() > 128 || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return Invalid(path, "header name must be an HTTP token of at most 128 characters");
    }
    const std::string lower = absl::AsciiStrToLower(name);
    if (absl::StartsWith(lower, "webhook-") || absl::StartsWith(lower, "content-") ||
        lower == "host" || lower == "transfer-encoding" || lower == "connection" ||
        lower == "expect") {
      return Invalid(path, "header is reserved");
    }
    if (value.size() > limits.max_header_value || HasControlChars(value)) {
      return Invalid(path, "value must be at most 4096 characters without CR, LF or controls");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFilters(const v1::Webhook& hook, const Limits& limits,
                             absl::string_view field) {
  if (hook.filters_size() > limits.max_filters) {
    return Invalid(field, absl::StrCat("at most ", limits.max_filters, " filters"));
  }
  for (int i = 0; i < hook.filters_size(); ++i) {
    const v1::AttributeFilter& f = hook.filters(i);
    const std::string path = absl::StrCat(field, "[", i, "]");
    if (f.key().empty() || f.key().size() > 128) {
      return Invalid(path + ".key", "must be 1 to 128 characters");
    }
    if (f.absent() && !f.any_of().empty()) {
      return Invalid(path, "absent and any_of exclude each other");
    }
    if (f.any_of_size() > 100) return Invalid(path + ".any_of", "at most 100 values");
  }
  return absl::OkStatus();
}

absl::Status ValidateEventTypes(const v1::Webhook& hook, const Limits& limits,
                                absl::string_view field) {
  if (hook.event_types().empty()) return Invalid(field, "at least one event type is required");
  if (hook.event_types_size() > limits.max_event_types) {
    return Invalid(field, absl::StrCat("at most ", limits.max_event_types, " event types"));
  }
  for (int i = 0; i < hook.event_types_size(); ++i) {
    absl::Status st =
        match::ValidateEventTypePattern(hook.event_types(i), absl::StrCat(field, "[", i, "]"));
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status ValidateMisc(const v1::Webhook& hook, const Limits& limits, absl::string_view field) {
  if (hook.description().size() > 1024) {
    return Invalid(Path(field, "description"), "at most 1024 characters");
  }
  if (hook.timeout_ms() < 0 || absl::Milliseconds(hook.timeout_ms()) > http::kMaxDeliveryTimeout) {
    return Invalid(
        Path(field, "timeout_ms"),
        absl::StrCat("must be between 1 and ", absl::ToInt64Milliseconds(http::kMaxDeliveryTimeout),
                     " (0 = default ", absl::ToInt64Milliseconds(http::kDefaultDeliveryTimeout),
                     ")"));
  }
  if (hook.user_agent().size() > 256 || HasControlChars(hook.user_agent())) {
    return Invalid(Path(field, "user_agent"), "at most 256 characters without controls");
  }
  if (hook.metadata_size() > limits.max_metadata) {
    return Invalid(Path(field, "metadata"),
                   absl::StrCat("at most ", limits.max_metadata, " entries"));
  }
  for (const auto& [k, v] : hook.metadata()) {
    if (k.empty() || k.size() > 64 || v.size() > 1024) {
      return Invalid(Path(field, "metadata"), "keys 1 to 64 characters, values at most 1024");
    }
  }
  if (hook.payload_template().size() > limits.max_template_bytes) {
    return Invalid(Path(field, "payload_template"), "at most 64 KiB");
  }
  if (!v1::PayloadFormat_IsValid(hook.payload_format())) {
    return Invalid(Path(field, "payload_format"), "unknown format");
  }
  if (!v1::Ordering_IsValid(hook.ordering())) {
    return Invalid(Path(field, "ordering"), "unknown ordering");
  }
  if (hook.has_rate_limit()) {
    absl::Status st = queue::ValidateRateLimit(hook.rate_limit(), Path(field, "rate_limit"));
    if (!st.ok()) return st;
  }
  return queue::ValidateRetryPolicy(hook.retry_policy(), Path(field, "retry_policy"));
}

absl::Status ValidateSigningFields(const v1::Webhook& hook, absl::string_view field) {
  absl::Status st = signing::ValidateSigning(hook.signing());
  if (!st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(Path(field, ""), st.message()));
  }
  if (!hook.signing().secret().empty()) {
    auto key = signing::SecretKeyBytes(hook.signing().secret());
    if (!key.ok())
      return absl::InvalidArgumentError(absl::StrCat(Path(field, ""), key.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTenant(absl::string_view tenant, absl::string_view field) {
  if (tenant.empty()) return Invalid(field, "must not be empty");
  if (tenant.size() > 64) return Invalid(field, "at most 64 characters");
  for (char c : tenant) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') {
      return Invalid(field, "may hold only letters, digits, '-', '_' and '.'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateUrl(absl::string_view url, const Limits& limits, absl::string_view field) {
  if (url.empty()) return Invalid(field, "must not be empty");
  if (url.size() > limits.max_url_length) {
    return Invalid(field, absl::StrCat("at most ", limits.max_url_length, " characters"));
  }
  if (HasControlChars(url) || absl::StrContains(url, ' ')) {
    return Invalid(field, "must not contain spaces or control characters");
  }
  // Template variables may stand in the path and query; check the URL with them filled in.
  std::string probe(url);
  for (size_t open; (open = probe.find("{{")) != std::string::npos;) {
    const size_t close = probe.find("}}", open);
    if (close == std::string::npos) return Invalid(field, "unclosed {{ template variable");
    probe.replace(open, close + 2 - open, "x");
  }
  // The authority ends at the first '/', '?' or '#' after "scheme://".
  const size_t scheme_end = url.find("://");
  const absl::string_view authority = scheme_end == absl::string_view::npos
                                          ? url
                                          : url.substr(0, url.find_first_of("/?#", scheme_end + 3));
  if (absl::StrContains(authority, "{{")) {
    return Invalid(field, "must name a host (templates may not stand in the host)");
  }
  // The same rule the worker applies before sending.
  if (absl::Status st = http::CheckTargetUrl(probe, limits.allow_http); !st.ok()) {
    return Invalid(field, st.message());
  }
  return absl::OkStatus();
}

absl::Status ValidateWebhook(const v1::Webhook& hook, const Limits& limits,
                             absl::string_view field) {
  absl::Status st = ValidateTenant(hook.tenant(), Path(field, "tenant"));
  if (st.ok()) st = ValidateUrl(hook.url(), limits, Path(field, "url"));
  if (st.ok()) st = ValidateEventTypes(hook, limits, Path(field, "event_types"));
  if (st.ok()) st = ValidateFilters(hook, limits, Path(field, "filters"));
  if (st.ok()) st = ValidateHeaders(hook, limits, Path(field, "headers"));
  if (st.ok()) st = ValidateMisc(hook, limits, field);
  if (st.ok()) st = ValidateSigningFields(hook, field);
  if (st.ok()) st = render::ValidateRender(hook, field);
  return st;
}

absl::Status ValidatePublish(const v1::PublishEventRequest& req, const Limits& limits,
                             absl::string_view field) {
  absl::Status st = ValidateTenant(req.tenant(), Path(field, "tenant"));
  if (st.ok()) st = match::ValidateEventType(req.type(), Path(field, "type"));
  if (!st.ok()) return st;
  const std::string payload_field = Path(field, "payload");
  if (req.payload().empty()) return Invalid(payload_field, "must be a JSON value");
  if (req.payload().size() > limits.max_payload_bytes) {
    return Invalid(payload_field, absl::StrCat("larger than ", limits.max_payload_bytes, " bytes"));
  }
  JsonShapeCheck shape(render::kMaxPayloadDepth);
  if (!nlohmann::json::sax_parse(req.payload(), &shape)) {
    return Invalid(payload_field,
                   shape.too_deep()
                       ? absl::StrCat("nested deeper than ", render::kMaxPayloadDepth, " levels")
                       : "is not valid JSON");
  }
  if (req.attributes_size() > limits.max_attributes) {
    return Invalid(Path(field, "attributes"), absl::StrCat("at most ", limits.max_attributes));
  }
  for (const auto& [k, v] : req.attributes()) {
    if (k.empty() || k.size() > 128 || v.size() > 1024) {
      return Invalid(Path(field, "attributes"), "keys 1 to 128 characters, values at most 1024");
    }
  }
  if (req.idempotency_key().size() > 256 || HasControlChars(req.idempotency_key())) {
    return Invalid(Path(field, "idempotency_key"), "at most 256 printable characters");
  }
  if (req.ordering_key().size() > 256 || HasControlChars(req.ordering_key())) {
    return Invalid(Path(field, "ordering_key"), "at most 256 printable characters");
  }
  if (req.has_occurred_at() && (req.occurred_at().seconds() < 0 || req.occurred_at().nanos() < 0 ||
                                req.occurred_at().nanos() > 999999999)) {
    return Invalid(Path(field, "occurred_at"), "is not a valid timestamp");
  }
  return absl::OkStatus();
}

}  // namespace hookrelay::registry
