#include "libs/render/chat_formatters.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "libs/render/json_value.h"
#include "libs/render/text.h"

namespace hookrelay::render {
namespace {

constexpr size_t kShortFieldMax = 40;
constexpr size_t kEllipsisBytes = 3;

Value Str(std::string s) { return Value::String(std::move(s)); }

// Escapes & < > as Slack's text formatting requires, then truncates without leaving half an
// entity before the ellipsis.
std::string SlackText(absl::string_view s, size_t max_units) {
  std::string escaped;
  for (char c : s) {
    switch (c) {
      case '&':
        escaped.append("&amp;");
        break;
      case '<':
        escaped.append("&lt;");
        break;
      case '>':
        escaped.append("&gt;");
        break;
      default:
        escaped.push_back(c);
    }
  }
  std::string out = Truncate(escaped, max_units);
  if (out.size() == escaped.size() || out.size() < kEllipsisBytes) return out;
  const size_t body = out.size() - kEllipsisBytes;
  const size_t amp = out.rfind('&', body);
  if (amp != std::string::npos && body - amp < 5 && out.find(';', amp) >= body) {
    out.erase(amp, body - amp);
  }
  return out;
}

Value SlackFields(const Message& m) {
  Value fields = Value::Array();
  for (const Message::Field& f : m.fields) {
    Value& field = fields.Push(Value::Object());
    field.Add("title", Str(SlackText(f.name, kSlackTitleMax)));
    field.Add("value", Str(SlackText(f.value, kSlackTextMax)));
    field.Add("short", Value::Bool(Utf16Length(f.value) <= kShortFieldMax));
  }
  return fields;
}

struct DiscordField {
  std::string name;
  std::string value;
  size_t units = 0;
};

// Discord's fields within their own limits and, with the other texts (`fixed` units), the
// embed's total; returns the units left for the description.
size_t FitDiscordFields(const Message& m, size_t fixed, std::vector<DiscordField>* fields) {
  size_t used = fixed;
  for (const Message::Field& f : m.fields) {
    if (fields->size() == kDiscordFieldsMax) break;
    DiscordField field{Truncate(f.name, kDiscordFieldNameMax),
                       Truncate(f.value, kDiscordFieldValueMax)};
    field.units = Utf16Length(field.name) + Utf16Length(field.value);
    fields->push_back(std::move(field));
    used += fields->back().units;
  }
  const size_t description = std::min(Utf16Length(m.text), kDiscordDescriptionMax);
  while (!fields->empty() && used + description > kDiscordTotalMax) {
    used -= fields->back().units;
    fields->pop_back();
  }
  return used >= kDiscordTotalMax ? 0 : kDiscordTotalMax - used;
}

Value DiscordFieldsValue(const std::vector<DiscordField>& fields) {
  Value out = Value::Array();
  for (const DiscordField& f : fields) {
    Value& field = out.Push(Value::Object());
    field.Add("name", Str(f.name));
    field.Add("value", Str(f.value));
    field.Add("inline", Value::Bool(Utf16Length(f.value) <= kShortFieldMax));
  }
  return out;
}

Value AdfText(std::string text, std::vector<Value> marks = {}) {
  Value node = Value::Object();
  node.Add("type", Str("text"));
  node.Add("text", Str(std::move(text)));
  if (!marks.empty()) {
    Value& list = node.Add("marks", Value::Array());
    for (Value& mark : marks) list.Push(std::move(mark));
  }
  return node;
}

Value AdfMark(absl::string_view type) {
  Value mark = Value::Object();
  mark.Add("type", Str(std::string(type)));
  return mark;
}

Value AdfLink(const std::string& href) {
  Value mark = AdfMark("link");
  mark.Add("attrs", Value::Object()).Add("href", Str(href));
  return mark;
}

Value AdfNode(absl::string_view type, Value content) {
  Value node = Value::Object();
  node.Add("type", Str(std::string(type)));
  node.Add("content", std::move(content));
  return node;
}

// The text's lines as text nodes separated by hard breaks (ADF text holds no newlines).
Value AdfLines(absl::string_view text) {
  Value content = Value::Array();
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!content.items().empty()) content.Push(Value::Object()).Add("type", Str("hardBreak"));
    absl::ConsumeSuffix(&line, "\r");
    if (!line.empty()) content.Push(AdfText(std::string(line)));
  }
  return content;
}

