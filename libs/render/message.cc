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
constexpr std::array<absl::string_view, 8> kUrlKeys = {
    "url", "html_url", "absolute_url", "web_url", "link", "permalink", "href", "shareUrl"};
constexpr std::array<absl::string_view, 6> kTextKeys = {"description", "text",    "message",
                                                        "body",        "comment", "content"};
constexpr std::array<absl::string_view, 9> kAuthorKeys = {
    "user", "author", "actor", "sender", "creator", "submitter", "owner", "reporter", "reviewer"};
constexpr std::array<absl::string_view, 6> kPersonNameKeys = {
    "name", "display_name", "displayName", "username", "login", "email"};
constexpr std::array<absl::string_view, 2> kColorKeys = {"color", "colour"};
constexpr std::array<absl::string_view, 6> kStatusKeys = {"status", "state",  "severity",
                                                          "level",  "result", "conclusion"};
constexpr std::array<absl::string_view, 8> kLabelKeys = {
    "name", "title", "summary", "display_name", "displayName", "username", "key", "id"};
constexpr size_t kMaxJoinedItems = 20;
// Levels of objects below the payload searched for well-known keys.
constexpr int kScopeLevels = 2;

// Where well-known keys are looked up: the payload object and the objects below it,
// breadth first.
struct Scopes {
  std::vector<const Value*> objects;
  // Values already used for the title, url, text, author or color, left out of the fields.
  std::vector<const Value*> used;
  bool Used(const Value* v) const { return std::find(used.begin(), used.end(), v) != used.end(); }
};

bool IsAuthorKey(absl::string_view key) {
  return std::find(kAuthorKeys.begin(), kAuthorKeys.end(), key) != kAuthorKeys.end();
}

// Appends the object members of `object` that do not hold a person.
void AddChildScopes(const Value& object, std::vector<const Value*>* out) {
  for (const auto& [key, member] : object.members()) {
    if (out->size() == kMaxMessageScopes) return;
    if (member.is_object() && !IsAuthorKey(key)) out->push_back(&member);
  }
}

Scopes MakeScopes(const Value& data) {
  Scopes scopes;
  if (!data.is_object()) return scopes;
  scopes.objects.push_back(&data);
  size_t level_start = 0;
  for (int level = 0; level < kScopeLevels; ++level) {
    const size_t level_end = scopes.objects.size();
    for (size_t i = level_start; i < level_end; ++i) {
      AddChildScopes(*scopes.objects[i], &scopes.objects);
    }
    level_start = level_end;
  }
  return scopes;
}

bool NonEmpty(absl::string_view s) { return !s.empty(); }

bool IsHttpUrl(absl::string_view s) {
  return absl::StartsWithIgnoreCase(s, "https://") || absl::StartsWithIgnoreCase(s, "http://");
}

// The two tiers of scopes searched in turn: the payload and its subject (its first object
// member), then the objects further away. As index ranges into Scopes::objects.
std::array<std::pair<size_t, size_t>, 2> Tiers(const Scopes& scopes) {
  const size_t near = std::min<size_t>(2, scopes.objects.size());
  return {{{0, near}, {near, scopes.objects.size()}}};
}

