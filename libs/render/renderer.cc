#include "libs/render/renderer.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/render/chat_formatters.h"
#include "libs/render/message.h"
#include "nlohmann/json.hpp"

namespace hookrelay::render {
namespace {

constexpr size_t kMaxRenderedUrlBytes = 16 * 1024;

std::string Path(absl::string_view field, absl::string_view child) {
  return field.empty() ? std::string(child) : absl::StrCat(field, ".", child);
}

bool IsChatFormat(v1::PayloadFormat format) {
  return format == v1::PAYLOAD_FORMAT_SLACK || format == v1::PAYLOAD_FORMAT_DISCORD ||
         format == v1::PAYLOAD_FORMAT_JIRA;
}

bool UsesTemplate(v1::PayloadFormat format) {
  return format == v1::PAYLOAD_FORMAT_TEMPLATE || IsChatFormat(format);
}

// A TEMPLATE body is JSON when its first non-blank character opens an object or array.
bool LooksLikeJson(absl::string_view text) {
  text = absl::StripLeadingAsciiWhitespace(text);
  return !text.empty() && (text[0] == '{' || text[0] == '[');
}

absl::StatusOr<Value> ParsePayload(const v1::Event& event) {
  return Value::Parse(event.payload(), kMaxPayloadDepth, "event.payload");
}

absl::Status CheckRenderedUrl(absl::string_view url, absl::string_view field) {
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ": rendered URL contains spaces or control characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckJson(absl::string_view body, absl::string_view field) {
  if (nlohmann::json::accept(body)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(field, ": rendered body is not valid JSON"));
}

}  // namespace

absl::StatusOr<Renderer> Renderer::Create(const v1::Webhook& hook, absl::string_view field) {
  Renderer r;
  r.format_ = hook.payload_format() == v1::PAYLOAD_FORMAT_UNSPECIFIED ? v1::PAYLOAD_FORMAT_ENVELOPE
                                                                      : hook.payload_format();
  if (!v1::PayloadFormat_IsValid(r.format_)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Path(field, "payload_format"), ": unknown format"));
  }
  r.url_ = hook.url();
  if (absl::StrContains(hook.url(), "{{")) {
    TemplateOptions options{.escape = Escape::kUrl,
                            .field = Path(field, "url"),
                            .max_output_bytes = kMaxRenderedUrlBytes};
    absl::StatusOr<Template> url = Template::Parse(hook.url(), std::move(options));
    if (!url.ok()) return url.status();
    r.url_template_ = *std::move(url);
  }
  if (r.format_ == v1::PAYLOAD_FORMAT_TEMPLATE && hook.payload_template().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Path(field, "payload_template"), ": required by payload format TEMPLATE"));
  }
  if (UsesTemplate(r.format_) && !hook.payload_template().empty()) {
    const bool json = IsChatFormat(r.format_) || LooksLikeJson(hook.payload_template());
    r.template_content_type_ = json ? "application/json" : "text/plain; charset=utf-8";
    TemplateOptions options{.escape = json ? Escape::kJson : Escape::kNone,
                            .field = Path(field, "payload_template")};
    absl::StatusOr<Template> body = Template::Parse(hook.payload_template(), std::move(options));
    if (!body.ok()) return body.status();
    r.body_template_ = *std::move(body);
  }
  return r;
}

bool Renderer::NeedsContext() const {
  return url_template_.has_value() || body_template_.has_value() ||
         format_ == v1::PAYLOAD_FORMAT_XML || IsChatFormat(format_);
}

absl::StatusOr<RenderedRequest> Renderer::Render(const v1::Event& event) const {
  std::optional<Value> context;
  if (NeedsContext()) {
    absl::StatusOr<Value> data = ParsePayload(event);
    if (!data.ok()) return data.status();
    context = EventContext(event, *std::move(data));
  }
  RenderedRequest out;
  if (url_template_.has_value()) {
    absl::Status st = url_template_->Render(*context, &out.url);
    if (st.ok()) st = CheckRenderedUrl(out.url, url_template_->options().field);
    if (!st.ok()) return st;
  } else {
    out.url = url_;
  }
  absl::Status st = RenderBody(event, context ? &*context : nullptr, &out);
  if (!st.ok()) return st;
  return out;
}

absl::Status Renderer::RenderBody(const v1::Event& event, const Value* context,
                                  RenderedRequest* out) const {
  out->content_type = "application/json";
  if (body_template_.has_value()) {
    out->content_type = template_content_type_;
    absl::Status st = body_template_->Render(*context, &out->body);
    if (st.ok() && body_template_->options().escape == Escape::kJson) {
      st = CheckJson(out->body, body_template_->options().field);
    }
    return st;
  }
  const Value* data = context != nullptr ? context->Find("data") : nullptr;
  switch (format_) {
    case v1::PAYLOAD_FORMAT_JSON:
      out->body = event.payload();
      break;
    case v1::PAYLOAD_FORMAT_XML:
      out->content_type = "application/xml";
      out->body = XmlBody(event, *data);
      break;
    case v1::PAYLOAD_FORMAT_FORM:
      out->content_type = "application/x-www-form-urlencoded";
      out->body = FormBody(event);
      break;
    case v1::PAYLOAD_FORMAT_SLACK:
      out->body = SlackBody(ExtractMessage(event, *data));
      break;
    case v1::PAYLOAD_FORMAT_DISCORD:
      out->body = DiscordBody(ExtractMessage(event, *data));
      break;
    case v1::PAYLOAD_FORMAT_JIRA:
      out->body = JiraBody(ExtractMessage(event, *data));
      break;
    default:
      AppendEnvelope(event, &out->body);
      break;
  }
  return absl::OkStatus();
}

absl::StatusOr<RenderedRequest> Render(const v1::Webhook& hook, const v1::Event& event) {
  absl::StatusOr<Renderer> renderer = Renderer::Create(hook);
  if (!renderer.ok()) return renderer.status();
  return renderer->Render(event);
}

absl::Status ValidateRender(const v1::Webhook& hook, absl::string_view field) {
  if (!hook.payload_template().empty() && !UsesTemplate(hook.payload_format())) {
    return absl::InvalidArgumentError(absl::StrCat(
        Path(field, "payload_template"),
        ": only the TEMPLATE, SLACK, DISCORD and JIRA payload formats use a template"));
  }
  return Renderer::Create(hook, field).status();
}

}  // namespace hookrelay::render
