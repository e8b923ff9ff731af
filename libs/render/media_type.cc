#include "libs/render/media_type.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hookrelay::render {
namespace {

constexpr size_t kMaxContentTypeLength = 256;

// RFC 7230 §3.2.6 tchar.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// "type/subtype", lowercased, without parameters or surrounding blanks.
std::string Essence(absl::string_view content_type) {
  return absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
}

}  // namespace

Escape EscapeForMediaType(absl::string_view content_type) {
  const std::string type = Essence(content_type);
  if (type == "application/json" || absl::EndsWith(type, "+json")) return Escape::kJson;
  if (type == "application/xml" || type == "text/xml" || type == "text/html" ||
      absl::EndsWith(type, "+xml")) {
    return Escape::kXml;
  }
  if (type == "application/x-www-form-urlencoded") return Escape::kForm;
  return Escape::kNone;
}

absl::string_view GuessTemplateMediaType(absl::string_view payload_template) {
  const absl::string_view text = absl::StripLeadingAsciiWhitespace(payload_template);
  if (!text.empty() && (text[0] == '{' || text[0] == '[')) return "application/json";
  if (!text.empty() && text[0] == '<') return "application/xml";
  return "text/plain; charset=utf-8";
}

absl::Status ValidateContentType(absl::string_view content_type, absl::string_view field) {
  const bool controls = std::any_of(content_type.begin(), content_type.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
  const absl::string_view essence =
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';')));
  const size_t slash = essence.find('/');
  if (content_type.size() > kMaxContentTypeLength || controls || slash == absl::string_view::npos ||
      !IsToken(essence.substr(0, slash)) || !IsToken(essence.substr(slash + 1))) {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     ": must be a media type \"type/subtype\" with optional \"; parameters\", "
                     "at most ",
                     kMaxContentTypeLength, " characters without control characters"));
  }
  return absl::OkStatus();
}

}  // namespace hookrelay::render
