#include "libs/render/chat_limits.h"

#include <algorithm>
#include <initializer_list>
#include <vector>

#include "absl/strings/string_view.h"
#include "libs/render/formats.h"
#include "libs/render/text.h"

namespace hookrelay::render {
namespace {

// Passes over a JIRA body before giving up on one that is too big without much text.
constexpr int kMaxJiraPasses = 4;

Value* Member(Value* object, absl::string_view key) {
  return object != nullptr && object->is_object() ? object->FindMutable(key) : nullptr;
}

std::vector<Value>* Items(Value* array) {
  return array != nullptr && array->is_array() ? &array->mutable_items() : nullptr;
}

size_t Units(const Value* v) { return v != nullptr && v->is_string() ? Utf16Length(v->text()) : 0; }

// Cuts a string to `max` units; false when `v` is absent, not a string or short enough.
bool Cut(Value* v, size_t max) {
  if (Units(v) <= max) return false;
  *v = Value::String(Truncate(v->text(), max));
  return true;
}

bool CutEach(std::vector<Value>* items, absl::string_view key, size_t max) {
  bool changed = false;
  if (items != nullptr) {
    for (Value& item : *items) changed |= Cut(Member(&item, key), max);
  }
  return changed;
}

// Keeps the first `max` elements of an array.
bool KeepFirst(std::vector<Value>* items, size_t max) {
  if (items == nullptr || items->size() <= max) return false;
  items->resize(max);
  return true;
}

// Shortens a string by up to `*excess` units, to no less than one, and lowers `*excess` by
// what it saved.
bool Shorten(Value* v, size_t* excess) {
  const size_t units = Units(v);
  if (*excess == 0 || units <= 1) return false;
  *v = Value::String(Truncate(v->text(), units > *excess + 1 ? units - *excess : 1));
  *excess -= std::min(*excess, units - Utf16Length(v->text()));
  return true;
}

bool SlackBlock(Value* block) {
  const Value* type = block->is_object() ? block->Find("type") : nullptr;
  const absl::string_view kind = type != nullptr && type->is_string() ? type->text() : "";
  if (kind == "header") return Cut(Member(Member(block, "text"), "text"), kSlackHeaderTextMax);
  bool changed = false;
  if (kind == "section") {
    changed |= Cut(Member(Member(block, "text"), "text"), kSlackSectionTextMax);
    std::vector<Value>* fields = Items(Member(block, "fields"));
    changed |= KeepFirst(fields, kSlackSectionFieldsMax);
    changed |= CutEach(fields, "text", kSlackSectionFieldTextMax);
  } else if (kind == "context") {
    std::vector<Value>* elements = Items(Member(block, "elements"));
    changed |= KeepFirst(elements, kSlackContextElementsMax);
    changed |= CutEach(elements, "text", kSlackSectionTextMax);
  }
  return changed;
}

bool SlackBlocks(Value* blocks) {
  std::vector<Value>* items = Items(blocks);
  bool changed = KeepFirst(items, kSlackBlocksMax);
  if (items != nullptr) {
    for (Value& block : *items) changed |= SlackBlock(&block);
  }
  return changed;
}

bool SlackAttachment(Value* a) {
  bool changed = Cut(Member(a, "title"), kSlackTitleMax);
  changed |= Cut(Member(a, "author_name"), kSlackTitleMax);
  for (absl::string_view key : {"text", "pretext", "fallback"}) {
    changed |= Cut(Member(a, key), kSlackTextMax);
  }
  changed |= Cut(Member(a, "footer"), kSlackFooterMax);
  std::vector<Value>* fields = Items(Member(a, "fields"));
  changed |= CutEach(fields, "title", kSlackTitleMax);
  changed |= CutEach(fields, "value", kSlackTextMax);
  return SlackBlocks(Member(a, "blocks")) || changed;
}

bool EnforceSlack(Value* body) {
  bool changed = Cut(Member(body, "text"), kSlackMessageTextMax);
  changed |= SlackBlocks(Member(body, "blocks"));
  std::vector<Value>* attachments = Items(Member(body, "attachments"));
  changed |= KeepFirst(attachments, kSlackAttachmentsMax);
  if (attachments != nullptr) {
    for (Value& a : *attachments) changed |= SlackAttachment(&a);
  }
  return changed;
}

bool DiscordEmbed(Value* e) {
  bool changed = Cut(Member(e, "title"), kDiscordTitleMax);
  changed |= Cut(Member(e, "description"), kDiscordDescriptionMax);
  std::vector<Value>* fields = Items(Member(e, "fields"));
  changed |= KeepFirst(fields, kDiscordFieldsMax);
  changed |= CutEach(fields, "name", kDiscordFieldNameMax);
  changed |= CutEach(fields, "value", kDiscordFieldValueMax);
  changed |= Cut(Member(Member(e, "footer"), "text"), kDiscordFooterMax);
  return Cut(Member(Member(e, "author"), "name"), kDiscordAuthorMax) || changed;
}

size_t FieldUnits(Value* field) {
  return Units(Member(field, "name")) + Units(Member(field, "value"));
}

size_t EmbedUnits(Value* e) {
  size_t units = Units(Member(e, "title")) + Units(Member(e, "description")) +
                 Units(Member(Member(e, "footer"), "text")) +
                 Units(Member(Member(e, "author"), "name"));
  if (std::vector<Value>* fields = Items(Member(e, "fields"))) {
    for (Value& f : *fields) units += FieldUnits(&f);
  }
  return units;
}

// Drops fields from the end of the last embeds while `*excess` remains.
void DropDiscordFields(std::vector<Value>& embeds, size_t* excess) {
  for (auto e = embeds.rbegin(); e != embeds.rend() && *excess > 0; ++e) {
    std::vector<Value>* fields = Items(Member(&*e, "fields"));
    while (fields != nullptr && !fields->empty() && *excess > 0) {
      *excess -= std::min(*excess, FieldUnits(&fields->back()));
      fields->pop_back();
    }
  }
}

// Shortens the member at `path` of each embed, last embed first, while `*excess` remains.
void ShortenDiscord(std::vector<Value>& embeds, std::initializer_list<absl::string_view> path,
                    size_t* excess) {
  for (auto e = embeds.rbegin(); e != embeds.rend() && *excess > 0; ++e) {
    Value* v = &*e;
    for (absl::string_view key : path) v = Member(v, key);
    Shorten(v, excess);
  }
}

bool FitDiscordTotal(std::vector<Value>& embeds) {
  size_t total = 0;
  for (Value& e : embeds) total += EmbedUnits(&e);
  if (total <= kDiscordTotalMax) return false;
  size_t excess = total - kDiscordTotalMax;
  ShortenDiscord(embeds, {"description"}, &excess);
  DropDiscordFields(embeds, &excess);
  ShortenDiscord(embeds, {"footer", "text"}, &excess);
  ShortenDiscord(embeds, {"author", "name"}, &excess);
  ShortenDiscord(embeds, {"title"}, &excess);
  return true;
}

bool EnforceDiscord(Value* body) {
  bool changed = Cut(Member(body, "content"), kDiscordContentMax);
  changed |= Cut(Member(body, "username"), kDiscordUsernameMax);
  std::vector<Value>* embeds = Items(Member(body, "embeds"));
  if (embeds == nullptr) return changed;
  changed |= KeepFirst(embeds, kDiscordEmbedsMax);
  for (Value& e : *embeds) changed |= DiscordEmbed(&e);
  return FitDiscordTotal(*embeds) || changed;
}

// The "text" strings of ADF text nodes under `node`. Parsed values nest at most
// kMaxPayloadDepth deep, which bounds the recursion.
void CollectAdfTexts(Value* node, std::vector<Value*>* out) {
  if (node->is_array()) {
    for (Value& item : node->mutable_items()) CollectAdfTexts(&item, out);
    return;
  }
  if (!node->is_object()) return;
  const Value* type = node->Find("type");
  Value* text = node->FindMutable("text");
  if (type != nullptr && type->is_string() && type->text() == "text" && text != nullptr &&
      text->is_string()) {
    out->push_back(text);
  }
  for (auto& [key, member] : node->mutable_members()) {
    if (!member.is_scalar()) CollectAdfTexts(&member, out);
  }
}

bool EnforceJira(Value* body) {
  Value* doc = Member(body, "body");
  if (doc == nullptr) return false;
  if (doc->is_string()) return Cut(doc, kJiraBodyMax);
  bool changed = false;
  for (int pass = 0; pass < kMaxJiraPasses; ++pass) {
    const size_t size = Utf16Length(doc->ToJson());
    if (size <= kJiraBodyMax) break;
    size_t excess = size - kJiraBodyMax;
    std::vector<Value*> texts;
    CollectAdfTexts(doc, &texts);
    std::stable_sort(texts.begin(), texts.end(),
                     [](const Value* a, const Value* b) { return Units(a) > Units(b); });
    for (Value* text : texts) changed |= Shorten(text, &excess);
  }
  return changed;
}

}  // namespace

bool EnforceChatLimits(v1::PayloadFormat format, Value* body) {
  if (!body->is_object()) return false;
  switch (format) {
    case v1::PAYLOAD_FORMAT_SLACK:
      return EnforceSlack(body);
    case v1::PAYLOAD_FORMAT_DISCORD:
      return EnforceDiscord(body);
    case v1::PAYLOAD_FORMAT_JIRA:
      return EnforceJira(body);
    default:
      return false;
  }
}

bool EnforceChatLimits(v1::PayloadFormat format, std::string* body) {
  // Template output may nest the data (itself up to kMaxPayloadDepth) inside a few levels.
  absl::StatusOr<Value> parsed = Value::Parse(*body, 2 * kMaxPayloadDepth, "body");
  if (!parsed.ok() || !EnforceChatLimits(format, &*parsed)) return false;
  *body = parsed->ToJson();
  return true;
}

}  // namespace hookrelay::render
