#include "libs/render/message.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/render/formats.h"

namespace hookrelay::render {
namespace {

constexpr std::array<absl::string_view, 4> kTitleKeys = {"title", "summary", "subject", "name"};
constexpr std::array<absl::string_view, 5> kUrlKeys = {"url", "html_url", "link", "permalink",
                                                       "href"};
constexpr std::array<absl::string_view, 6> kTextKeys = {"description", "text",    "message",
                                                        "body",        "comment", "content"};
constexpr std::array<absl::string_view, 8> kAuthorKeys = {
    "user", "author", "actor", "sender", "creator", "submitter", "owner", "reporter"};
constexpr std::array<absl::string_view, 6> kPersonNameKeys = {
    "name", "display_name", "displayName", "username", "login", "email"};
constexpr std::array<absl::string_view, 2> kColorKeys = {"color", "colour"};
constexpr std::array<absl::string_view, 6> kStatusKeys = {"status", "state",  "severity",
                                                          "level",  "result", "conclusion"};
constexpr size_t kMaxJoinedItems = 20;

// Where well-known keys are looked up: the payload object and its first object member.
struct Scopes {
  std::vector<const Value*> objects;
  // Members already used for the title, url, text or color, excluded from the fields.
  std::vector<const Value*> used;
};

Scopes MakeScopes(const Value& data) {
  Scopes scopes;
  if (!data.is_object()) return scopes;
  scopes.objects.push_back(&data);
  for (const auto& [key, member] : data.members()) {
    if (member.is_object()) {
      scopes.objects.push_back(&member);
      break;
    }
  }
  return scopes;
}

bool NonEmpty(absl::string_view s) { return !s.empty(); }

bool IsHttpUrl(absl::string_view s) {
  return absl::StartsWithIgnoreCase(s, "https://") || absl::StartsWithIgnoreCase(s, "http://");
}

// The first key (in `keys` order, top level before nested) whose value is a string or a
// number that `accept`s; marks it used.
template <size_t N>
std::string FindText(Scopes& scopes, const std::array<absl::string_view, N>& keys,
                     bool (*accept)(absl::string_view) = NonEmpty) {
  for (absl::string_view key : keys) {
    for (const Value* object : scopes.objects) {
      const Value* v = object->Find(key);
      if (v == nullptr || !(v->is_string() || v->type() == Value::Type::kNumber)) continue;
      if (!accept(v->text())) continue;
      scopes.used.push_back(v);
      return v->text();
    }
  }
  return "";
}

std::string PersonName(const Value& person) {
  if (person.is_string()) return person.text();
  for (absl::string_view key : kPersonNameKeys) {
    const Value* v = person.Find(key);
    if (v != nullptr && v->is_string() && !v->text().empty()) return v->text();
  }
  return "";
}

std::string FindAuthor(Scopes& scopes) {
  for (absl::string_view key : kAuthorKeys) {
    for (const Value* object : scopes.objects) {
      const Value* v = object->Find(key);
      if (v == nullptr) continue;
      std::string name = PersonName(*v);
      if (name.empty()) continue;
      scopes.used.push_back(v);
      return name;
    }
  }
  return "";
}

std::optional<uint32_t> ParseColor(const Value& v) {
  uint32_t rgb = 0;
  if (v.type() == Value::Type::kNumber) {
    if (absl::SimpleAtoi(v.text(), &rgb) && rgb <= 0xFFFFFF) return rgb;
    return std::nullopt;
  }
  absl::string_view hex = v.text();
  absl::ConsumePrefix(&hex, "#");
  if (!v.is_string() || hex.size() != 6 ||
      !std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); }) ||
      !absl::SimpleHexAtoi(hex, &rgb)) {
    return std::nullopt;
  }
  return rgb;
}

// The color of a status such as "changes_requested" or "Build FAILED", from its words.
std::optional<uint32_t> StatusColor(absl::string_view status) {
  static constexpr std::pair<uint32_t, absl::string_view> kWords[] = {
      {kDangerColor,
       " fail failed failure failing error errored reject rejected critical "
       "blocker declined broken down high urgent "},
      {kWarningColor, " pending warning warn changes progress medium degraded waiting "},
      {kGoodColor,
       " success successful succeeded approve approved pass passed resolved "
       "fixed merged complete completed done accepted ok up shipped "}};
  const std::string lower = absl::AsciiStrToLower(status);
  for (const auto& [color, words] : kWords) {
    for (absl::string_view word :
         absl::StrSplit(lower, absl::ByAnyChar(" _-.,:;/"), absl::SkipEmpty())) {
      if (absl::StrContains(words, absl::StrCat(" ", word, " "))) return color;
    }
  }
  return std::nullopt;
}

uint32_t FindColor(Scopes& scopes) {
  for (const Value* object : scopes.objects) {
    for (absl::string_view key : kColorKeys) {
      const Value* v = object->Find(key);
      if (v == nullptr) continue;
      if (std::optional<uint32_t> rgb = ParseColor(*v)) {
        scopes.used.push_back(v);
        return *rgb;
      }
    }
  }
  for (absl::string_view key : kStatusKeys) {
    for (const Value* object : scopes.objects) {
      const Value* v = object->Find(key);
      if (v == nullptr || !v->is_string()) continue;
      if (std::optional<uint32_t> rgb = StatusColor(v->text())) return *rgb;
    }
  }
  return kDefaultColor;
}

// "html_url" → "Html url"; "jiraIssueKey" stays as is but capitalized.
std::string FieldName(absl::string_view key) {
  std::string name(key);
  std::replace(name.begin(), name.end(), '_', ' ');
  if (!name.empty()) name[0] = absl::ascii_toupper(static_cast<unsigned char>(name[0]));
  return name;
}

// A scalar as text, or an array of scalars comma-joined; "" for anything else.
std::string FieldValue(const Value& v) {
  if (v.is_scalar()) return v.ToText();
  if (!v.is_array() || v.items().empty()) return "";
  std::vector<std::string> parts;
  for (const Value& item : v.items()) {
    if (!item.is_scalar() || parts.size() == kMaxJoinedItems) return "";
    parts.push_back(item.ToText());
  }
  return absl::StrJoin(parts, ", ");
}

void AddFields(const Scopes& scopes, absl::string_view event_type, Message* m) {
  for (const Value* object : scopes.objects) {
    for (const auto& [key, member] : object->members()) {
      if (m->fields.size() == kMaxMessageFields) return;
      if (std::find(scopes.used.begin(), scopes.used.end(), &member) != scopes.used.end()) {
        continue;
      }
      std::string value = FieldValue(member);
      if (value.empty() || key.empty() || value == event_type) continue;
      m->fields.push_back({FieldName(key), std::move(value)});
    }
  }
}

}  // namespace

Message ExtractMessage(const v1::Event& event, const Value& data) {
  Message m;
  Scopes scopes = MakeScopes(data);
  m.title = FindText(scopes, kTitleKeys);
  if (m.title.empty()) m.title = event.type().empty() ? "event" : event.type();
  m.url = FindText(scopes, kUrlKeys, IsHttpUrl);
  m.text = FindText(scopes, kTextKeys);
  m.author = FindAuthor(scopes);
  m.color = FindColor(scopes);
  AddFields(scopes, event.type(), &m);
  m.footer = event.type();
  m.timestamp = FormatTimestamp(event.occurred_at());
  m.unix_seconds = event.occurred_at().seconds();
  return m;
}

}  // namespace hookrelay::render
