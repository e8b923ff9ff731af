#include "libs/render/renderer.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace hookrelay::render {

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  const absl::Time t = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

void AppendJsonString(std::string* out, absl::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void AppendEnvelope(const v1::Event& event, std::string* out) {
  out->reserve(out->size() + event.payload().size() + event.type().size() + 128);
  out->append("{\"id\":");
  AppendJsonString(out, event.id());
  out->append(",\"type\":");
  AppendJsonString(out, event.type());
  out->append(",\"timestamp\":\"");
  out->append(FormatTimestamp(event.occurred_at()));
  out->append("\",\"tenant\":");
  AppendJsonString(out, event.tenant());
  out->append(",\"data\":");
  out->append(event.payload());
  out->push_back('}');
}

absl::StatusOr<RenderedRequest> Render(const v1::Webhook& hook, const v1::Event& event) {
  RenderedRequest out;
  out.url = hook.url();
  out.content_type = "application/json";
  switch (hook.payload_format()) {
    case v1::PAYLOAD_FORMAT_UNSPECIFIED:
    case v1::PAYLOAD_FORMAT_ENVELOPE:
      AppendEnvelope(event, &out.body);
      return out;
    case v1::PAYLOAD_FORMAT_JSON:
      out.body = event.payload();
      return out;
    default:
      return absl::UnimplementedError(absl::StrCat(
          "payload_format: ", v1::PayloadFormat_Name(hook.payload_format()), " not supported"));
  }
}

}  // namespace hookrelay::render
