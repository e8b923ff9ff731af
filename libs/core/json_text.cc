#include "libs/core/json_text.h"

namespace hookrelay::core {

void AppendJsonEscaped(std::string* out, absl::string_view s) {
  static constexpr char kLowerHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kLowerHex[c >> 4]);
          out->push_back(kLowerHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
}

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  AppendJsonEscaped(out, s);
  out->push_back('"');
}

}  // namespace hookrelay::core
