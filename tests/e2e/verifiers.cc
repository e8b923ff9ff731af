#include "tests/e2e/verifiers.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace hookrelay::testing {
namespace {

std::string HmacHex(const EVP_MD* md, absl::string_view key, absl::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), len));
}

// A strict reader for the XML subset described in the header.
class XmlReader {
 public:
  explicit XmlReader(absl::string_view doc) : doc_(doc) {}

  absl::StatusOr<XmlElement> Document() {
    if (absl::StartsWith(doc_, "<?xml")) {
      const size_t end = doc_.find("?>");
      if (end == absl::string_view::npos) return Error("unclosed XML declaration");
      pos_ = end + 2;
    }
    SkipSpace();
    XmlElement root;
    if (absl::Status st = Element(&root, 0); !st.ok()) return st;
    SkipSpace();
    if (pos_ != doc_.size()) return Error("content after the root element");
    return root;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("xml: ", what, " at offset ", pos_));
  }
  bool AtEnd() const { return pos_ >= doc_.size(); }
  char Peek() const { return AtEnd() ? '\0' : doc_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }
  static bool NameStart(char c) {
    return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
           static_cast<unsigned char>(c) >= 0x80;
  }
  static bool NameChar(char c) {
    return NameStart(c) || absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' ||
           c == '.';
  }
  absl::StatusOr<std::string> Name() {
    if (!NameStart(Peek())) return Error("expected a name");
    const size_t start = pos_;
    while (!AtEnd() && NameChar(Peek())) ++pos_;
    return std::string(doc_.substr(start, pos_ - start));
  }
  // Character data up to `stop`, with entities decoded; '<' (or '"' in attributes) ends it.
  absl::Status Text(char stop, std::string* out) {
    while (!AtEnd() && Peek() != stop) {
      const char c = Peek();
      if (c == '<') return Error("'<' inside an attribute value");
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
        return Error("control character");
      }
      if (c != '&') {
        out->push_back(c);
        ++pos_;
        continue;
      }
      const size_t semi = doc_.find(';', pos_);
      if (semi == absl::string_view::npos) return Error("bare '&'");
      const absl::string_view ref = doc_.substr(pos_ + 1, semi - pos_ - 1);
      if (ref == "lt") {
        out->push_back('<');
      } else if (ref == "gt") {
        out->push_back('>');
      } else if (ref == "amp") {
        out->push_back('&');
      } else if (ref == "quot") {
        out->push_back('"');
      } else if (ref == "apos") {
        out->push_back('\'');
      } else if (absl::StartsWith(ref, "#")) {
        uint32_t cp = 0;
        const bool ok = absl::StartsWith(ref, "#x") ? absl::SimpleHexAtoi(ref.substr(2), &cp)
                                                    : absl::SimpleAtoi(ref.substr(1), &cp);
        if (!ok || cp == 0 || cp > 0x10FFFF) return Error("bad character reference");
        char buf[4];
        int n = 0;
        if (cp < 0x80) {
          buf[n++] = static_cast<char>(cp);
        } else if (cp < 0x800) {
          buf[n++] = static_cast<char>(0xC0 | (cp >> 6));
          buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          buf[n++] = static_cast<char>(0xE0 | (cp >> 12));
          buf[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          buf[n++] = static_cast<char>(0xF0 | (cp >> 18));
          buf[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
          buf[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
        }
        out->append(buf, n);
      } else {
        return Error("unknown entity");
      }
      pos_ = semi + 1;
    }
    return absl::OkStatus();
  }
  absl::Status Element(XmlElement* e, int depth) {
    if (depth > 200) return Error("nested too deeply");
    if (Peek() != '<') return Error("expected '<'");
    ++pos_;
    auto name = Name();
    if (!name.ok()) return name.status();
    e->name = *name;
    while (true) {
      const size_t before = pos_;
      SkipSpace();
      if (absl::StartsWith(doc_.substr(pos_), "/>")) {
        pos_ += 2;
        return absl::OkStatus();
      }
      if (Peek() == '>') {
        ++pos_;
        break;
      }
      if (pos_ == before) return Error("expected whitespace before an attribute");
      auto attr = Name();
      if (!attr.ok()) return attr.status();
      if (Peek() != '=') return Error("expected '='");
      ++pos_;
      const char quote = Peek();
      if (quote != '"' && quote != '\'') return Error("unquoted attribute value");
      ++pos_;
      std::string value;
      if (absl::Status st = Text(quote, &value); !st.ok()) return st;
      if (AtEnd()) return Error("unclosed attribute value");
      ++pos_;
      if (!e->attributes.emplace(*attr, value).second) return Error("repeated attribute");
    }
    while (true) {
      if (AtEnd()) return Error(absl::StrCat("unclosed element <", e->name, ">"));
      if (Peek() != '<') {
        std::string text;
        if (absl::Status st = Text('<', &text); !st.ok()) return st;
        if (absl::StrContains(text, "]]>")) return Error("']]>' in text");
        e->text += text;
        continue;
      }
      if (absl::StartsWith(doc_.substr(pos_), "</")) {
        pos_ += 2;
        auto closer = Name();
        if (!closer.ok()) return closer.status();
        if (*closer != e->name) {
          return Error(absl::StrCat("</", *closer, "> closes <", e->name, ">"));
        }
        SkipSpace();
        if (Peek() != '>') return Error("expected '>'");
        ++pos_;
        return absl::OkStatus();
      }
      if (absl::StartsWith(doc_.substr(pos_), "<!") || absl::StartsWith(doc_.substr(pos_), "<?")) {
        return Error("unsupported markup");
      }
      XmlElement child;
      if (absl::Status st = Element(&child, depth + 1); !st.ok()) return st;
      e->children.push_back(std::move(child));
    }
  }

  absl::string_view doc_;
  size_t pos_ = 0;
};

}  // namespace

