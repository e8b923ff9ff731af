#include "services/hookctl/output.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace hookrelay::hookctl {
namespace {

using google::protobuf::util::TimeUtil;

constexpr size_t kResponseShown = 200;  // characters of a response body shown in text

std::string EnumName(std::string name, absl::string_view prefix) {
  absl::string_view v = name;
  absl::ConsumePrefix(&v, prefix);
  return absl::AsciiStrToLower(v);
}

std::string Millis(int64_t duration_us) {
  return absl::StrFormat("%.1f ms", static_cast<double>(duration_us) / 1000.0);
}

// `body` on one line: escaped, cut to kResponseShown characters.
std::string OneLine(absl::string_view body) {
  std::string shown = absl::CHexEscape(body.substr(0, kResponseShown));
  if (body.size() > kResponseShown) absl::StrAppend(&shown, "... (", body.size(), " bytes)");
  return shown;
}

std::string Field(absl::string_view name, absl::string_view value) {
  return absl::StrFormat("%-12s %s\n", absl::StrCat(name, ":"), value);
}

}  // namespace

std::string StatusName(v1::DeliveryStatus s) {
  // Upper case, as scripts that grep for SUCCEEDED expect.
  return absl::AsciiStrToUpper(EnumName(v1::DeliveryStatus_Name(s), "DELIVERY_STATUS_"));
}

std::string ErrorClassName(v1::ErrorClass c) {
  return EnumName(v1::ErrorClass_Name(c), "ERROR_CLASS_");
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  const absl::Time at = absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3SZ", at, absl::UTCTimeZone());
}

std::string AttemptResult(const v1::Attempt& a) {
  if (a.http_status() > 0) return absl::StrCat("HTTP ", a.http_status());
  if (a.error_class() != v1::ERROR_CLASS_UNSPECIFIED) return ErrorClassName(a.error_class());
  return "no response";
}

void PrintJson(std::ostream& out, const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, o);
  out << json;
}

void PrintWebhook(std::ostream& out, const v1::Webhook& h) {
  out << Field("id", h.id()) << Field("tenant", h.tenant()) << Field("url", h.url())
      << Field("event types", absl::StrJoin(h.event_types(), ", "))
      << Field("enabled",
               absl::StrCat(
                   h.enabled() ? "yes" : "no",
                   h.disabled_reason().empty() ? "" : absl::StrCat(" (", h.disabled_reason(), ")")))
      << Field("format", EnumName(v1::PayloadFormat_Name(h.payload_format()), "PAYLOAD_FORMAT_"))
      << Field("signing",
               EnumName(v1::SigningScheme_Name(h.signing().scheme()), "SIGNING_SCHEME_"));
  if (!h.signing().secret().empty()) out << Field("secret", h.signing().secret());
  out << Field("rate limit", h.has_rate_limit()
                                 ? absl::StrCat(h.rate_limit().per_second(), "/s, burst ",
                                                std::max(1, h.rate_limit().burst()))
                                 : "none");
  out << Field("ordering", h.ordering() == v1::ORDERING_PER_KEY ? "per key"
                           : h.ordering() == v1::ORDERING_PER_KEY_HOLD_ON_FAILURE
                               ? "per key, a failed delivery holds its key"
                               : "none");
  if (!h.description().empty()) out << Field("description", h.description());
  out << Field("created", FormatTime(h.create_time()))
      << Field("updated", FormatTime(h.update_time()));
}

void PrintWebhookTable(std::ostream& out, const v1::ListWebhooksResponse& r) {
  out << absl::StrFormat("%-29s %-7s %-24s %s\n", "ID", "ENABLED", "EVENT TYPES", "URL");
  for (const v1::Webhook& h : r.webhooks()) {
    out << absl::StrFormat("%-29s %-7s %-24s %s\n", h.id(), h.enabled() ? "yes" : "no",
                           absl::StrJoin(h.event_types(), ","), h.url());
  }
  if (!r.next_page_token().empty())
    out << "next page: --page-token " << r.next_page_token() << "\n";
}

