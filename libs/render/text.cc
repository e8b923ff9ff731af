#include "libs/render/text.h"

#include "absl/strings/str_cat.h"

namespace hookrelay::render {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr absl::string_view kEllipsis = "\xE2\x80\xA6";         // U+2026
constexpr absl::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

void AppendPercentByte(std::string* out, unsigned char c) {
  out->push_back('%');
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 15]);
}

bool IsAsciiAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsContinuationByte(unsigned char c) { return (c & 0xC0) == 0x80; }

// UTF-16 units of the character starting with lead byte `c` (0 for continuation bytes).
size_t UnitsOfLead(unsigned char c) {
  if (IsContinuationByte(c)) return 0;
  return c >= 0xF0 ? 2 : 1;
}

}  // namespace

void AppendPercentEncoded(std::string* out, absl::string_view s) {
  for (unsigned char c : s) {
    if (IsAsciiAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out->push_back(static_cast<char>(c));
    } else {
      AppendPercentByte(out, c);
    }
  }
}

void AppendFormEncoded(std::string* out, absl::string_view s) {
  for (unsigned char c : s) {
    if (IsAsciiAlnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
      out->push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out->push_back('+');
    } else {
      AppendPercentByte(out, c);
    }
  }
}

void AppendXmlEscaped(std::string* out, absl::string_view s) {
  for (unsigned char c : s) {
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&apos;");
        break;
      case '\t':
        out->append("&#9;");
        break;
      case '\n':
        out->append("&#10;");
        break;
      case '\r':
        out->append("&#13;");
        break;
      default:
        if (c < 0x20) {
          absl::StrAppend(out, kReplacementChar);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
}

void AppendXmlText(std::string* out, absl::string_view s) {
  for (unsigned char c : s) {
    if (c == '"' || c == '\'' || c == '\t' || c == '\n') {
      out->push_back(static_cast<char>(c));
    } else {
      AppendXmlEscaped(out, absl::string_view(reinterpret_cast<const char*>(&c), 1));
    }
  }
}

size_t Utf16Length(absl::string_view s) {
  size_t units = 0;
  for (unsigned char c : s) units += UnitsOfLead(c);
  return units;
}

std::string Truncate(absl::string_view s, size_t max_units) {
  if (Utf16Length(s) <= max_units) return std::string(s);
  if (max_units == 0) return "";
  // Keep whole characters while they and the ellipsis (one unit) fit.
  size_t units = 0;
  size_t cut = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (IsContinuationByte(c)) continue;
    if (units + UnitsOfLead(c) > max_units - 1) break;
    units += UnitsOfLead(c);
    cut = i + 1;
    while (cut < s.size() && IsContinuationByte(static_cast<unsigned char>(s[cut]))) ++cut;
  }
  std::string out(s.substr(0, cut));
  absl::StrAppend(&out, kEllipsis);
  return out;
}

}  // namespace hookrelay::render
