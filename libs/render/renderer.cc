#include "libs/render/renderer.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status_macros.h"
#include "libs/render/chat_formatters.h"
#include "libs/render/media_type.h"
#include "libs/render/message.h"
#include "libs/render/url_path.h"
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

absl::StatusOr<Value> ParsePayload(const v1::Event& event) {
  return Value::Parse(event.payload(), kMaxPayloadDepth, "event.payload");
}

absl::Status CheckJson(absl::string_view body, absl::string_view field) {
  if (nlohmann::json::accept(body)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(field, ": rendered body is not valid JSON"));
}

// A URL template with each tag replaced by "x": the structure the template itself gives.
std::string UrlSkeleton(absl::string_view url) {
  std::string out;
  size_t pos = 0;
  for (size_t open; (open = url.find("{{", pos)) != absl::string_view::npos;) {
    const absl::string_view closer = url.substr(open).rfind("{{{", 0) == 0 ? "}}}" : "}}";
    const size_t close = url.find(closer, open);
    if (close == absl::string_view::npos) break;
    absl::StrAppend(&out, url.substr(pos, open - pos), "x");
    pos = close + closer.size();
  }
  absl::StrAppend(&out, url.substr(pos));
  return out;
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
  HR_RETURN_IF_ERROR(r.ParseUrl(hook, field));
  HR_RETURN_IF_ERROR(r.ParseBodyTemplate(hook, field));
  return r;
}

absl::Status Renderer::ParseUrl(const v1::Webhook& hook, absl::string_view field) {
  url_ = hook.url();
  if (!absl::StrContains(url_, "{{")) return absl::OkStatus();
  const std::string url_field = Path(field, "url");
  TemplateOptions options{
      .escape = Escape::kUrl, .field = url_field, .max_output_bytes = kMaxRenderedUrlBytes};
  HR_ASSIGN_OR_RETURN(Template url, Template::Parse(url_, std::move(options)));
  // Dot or empty segments of the template's own would fail every delivery.
  if (!CheckUrlPath(UrlSkeleton(url_), url_field).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(url_field,
                     ": the path outside {{variables}} must not have \".\", \"..\" or empty "
                     "segments, spaces or control characters"));
  }
  url_template_ = std::move(url);
  return absl::OkStatus();
}

absl::Status Renderer::ParseBodyTemplate(const v1::Webhook& hook, absl::string_view field) {
  const std::string content_type_field = Path(field, "content_type");
  if (!hook.content_type().empty()) {
    if (format_ != v1::PAYLOAD_FORMAT_TEMPLATE) {
      return absl::InvalidArgumentError(absl::StrCat(
          content_type_field, ": only the TEMPLATE payload format takes a content type"));
    }
    HR_RETURN_IF_ERROR(ValidateContentType(hook.content_type(), content_type_field));
  }
  const std::string template_field = Path(field, "payload_template");
  if (format_ == v1::PAYLOAD_FORMAT_TEMPLATE && hook.payload_template().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(template_field, ": required by payload format TEMPLATE"));
  }
  if (!UsesTemplate(format_) || hook.payload_template().empty()) return absl::OkStatus();
  if (IsChatFormat(format_)) {
    template_content_type_ = "application/json";
  } else if (!hook.content_type().empty()) {
    template_content_type_ = hook.content_type();
  } else {
    template_content_type_ = std::string(GuessTemplateMediaType(hook.payload_template()));
  }
  TemplateOptions options{.escape = EscapeForMediaType(template_content_type_),
                          .field = template_field};
  HR_ASSIGN_OR_RETURN(Template body, Template::Parse(hook.payload_template(), std::move(options)));
  body_template_ = std::move(body);
  return absl::OkStatus();
}

bool Renderer::NeedsData() const {
  return url_template_.has_value() || body_template_.has_value() ||
         format_ == v1::PAYLOAD_FORMAT_XML || IsChatFormat(format_);
}

absl::StatusOr<RenderedRequest> Renderer::Render(const v1::Event& event) const {
  RenderedRequest out;
  if (!NeedsData()) {
    out.url = url_;
    RenderFormat(event, nullptr, &out);
    return out;
  }
  HR_ASSIGN_OR_RETURN(Value data, ParsePayload(event));
  const Value context = EventContext(event, std::move(data));
  if (url_template_.has_value()) {
    absl::Status st = url_template_->Render(context, &out.url);
    if (st.ok()) st = CheckUrlPath(out.url, url_template_->options().field);
    if (!st.ok()) return st;
  } else {
    out.url = url_;
  }
  if (body_template_.has_value()) {
    HR_RETURN_IF_ERROR(RenderTemplate(context, &out));
  } else {
    RenderFormat(event, context.Find("data"), &out);
  }
  return out;
}

absl::Status Renderer::RenderTemplate(const Value& context, RenderedRequest* out) const {
  out->content_type = template_content_type_;
  HR_RETURN_IF_ERROR(body_template_->Render(context, &out->body));
  if (body_template_->options().escape == Escape::kJson) {
    HR_RETURN_IF_ERROR(CheckJson(out->body, body_template_->options().field));
  }
  if (IsChatFormat(format_)) EnforceChatLimits(format_, &out->body);
  return absl::OkStatus();
}

void Renderer::RenderFormat(const v1::Event& event, const Value* data, RenderedRequest* out) const {
  out->content_type = "application/json";
  switch (format_) {
    case v1::PAYLOAD_FORMAT_JSON:
      out->body = event.payload();
      return;
    case v1::PAYLOAD_FORMAT_XML:
      out->content_type = "application/xml";
      out->body = XmlBody(*data);
      return;
    case v1::PAYLOAD_FORMAT_FORM:
      out->content_type = "application/x-www-form-urlencoded";
      out->body = FormBody(event);
      return;
    case v1::PAYLOAD_FORMAT_SLACK:
      out->body = SlackBody(ExtractMessage(event, *data));
      return;
    case v1::PAYLOAD_FORMAT_DISCORD:
      out->body = DiscordBody(ExtractMessage(event, *data));
      return;
    case v1::PAYLOAD_FORMAT_JIRA:
      out->body = JiraBody(ExtractMessage(event, *data));
      return;
    default:
      AppendEnvelope(event, &out->body);
      return;
  }
}

absl::StatusOr<RenderedRequest> Render(const v1::Webhook& hook, const v1::Event& event) {
  HR_ASSIGN_OR_RETURN(Renderer renderer, Renderer::Create(hook));
  return renderer.Render(event);
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
