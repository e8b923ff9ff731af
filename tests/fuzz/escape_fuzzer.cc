// libFuzzer target: the escapers templates use per media type, and the truncation they and
// the chat limits rely on, over arbitrary bytes.
//
// Input: one byte (a length for Truncate, a media type's pick), then the text.
// Checks: no crash or sanitizer report, and for each escaper that its output holds only what
// its syntax allows and decodes back to the input: JSON strings (for valid UTF-8), XML
// character data and attribute values (C0 controls replaced by U+FFFD), form and percent
// encoding; Truncate stays within its length, keeps a prefix and never splits a UTF-8
// character; the media type helpers accept any text.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "libs/render/media_type.h"
#include "libs/render/text.h"
#include "nlohmann/json.hpp"

namespace {

using namespace hookrelay::render;  // NOLINT: a fuzz target over this library's functions

constexpr char kReplacement[] = "\xEF\xBF\xBD";
constexpr absl::string_view kEllipsis("\xE2\x80\xA6", 3);

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// The input as an XML reader must give it back: the C0 controls XML cannot carry replaced.
std::string XmlRepresentable(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      out.append(kReplacement);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// Decodes the five entities and decimal character references below 128 an escaper writes;
// traps on a raw '<' or an '&' that starts none of them.
std::string XmlDecode(absl::string_view s) {
  static constexpr std::pair<absl::string_view, char> kEntities[] = {
      {"&amp;", '&'},   {"&lt;", '<'},  {"&gt;", '>'},   {"&quot;", '"'},
      {"&apos;", '\''}, {"&#9;", '\t'}, {"&#10;", '\n'}, {"&#13;", '\r'}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    Check(s[i] != '<');
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    bool known = false;
    for (const auto& [entity, c] : kEntities) {
      if (absl::StartsWith(s.substr(i), entity)) {
        out.push_back(c);
        i += entity.size();
        known = true;
        break;
      }
    }
    Check(known);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX (uppercase, as the encoders write) and, for forms, '+' as space; traps on any
// character outside `kept` + "%".
std::string PercentDecode(absl::string_view s, absl::string_view kept, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      Check(i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0);
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (plus_is_space && c == '+') {
      out.push_back(' ');
    } else {
      Check((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            kept.find(c) != absl::string_view::npos);
      out.push_back(c);
    }
  }
  return out;
}

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Whether `kept`, a prefix of `s`, ends inside a UTF-8 character of `s`: its last lead byte
// announces more bytes than `kept` holds and `s` goes on with them.
bool SplitsACharacter(absl::string_view s, absl::string_view kept) {
  size_t lead = kept.size();
  while (lead > 0 && kept.size() - lead < 3 &&
         IsContinuation(static_cast<unsigned char>(kept[lead - 1]))) {
    --lead;
  }
  if (lead == 0) return false;
  const auto c = static_cast<unsigned char>(kept[lead - 1]);
  const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return kept.size() - (lead - 1) < length && kept.size() < s.size() &&
         IsContinuation(static_cast<unsigned char>(s[kept.size()]));
}

void CheckTruncate(absl::string_view s, size_t max_units) {
  const std::string t = Truncate(s, max_units);
  Check(Utf16Length(t) <= max_units || Utf16Length(s) <= max_units);
  if (Utf16Length(s) <= max_units) {
    Check(t == s);
    return;
  }
  if (max_units == 0) {
    Check(t.empty());
    return;
  }
  Check(absl::EndsWith(t, kEllipsis));
  const absl::string_view kept = absl::string_view(t).substr(0, t.size() - kEllipsis.size());
  Check(absl::StartsWith(s, kept));
  Check(!SplitsACharacter(s, kept));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  const absl::string_view s(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  std::string json;
  AppendJsonString(&json, s);
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, false);
  if (!parsed.is_discarded()) Check(parsed.is_string() && parsed.get<std::string>() == s);

  std::string xml;
  AppendXmlEscaped(&xml, s);
  for (char c : xml) Check(c != '"' && c != '\'' && c != '>' && c != '\n' && c != '\t');
  Check(XmlDecode(xml) == XmlRepresentable(s));
  std::string text;
  AppendXmlText(&text, s);
  for (char c : text) Check(c != '>' && c != '\r');
  Check(XmlDecode(text) == XmlRepresentable(s));

  std::string form;
  AppendFormEncoded(&form, s);
  Check(PercentDecode(form, "*-._", true) == s);
  std::string percent;
  AppendPercentEncoded(&percent, s);
  Check(PercentDecode(percent, "-._~", false) == s);

  CheckTruncate(s, bytes[0]);
  (void)EscapeForMediaType(s);
  (void)GuessTemplateMediaType(s);
  (void)ValidateContentType(s, "content_type");
  return 0;
}
