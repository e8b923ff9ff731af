#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hookrelay/v1/resources.pb.h"
#include "libs/render/formats.h"
#include "libs/render/template.h"
#include "libs/render/text.h"

namespace hookrelay::render {

// The request body and target of one delivery, before signing.
struct RenderedRequest {
  std::string url;
  std::string body;
  std::string content_type;
};

// Renders events for one webhook in its payload format. Create parses the hook's templates
// once; Render is then cheap to call for every delivery. Immutable and thread-safe; cheap to
// copy. deploy/docs/webhooks.md is the user's reference for all of this.
//
//   format              body                                   Content-Type
//   ENVELOPE (default)  {"id","type","timestamp","tenant","data"}  application/json
//   JSON                the payload as published                application/json
//   XML                 the payload in Review Board's XML       application/xml
//                       layout (see XmlBody)
//   FORM                payload=<the payload, form-encoded>     application/x-www-form-urlencoded
//   TEMPLATE            payload_template over EventContext,     the hook's content_type, else
//                       values escaped for the media type       guessed (GuessTemplateMediaType)
//                       (EscapeForMediaType)
//   SLACK/DISCORD/JIRA  SlackBody/DiscordBody/JiraBody of       application/json
//                       ExtractMessage, or payload_template
//                       (JSON-escaped); either way cut to the
//                       service's limits (EnforceChatLimits)
// A URL holding "{{" is a template rendered with URL escaping over the same context; the
// rendered URL must keep its path's structure (CheckUrlPath).
class Renderer {
 public:
  // INVALID_ARGUMENT naming "<field>.payload_template", "<field>.url",
  // "<field>.content_type" or "<field>.payload_format" when the hook's templates do not
  // parse, its URL template has "." or ".." or empty path segments of its own, its content
  // type is malformed or set for a format other than TEMPLATE, or its format is unknown or
  // needs a template it lacks.
  static absl::StatusOr<Renderer> Create(const v1::Webhook& hook,
                                         absl::string_view field = "webhook");

  // Errors (all mean "this event cannot be rendered for this hook"; do not retry):
  // INVALID_ARGUMENT "event.payload: ..." when a parsing format meets a payload that is not
  // JSON or nests deeper than kMaxPayloadDepth; FAILED_PRECONDITION "<field>.url: data.key is
  // missing" (or .payload_template) for a missing variable, "<field>.url: <name> is empty"
  // for an empty URL value, or when the rendered URL holds spaces or control characters or
  // would change its path (CheckUrlPath), or a JSON template renders invalid JSON;
  // OUT_OF_RANGE when a template's output or work exceeds its bounds.
  absl::StatusOr<RenderedRequest> Render(const v1::Event& event) const;

 private:
  Renderer() = default;
  absl::Status ParseUrl(const v1::Webhook& hook, absl::string_view field);
  absl::Status ParseBodyTemplate(const v1::Webhook& hook, absl::string_view field);
  bool NeedsData() const;
  absl::Status RenderTemplate(const Value& context, RenderedRequest* out) const;
  void RenderFormat(const v1::Event& event, const Value* data, RenderedRequest* out) const;

  v1::PayloadFormat format_ = v1::PAYLOAD_FORMAT_ENVELOPE;
  std::string url_;
  std::optional<Template> url_template_;
  std::optional<Template> body_template_;
  std::string template_content_type_;
};

// Renders `event` for `hook`, compiling the hook each time (tests and one-off callers; the
// worker keeps a Renderer per cached hook). Errors as Renderer::Create and Render.
absl::StatusOr<RenderedRequest> Render(const v1::Webhook& hook, const v1::Event& event);

// Checks what rendering needs of a hook, for the registry's create/update: the template is
// required by TEMPLATE, optional for SLACK/DISCORD/JIRA and refused by the other formats;
// content_type only with TEMPLATE; templates (payload_template and a URL with "{{") must
// parse. INVALID_ARGUMENT naming "<field>.payload_template", "<field>.content_type" or
// "<field>.url" (without the "<field>." when `field` is empty).
absl::Status ValidateRender(const v1::Webhook& hook, absl::string_view field);

}  // namespace hookrelay::render