std::string HmacSha256Hex(absl::string_view key, absl::string_view data) {
  return HmacHex(EVP_sha256(), key, data);
}

std::string HmacSha1Hex(absl::string_view key, absl::string_view data) {
  return HmacHex(EVP_sha1(), key, data);
}

std::optional<std::string> StandardWebhooksSignature(absl::string_view secret, absl::string_view id,
                                                     absl::string_view timestamp,
                                                     absl::string_view body) {
  if (!absl::ConsumePrefix(&secret, "whsec_")) return std::nullopt;
  std::string key;
  if (!absl::Base64Unescape(secret, &key)) return std::nullopt;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const std::string content = absl::StrCat(id, ".", timestamp, ".", body);
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len);
  return absl::StrCat(
      "v1,", absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(mac), len)));
}

bool HeaderHoldsSignature(absl::string_view header, absl::string_view signature) {
  for (absl::string_view entry : absl::StrSplit(header, ' ', absl::SkipEmpty())) {
    if (entry == signature) return true;
  }
  return false;
}

absl::StatusOr<StripeSignature> ParseStripeSignature(absl::string_view header) {
  StripeSignature out;
  bool has_t = false;
  for (absl::string_view item : absl::StrSplit(header, ',')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (kv.first == "t") {
      if (has_t || !absl::SimpleAtoi(kv.second, &out.timestamp)) {
        return absl::InvalidArgumentError("bad t=");
      }
      has_t = true;
    } else if (kv.first == "v1") {
      if (kv.second.size() != 64) return absl::InvalidArgumentError("bad v1=");
      out.v1.emplace_back(kv.second);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unexpected item ", item));
    }
  }
  if (!has_t || out.v1.empty()) return absl::InvalidArgumentError("missing t= or v1=");
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> ParseForm(absl::string_view body) {
  auto decode = [](absl::string_view in) -> absl::StatusOr<std::string> {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        out.push_back(' ');
      } else if (in[i] == '%') {
        if (i + 2 >= in.size()) return absl::InvalidArgumentError("truncated %-escape");
        const std::string hex(in.substr(i + 1, 2));
        if (!absl::ascii_isxdigit(static_cast<unsigned char>(hex[0])) ||
            !absl::ascii_isxdigit(static_cast<unsigned char>(hex[1]))) {
          return absl::InvalidArgumentError("bad %-escape");
        }
        out.push_back(static_cast<char>(std::stoi(hex, nullptr, 16)));
        i += 2;
      } else if (!absl::ascii_isalnum(static_cast<unsigned char>(in[i])) && in[i] != '*' &&
                 in[i] != '-' && in[i] != '.' && in[i] != '_') {
        // The application/x-www-form-urlencoded serializer (WHATWG URL) leaves only these.
        return absl::InvalidArgumentError("character that must be percent-encoded");
      } else {
        out.push_back(in[i]);
      }
    }
    return out;
  };
  std::map<std::string, std::string> fields;
  for (absl::string_view pair : absl::StrSplit(body, '&')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    auto name = decode(kv.first);
    if (!name.ok()) return name.status();
    auto value = decode(kv.second);
    if (!value.ok()) return value.status();
    if (!fields.emplace(*name, *value).second) {
      return absl::InvalidArgumentError(absl::StrCat("repeated field ", *name));
    }
  }
  return fields;
}

const XmlElement* XmlElement::Child(absl::string_view child) const {
  for (const XmlElement& c : children) {
    if (c.name == child) return &c;
  }
  return nullptr;
}

absl::StatusOr<XmlElement> ParseXml(absl::string_view document) {
  return XmlReader(document).Document();
}

int RunNodeVerifier(absl::string_view script, const nlohmann::json& input) {
  const char* build = std::getenv("HOOKRELAY_BUILD_DIR");
  const std::string modules = absl::StrCat(build != nullptr ? build : ".", "/tools/node_modules");
  std::string file = ::testing::TempDir() + "/compat_verify_XXXXXX";
  const int fd = mkstemp(file.data());
  if (fd < 0) return -1;
  close(fd);
  std::ofstream(file) << input.dump();
  const std::string cmd =
      absl::StrCat("NODE_PATH=", modules, " node ", HOOKRELAY_E2E_DIR, "/", script, " < ", file);
  const int rc = std::system(cmd.c_str());
  std::remove(file.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace hookrelay::testing