void PrintEvent(std::ostream& out, const v1::Event& e) {
  out << Field("id", e.id()) << Field("tenant", e.tenant()) << Field("type", e.type())
      << Field("occurred", FormatTime(e.occurred_at()))
      << Field("published", FormatTime(e.publish_time()));
  if (!e.idempotency_key().empty()) out << Field("idem. key", e.idempotency_key());
  if (!e.ordering_key().empty()) out << Field("order key", e.ordering_key());
  for (const auto& [k, v] : e.attributes()) out << Field(absl::StrCat("attr ", k), v);
  out << Field("payload", e.payload());
}

void PrintAttempt(std::ostream& out, const v1::Attempt& a) {
  out << absl::StrFormat("  %-3d %-24s %10s  %-12s %s\n", a.number(), FormatTime(a.start_time()),
                         Millis(a.duration_us()), AttemptResult(a), a.worker());
  if (!a.error().empty()) out << "      error:    " << a.error() << "\n";
  if (!a.response_body().empty()) out << "      response: " << OneLine(a.response_body()) << "\n";
}

void PrintDelivery(std::ostream& out, const v1::Delivery& d) {
  out << Field("delivery", d.id())
      << Field("status", absl::StrCat(StatusName(d.status()), d.test() ? " (test ping)" : ""))
      << Field("webhook", d.webhook_id())
      << Field("event", absl::StrCat(d.event_id(), " (", d.event_type(), ")"))
      << Field("created", FormatTime(d.create_time()))
      << Field("updated", FormatTime(d.update_time()));
  if (d.status() == v1::DELIVERY_STATUS_RETRY_SCHEDULED) {
    out << Field("next try", FormatTime(d.next_attempt_time()));
  }
  if (d.attempts().empty()) {
    out << "attempts:    none yet\n";
    return;
  }
  out << absl::StrFormat("attempts:\n  %-3s %-24s %10s  %-12s %s\n", "#", "STARTED (UTC)",
                         "DURATION", "RESULT", "WORKER");
  for (const v1::Attempt& a : d.attempts()) PrintAttempt(out, a);
}

void PrintDeliveryTable(std::ostream& out, const v1::ListDeliveriesResponse& r) {
  out << absl::StrFormat("%-30s %-16s %-8s %-10s %-24s %s\n", "ID", "STATUS", "ATTEMPTS", "LAST",
                         "CREATED (UTC)", "EVENT TYPE");
  for (const v1::Delivery& d : r.deliveries()) {
    const std::string last = d.last_http_status() > 0 ? absl::StrCat("HTTP ", d.last_http_status())
                             : d.last_error_class() != v1::ERROR_CLASS_UNSPECIFIED
                                 ? ErrorClassName(d.last_error_class())
                                 : "-";
    out << absl::StrFormat("%-30s %-16s %-8d %-10s %-24s %s%s\n", d.id(), StatusName(d.status()),
                           d.attempt_count(), last, FormatTime(d.create_time()), d.event_type(),
                           d.test() ? " (test)" : "");
  }
  if (!r.next_page_token().empty())
    out << "next page: --page-token " << r.next_page_token() << "\n";
}

void PrintApiKeys(std::ostream& out, const v1::ListApiKeysResponse& r) {
  out << absl::StrFormat("%-30s %-10s %-20s %s\n", "ID", "ROLE", "TENANT", "DESCRIPTION");
  for (const v1::ApiKey& k : r.keys()) {
    out << absl::StrFormat("%-30s %-10s %-20s %s\n", k.id(),
                           EnumName(v1::ApiKeyRole_Name(k.role()), "API_KEY_ROLE_"),
                           k.tenant().empty() ? "*" : k.tenant(), k.description());
  }
  if (!r.next_page_token().empty())
    out << "next page: --page-token " << r.next_page_token() << "\n";
}

}  // namespace hookrelay::hookctl