Value AdfTitle(const Message& m) {
  std::vector<Value> marks;
  marks.push_back(AdfMark("strong"));
  if (!m.url.empty()) marks.push_back(AdfLink(m.url));
  Value content = Value::Array();
  content.Push(AdfText(Truncate(m.title, kJiraTitleMax), std::move(marks)));
  if (!m.author.empty()) content.Push(AdfText(absl::StrCat(" by ", m.author)));
  return AdfNode("paragraph", std::move(content));
}

Value AdfFields(const Message& m) {
  Value items = Value::Array();
  for (const Message::Field& f : m.fields) {
    Value line = Value::Array();
    std::vector<Value> strong;
    strong.push_back(AdfMark("strong"));
    line.Push(AdfText(absl::StrCat(f.name, ":"), std::move(strong)));
    line.Push(AdfText(absl::StrCat(" ", Truncate(f.value, kJiraFieldValueMax))));
    Value paragraph = Value::Array();
    paragraph.Push(AdfNode("paragraph", std::move(line)));
    items.Push(AdfNode("listItem", std::move(paragraph)));
  }
  return AdfNode("bulletList", std::move(items));
}

}  // namespace

std::string SlackBody(const Message& m) {
  Value attachment = Value::Object();
  attachment.Add("fallback", Str(SlackText(m.title, kSlackTitleMax)));
  attachment.Add("color", Str(absl::StrFormat("#%06x", m.color)));
  if (!m.author.empty()) attachment.Add("author_name", Str(SlackText(m.author, kSlackTitleMax)));
  attachment.Add("title", Str(SlackText(m.title, kSlackTitleMax)));
  if (!m.url.empty()) attachment.Add("title_link", Str(m.url));
  if (!m.text.empty()) attachment.Add("text", Str(SlackText(m.text, kSlackTextMax)));
  if (!m.fields.empty()) attachment.Add("fields", SlackFields(m));
  attachment.Add("footer", Str(SlackText(m.footer, kSlackFooterMax)));
  attachment.Add("ts", Value::Integer(m.unix_seconds));
  Value body = Value::Object();
  body.Add("attachments", Value::Array()).Push(std::move(attachment));
  return body.ToJson();
}

std::string DiscordBody(const Message& m) {
  const std::string title = Truncate(m.title, kDiscordTitleMax);
  const std::string footer = Truncate(m.footer, kDiscordFooterMax);
  const std::string author = Truncate(m.author, kDiscordAuthorMax);
  std::vector<DiscordField> fields;
  const size_t left =
      FitDiscordFields(m, Utf16Length(title) + Utf16Length(footer) + Utf16Length(author), &fields);
  Value embed = Value::Object();
  if (!title.empty()) embed.Add("title", Str(title));
  if (!m.url.empty()) embed.Add("url", Str(m.url));
  const std::string description = Truncate(m.text, std::min(left, kDiscordDescriptionMax));
  if (!description.empty()) embed.Add("description", Str(description));
  embed.Add("color", Value::Integer(m.color));
  if (!author.empty()) embed.Add("author", Value::Object()).Add("name", Str(author));
  if (!fields.empty()) embed.Add("fields", DiscordFieldsValue(fields));
  if (!footer.empty()) embed.Add("footer", Value::Object()).Add("text", Str(footer));
  embed.Add("timestamp", Str(m.timestamp));
  Value body = Value::Object();
  body.Add("embeds", Value::Array()).Push(std::move(embed));
  return body.ToJson();
}

std::string JiraBody(const Message& m) {
  Value content = Value::Array();
  content.Push(AdfTitle(m));
  if (!m.text.empty()) content.Push(AdfNode("paragraph", AdfLines(Truncate(m.text, kJiraTextMax))));
  if (!m.fields.empty()) content.Push(AdfFields(m));
  std::vector<Value> em;
  em.push_back(AdfMark("em"));
  Value footer = Value::Array();
  footer.Push(AdfText(absl::StrCat(m.footer, " · ", m.timestamp), std::move(em)));
  content.Push(AdfNode("paragraph", std::move(footer)));
  Value doc = Value::Object();
  doc.Add("type", Str("doc"));
  doc.Add("version", Value::Integer(1));
  doc.Add("content", std::move(content));
  Value body = Value::Object();
  body.Add("body", std::move(doc));
  EnforceChatLimits(v1::PAYLOAD_FORMAT_JIRA, &body);
  return body.ToJson();
}

}  // namespace hookrelay::render
