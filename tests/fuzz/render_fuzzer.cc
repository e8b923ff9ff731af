// libFuzzer target: Renderer::Render of every payload format over arbitrary payload bytes.
//
// Checks: no crash or sanitizer report; a payload that is JSON (within the depth limit)
// renders in every format; chat bodies, built-in or a template sending the payload itself,
// are valid JSON within Slack's, Discord's and JIRA's limits; form bodies hold only
// form-encoded characters; XML bodies hold no raw control characters but line feeds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "libs/render/chat_formatters.h"
#include "libs/render/renderer.h"
#include "libs/render/text.h"
#include "nlohmann/json.hpp"

namespace {

using hookrelay::render::Renderer;
using hookrelay::render::Utf16Length;
namespace v1 = hookrelay::v1;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<Renderer> MakeRenderers() {
  std::vector<Renderer> renderers;
  for (auto format : {v1::PAYLOAD_FORMAT_ENVELOPE, v1::PAYLOAD_FORMAT_JSON, v1::PAYLOAD_FORMAT_XML,
                      v1::PAYLOAD_FORMAT_FORM, v1::PAYLOAD_FORMAT_SLACK, v1::PAYLOAD_FORMAT_DISCORD,
                      v1::PAYLOAD_FORMAT_JIRA}) {
    v1::Webhook hook;
    hook.set_url("https://x.example/hooks");
    hook.set_payload_format(format);
    renderers.push_back(*Renderer::Create(hook));
  }
  v1::Webhook templated;
  templated.set_url("https://x.example/{{event.type}}/{{#data}}{{.}}{{/data}}");
  templated.set_payload_format(v1::PAYLOAD_FORMAT_TEMPLATE);
  templated.set_payload_template(
      "{{#data}}{\"d\":{{data}},\"s\":\"{{data}}\"}{{/data}}"
      "{{^data}}[]{{/data}}");
  renderers.push_back(*Renderer::Create(templated));
  // Chat templates that send the payload itself: the service limits must hold whatever it is.
  for (auto format :
       {v1::PAYLOAD_FORMAT_SLACK, v1::PAYLOAD_FORMAT_DISCORD, v1::PAYLOAD_FORMAT_JIRA}) {
    v1::Webhook chat;
    chat.set_url("https://x.example/hooks");
    chat.set_payload_format(format);
    chat.set_payload_template("{{{data}}}");
    renderers.push_back(*Renderer::Create(chat));
  }
  return renderers;
}

size_t Units(const nlohmann::json& v) {
  return v.is_string() ? Utf16Length(v.get<std::string>()) : 0;
}

const nlohmann::json& Member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  return object.is_object() && object.contains(key) ? object[key] : kNull;
}

// Discord counts titles, descriptions, field names and values, footers and authors together.
void CheckDiscord(const nlohmann::json& body) {
  const nlohmann::json& embeds = Member(body, "embeds");
  if (!embeds.is_array()) return;
  Check(embeds.size() <= hookrelay::render::kDiscordEmbedsMax);
  size_t total = 0;
  auto units = [&](const nlohmann::json& s, size_t max) {
    Check(Units(s) <= max);
    total += Units(s);
  };
  for (const nlohmann::json& e : embeds) {
    units(Member(e, "title"), hookrelay::render::kDiscordTitleMax);
    units(Member(e, "description"), hookrelay::render::kDiscordDescriptionMax);
    units(Member(Member(e, "footer"), "text"), hookrelay::render::kDiscordFooterMax);
    units(Member(Member(e, "author"), "name"), hookrelay::render::kDiscordAuthorMax);
    const nlohmann::json& fields = Member(e, "fields");
    if (!fields.is_array()) continue;
    Check(fields.size() <= hookrelay::render::kDiscordFieldsMax);
    for (const auto& f : fields) {
      units(Member(f, "name"), hookrelay::render::kDiscordFieldNameMax);
      units(Member(f, "value"), hookrelay::render::kDiscordFieldValueMax);
    }
  }
  Check(total <= hookrelay::render::kDiscordTotalMax);
}

void CheckSlack(const nlohmann::json& body) {
  Check(Units(Member(body, "text")) <= hookrelay::render::kSlackMessageTextMax);
  const nlohmann::json& blocks = Member(body, "blocks");
  if (blocks.is_array()) Check(blocks.size() <= hookrelay::render::kSlackBlocksMax);
  const nlohmann::json& attachments = Member(body, "attachments");
  if (!attachments.is_array()) return;
  Check(attachments.size() <= hookrelay::render::kSlackAttachmentsMax);
  for (const auto& a : attachments) {
    Check(Units(Member(a, "title")) <= hookrelay::render::kSlackTitleMax);
    Check(Units(Member(a, "text")) <= hookrelay::render::kSlackTextMax);
  }
}

void CheckJira(const nlohmann::json& body) {
  const nlohmann::json& doc = Member(body, "body");
  if (doc.is_string()) Check(Units(doc) <= hookrelay::render::kJiraBodyMax);
}

void CheckBody(v1::PayloadFormat format, const std::string& body) {
  if (format == v1::PAYLOAD_FORMAT_FORM) {
    for (char c : body) Check(c > 0x20 && c < 0x7f);
  } else if (format == v1::PAYLOAD_FORMAT_XML) {
    for (unsigned char c : body) Check(c >= 0x20 || c == '\n' || c == '\t');
  } else if (format >= v1::PAYLOAD_FORMAT_SLACK) {
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    Check(!j.is_discarded());
    if (format == v1::PAYLOAD_FORMAT_DISCORD) CheckDiscord(j);
    if (format == v1::PAYLOAD_FORMAT_SLACK) CheckSlack(j);
    if (format == v1::PAYLOAD_FORMAT_JIRA) CheckJira(j);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static const std::vector<Renderer>* const renderers = new std::vector<Renderer>(MakeRenderers());
  static const v1::PayloadFormat kFormats[] = {
      v1::PAYLOAD_FORMAT_ENVELOPE, v1::PAYLOAD_FORMAT_JSON,     v1::PAYLOAD_FORMAT_XML,
      v1::PAYLOAD_FORMAT_FORM,     v1::PAYLOAD_FORMAT_SLACK,    v1::PAYLOAD_FORMAT_DISCORD,
      v1::PAYLOAD_FORMAT_JIRA,     v1::PAYLOAD_FORMAT_TEMPLATE, v1::PAYLOAD_FORMAT_SLACK,
      v1::PAYLOAD_FORMAT_DISCORD,  v1::PAYLOAD_FORMAT_JIRA};
  // Renderers from this index on are templated (see MakeRenderers).
  constexpr size_t kFirstTemplate = 7;
  v1::Event event;
  event.set_id("evt_1");
  event.set_tenant("acme");
  event.set_type("REVIEW_REQUESTED");
  event.set_payload(std::string(reinterpret_cast<const char*>(bytes), size));
  const bool is_json = nlohmann::json::accept(event.payload());
  for (size_t i = 0; i < renderers->size(); ++i) {
    absl::StatusOr<hookrelay::render::RenderedRequest> r = (*renderers)[i].Render(event);
    if (!r.ok()) {
      // Only the depth limit (or a template's missing value or invalid JSON, e.g. a chat
      // template sending a string payload as is) may refuse JSON.
      Check(!is_json || i >= kFirstTemplate ||
            r.status().message().find("deeper") != absl::string_view::npos);
      continue;
    }
    CheckBody(kFormats[i], r->body);
  }
  return 0;
}
