#include "libs/render/formats.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/render/text.h"

namespace hookrelay::render {
namespace {

// A plain XML 1.0 name: ASCII letter or '_' first, then letters, digits, '-', '_', '.';
// no ':' (namespaces) and no "xml" prefix (reserved).
bool IsXmlName(absl::string_view key) {
  if (key.empty() || absl::StartsWithIgnoreCase(key, "xml")) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(key[0])) && key[0] != '_') return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

void AppendXmlValue(const Value& value, std::string* out);

// <name>value</name>, or <item key="name">value</item> when `name` is not a plain XML name;
// null becomes an empty element <name/>.
void AppendXmlElement(absl::string_view name, const Value& value, std::string* out) {
  const bool plain = IsXmlName(name);
  out->push_back('<');
  if (plain) {
    absl::StrAppend(out, name);
  } else {
    out->append("item key=\"");
    AppendXmlEscaped(out, name);
    out->push_back('"');
  }
  if (value.is_null()) {
    out->append("/>");
    return;
  }
  out->push_back('>');
  AppendXmlValue(value, out);
  out->append("</");
  absl::StrAppend(out, plain ? name : "item");
  out->push_back('>');
}

void AppendXmlValue(const Value& value, std::string* out) {
  switch (value.type()) {
    case Value::Type::kObject:
      for (const auto& [key, member] : value.members()) AppendXmlElement(key, member, out);
      return;
    case Value::Type::kArray:
      for (const Value& item : value.items()) {
        if (item.is_null()) {
          out->append("<item/>");
          continue;
        }
        out->append("<item>");
        AppendXmlValue(item, out);
        out->append("</item>");
      }
      return;
    default:
      AppendXmlEscaped(out, value.ToText());
      return;
  }
}

void AppendXmlTextElement(absl::string_view name, absl::string_view text, std::string* out) {
  out->push_back('<');
  absl::StrAppend(out, name);
  out->push_back('>');
  AppendXmlEscaped(out, text);
  out->append("</");
  absl::StrAppend(out, name);
  out->push_back('>');
}

}  // namespace

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  const absl::Time t = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
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

std::string FormBody(const v1::Event& event) {
  std::string envelope;
  AppendEnvelope(event, &envelope);
  std::string out = "payload=";
  out.reserve(envelope.size() * 2);
  AppendFormEncoded(&out, envelope);
  return out;
}

std::string XmlBody(const v1::Event& event, const Value& data) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><event>";
  out.reserve(event.payload().size() * 2 + 256);
  AppendXmlTextElement("id", event.id(), &out);
  AppendXmlTextElement("type", event.type(), &out);
  AppendXmlTextElement("timestamp", FormatTimestamp(event.occurred_at()), &out);
  AppendXmlTextElement("tenant", event.tenant(), &out);
  AppendXmlElement("data", data, &out);
  out.append("</event>");
  return out;
}

Value EventContext(const v1::Event& event, Value data) {
  Value e = Value::Object();
  e.Add("id", Value::String(event.id()));
  e.Add("type", Value::String(event.type()));
  e.Add("timestamp", Value::String(FormatTimestamp(event.occurred_at())));
  e.Add("tenant", Value::String(event.tenant()));
  std::vector<std::pair<std::string, std::string>> attributes(event.attributes().begin(),
                                                              event.attributes().end());
  std::sort(attributes.begin(), attributes.end());
  Value& attrs = e.Add("attributes", Value::Object());
  for (auto& [key, value] : attributes) attrs.Add(std::move(key), Value::String(std::move(value)));
  Value context = Value::Object();
  context.Add("event", std::move(e));
  context.Add("data", std::move(data));
  return context;
}

}  // namespace hookrelay::render
