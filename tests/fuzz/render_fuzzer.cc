// libFuzzer target: Renderer::Render of every payload format over arbitrary payload bytes.
//
// Checks: no crash or sanitizer report; a payload that is JSON (within the depth limit)
// renders in every format; chat bodies are valid JSON within Discord's limits; form bodies
// hold only form-encoded characters; XML bodies hold no raw control characters.

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
  return renderers;
}

// Discord counts title, description, field names and values, footer and author together.
void CheckDiscord(const nlohmann::json& body) {
  const nlohmann::json& e = body.at("embeds").at(0);
  size_t total = 0;
  auto units = [&](const nlohmann::json& s, size_t max) {
    const size_t n = Utf16Length(s.get<std::string>());
    Check(n <= max);
    total += n;
  };
  if (e.contains("title")) units(e["title"], hookrelay::render::kDiscordTitleMax);
  if (e.contains("description")) units(e["description"], hookrelay::render::kDiscordDescriptionMax);
  if (e.contains("fields")) {
    Check(e["fields"].size() <= hookrelay::render::kDiscordFieldsMax);
    for (const auto& f : e["fields"]) {
      units(f.at("name"), hookrelay::render::kDiscordFieldNameMax);
      units(f.at("value"), hookrelay::render::kDiscordFieldValueMax);
    }
  }
  Check(total <= hookrelay::render::kDiscordTotalMax);
}

void CheckBody(v1::PayloadFormat format, const std::string& body) {
  if (format == v1::PAYLOAD_FORMAT_FORM) {
    for (char c : body) Check(c > 0x20 && c < 0x7f);
  } else if (format == v1::PAYLOAD_FORMAT_XML) {
    for (unsigned char c : body) Check(c >= 0x20);
  } else if (format >= v1::PAYLOAD_FORMAT_SLACK) {
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    Check(!j.is_discarded());
    if (format == v1::PAYLOAD_FORMAT_DISCORD) CheckDiscord(j);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static const std::vector<Renderer>* const renderers = new std::vector<Renderer>(MakeRenderers());
  static const v1::PayloadFormat kFormats[] = {
      v1::PAYLOAD_FORMAT_ENVELOPE, v1::PAYLOAD_FORMAT_JSON,    v1::PAYLOAD_FORMAT_XML,
      v1::PAYLOAD_FORMAT_FORM,     v1::PAYLOAD_FORMAT_SLACK,   v1::PAYLOAD_FORMAT_DISCORD,
      v1::PAYLOAD_FORMAT_JIRA,     v1::PAYLOAD_FORMAT_TEMPLATE};
  v1::Event event;
  event.set_id("evt_1");
  event.set_tenant("acme");
  event.set_type("REVIEW_REQUESTED");
  event.set_payload(std::string(reinterpret_cast<const char*>(bytes), size));
  const bool is_json = nlohmann::json::accept(event.payload());
  for (size_t i = 0; i < renderers->size(); ++i) {
    absl::StatusOr<hookrelay::render::RenderedRequest> r = (*renderers)[i].Render(event);
    if (!r.ok()) {
      // Only the depth limit (or a template's missing value / invalid JSON) may refuse JSON.
      Check(!is_json || kFormats[i] == v1::PAYLOAD_FORMAT_TEMPLATE ||
            r.status().message().find("deeper") != absl::string_view::npos);
      continue;
    }
    CheckBody(kFormats[i], r->body);
  }
  return 0;
}