// The first key (tier by tier, then in `keys` order, then scope by scope) whose value is a
// string or a number that `accept`s; marks it used.
template <size_t N>
std::string FindText(Scopes& scopes, const std::array<absl::string_view, N>& keys,
                     bool (*accept)(absl::string_view) = NonEmpty) {
  for (const auto& [begin, end] : Tiers(scopes)) {
    for (absl::string_view key : keys) {
      for (size_t i = begin; i < end; ++i) {
        const Value* v = scopes.objects[i]->Find(key);
        if (v == nullptr || !(v->is_string() || v->type() == Value::Type::kNumber)) continue;
        if (!accept(v->text())) continue;
        scopes.used.push_back(v);
        return v->text();
      }
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
  for (const auto& [begin, end] : Tiers(scopes)) {
    for (absl::string_view key : kAuthorKeys) {
      for (size_t i = begin; i < end; ++i) {
        const Value* v = scopes.objects[i]->Find(key);
        if (v == nullptr) continue;
        std::string name = PersonName(*v);
        if (name.empty()) continue;
        scopes.used.push_back(v);
        return name;
      }
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

// The first name-like scalar of an object ("Mobile App Q4" for a project), or null.
const Value* Label(const Value& object) {
  for (absl::string_view key : kLabelKeys) {
    const Value* v = object.Find(key);
    if (v != nullptr &&
        (v->type() == Value::Type::kNumber || (v->is_string() && !v->text().empty()))) {
      return v;
    }
  }
  return nullptr;
}

// A scalar as text, or an array of scalars and labelled objects comma-joined; "" for
// anything else.
std::string FieldValue(const Value& v) {
  if (v.is_scalar()) return v.ToText();
  if (!v.is_array() || v.items().empty()) return "";
  std::vector<std::string> parts;
  for (const Value& item : v.items()) {
    const Value* label = item.is_object() ? Label(item) : &item;
    if (label == nullptr || !label->is_scalar() || parts.size() == kMaxJoinedItems) return "";
    parts.push_back(label->ToText());
  }
  return absl::StrJoin(parts, ", ");
}

// Collects the fields of a message, skipping what the rest of the message already shows.
class FieldCollector {
 public:
  FieldCollector(const Scopes& scopes, absl::string_view event_type, Message* m)
      : scopes_(scopes), event_type_(event_type), m_(m) {}

  // Lists the members of `object`: scalars as they are, objects by their label, and the
  // first object of the payload (its subject) with its own members instead.
  void Members(const Value& object, bool expand_first_object) {
    for (const auto& [key, member] : object.members()) {
      if (member.is_object() && expand_first_object && !IsAuthorKey(key)) {
        expand_first_object = false;
        Members(member, false);
      } else if (member.is_object()) {
        Add(key, Label(member), &member);
      } else {
        Add(key, &member, &member);
      }
    }
  }

 private:
  void Add(absl::string_view key, const Value* shown, const Value* member) {
    if (m_->fields.size() == kMaxMessageFields || shown == nullptr || key.empty() ||
        scopes_.Used(shown) || scopes_.Used(member)) {
      return;
    }
    std::string value = FieldValue(*shown);
    if (value.empty() || value == event_type_) return;
    m_->fields.push_back({FieldName(key), std::move(value)});
  }

  const Scopes& scopes_;
  const absl::string_view event_type_;
  Message* const m_;
};

// "REVIEW_REQUESTED" → "Review Requested", "issue.created" → "Issue Created"; words in
// mixed case ("iOS") are kept.
std::string TypeInWords(absl::string_view type) {
  std::vector<std::string> words;
  for (absl::string_view word :
       absl::StrSplit(type, absl::ByAnyChar(" _-.:/"), absl::SkipEmpty())) {
    std::string w(word);
    const bool upper = absl::AsciiStrToUpper(w) == w;
    const bool lower = absl::AsciiStrToLower(w) == w;
    if (upper || lower) {
      absl::AsciiStrToLower(&w);
      w[0] = absl::ascii_toupper(static_cast<unsigned char>(w[0]));
    }
    words.push_back(std::move(w));
  }
  return absl::StrJoin(words, " ");
}

}  // namespace

Message ExtractMessage(const v1::Event& event, const Value& data) {
  Message m;
  Scopes scopes = MakeScopes(data);
  const std::string title = FindText(scopes, kTitleKeys);
  std::string type = TypeInWords(event.type());
  if (type.empty()) type = "Event";
  m.title = title.empty() ? type : absl::StrCat(type, ": ", title);
  m.url = FindText(scopes, kUrlKeys, IsHttpUrl);
  m.text = FindText(scopes, kTextKeys);
  m.author = FindAuthor(scopes);
  m.color = FindColor(scopes);
  if (data.is_object()) FieldCollector(scopes, event.type(), &m).Members(data, true);
  m.footer = event.type();
  m.timestamp = FormatTimestamp(event.occurred_at());
  m.unix_seconds = event.occurred_at().seconds();
  return m;
}

}  // namespace hookrelay::render
