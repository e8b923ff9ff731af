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

// Writes XML the way Python's XMLGenerator does under djblets' XMLEncoderAdapter: a start
// or end tag that follows another tag starts a new line indented by the nesting level; one
// that follows text does not.
class ReviewBoardXmlWriter {
 public:
  explicit ReviewBoardXmlWriter(std::string* out) : out_(out) {}

  void Write(const Value& value) {
    switch (value.type()) {
      case Value::Type::kObject:
        for (const auto& [key, member] : value.members()) Element(key, member);
        return;
      case Value::Type::kArray:
        Start("array");
        for (const Value& item : value.items()) Element("item", item);
        End("array");
        return;
      case Value::Type::kBool:
        Text(value.boolean() ? "1" : "0");
        return;
      case Value::Type::kNull:
        return;
      default:
        Text(value.text());
        return;
    }
  }

  void Element(absl::string_view name, const Value& value) {
    Start(name);
    Write(value);
    End(name);
  }

 private:
  void Start(absl::string_view name) {
    Indent();
    out_->push_back('<');
    if (IsXmlName(name)) {
      absl::StrAppend(out_, name);
    } else {
      out_->append("item key=\"");
      AppendXmlEscaped(out_, name);
      out_->push_back('"');
    }
    out_->push_back('>');
    ++level_;
    indent_ = true;
  }

  void End(absl::string_view name) {
    --level_;
    Indent();
    absl::StrAppend(out_, "</", IsXmlName(name) ? name : "item", ">");
    indent_ = true;
  }

  void Text(absl::string_view text) {
    AppendXmlText(out_, text);
    indent_ = false;
  }

  void Indent() {
    if (!indent_) return;
    out_->push_back('\n');
    out_->append(static_cast<size_t>(level_), ' ');
  }

  std::string* const out_;
  int level_ = 0;
  bool indent_ = false;
};

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
  std::string out = "payload=";
  out.reserve(out.size() + event.payload().size() * 2);
  AppendFormEncoded(&out, event.payload());
  return out;
}

std::string XmlBody(const Value& data) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  ReviewBoardXmlWriter(&out).Element("rsp", data);
  return out;
}

Value EventContext(const v1::Event& event, Value data) {
  Value e = Value::Object();
  e.Add("id", Value::String(event.id()));
  e.Add("type", Value::String(event.type()));
  e.Add("timestamp", Value::String(FormatTimestamp(event.occurred_at())));
  const absl::Time occurred_at = absl::FromUnixSeconds(event.occurred_at().seconds()) +
                                 absl::Nanoseconds(event.occurred_at().nanos());
  e.Add("timestamp_unix", Value::Integer(absl::ToUnixSeconds(occurred_at)));
  e.Add("timestamp_unix_ms", Value::Integer(absl::ToUnixMillis(occurred_at)));
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
