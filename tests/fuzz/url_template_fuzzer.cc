// libFuzzer target: URL templates (Renderer with a templated hook URL) over arbitrary
// templates and payloads.
//
// Input: the URL's path-and-query template (after "https://x.example/"), then optionally a
// NUL byte and a JSON payload (a fixed payload with dot-like values when absent or not JSON).
// Checks: no crash or sanitizer report; a URL that renders keeps the hook's origin, holds no
// space or control character, and its path, percent-decoded once with '\' read as '/', has
// no "." or ".." segment and no empty segment but the last: no value can change the path.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "libs/render/renderer.h"
#include "libs/render/url_path.h"

namespace {

namespace v1 = hookrelay::v1;

constexpr char kOrigin[] = "https://x.example/";
constexpr char kDefaultPayload[] =
    R"({"k":"..","d":".","e":"%2e%2E","s":"a/../b","r":"a%2F..","n":null,"z":"","ok":"HR-7",)"
    R"("list":["..","x"],"o":{"k":"."}})";

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Every %XX decoded once and '\' read as '/': the path as a lenient server may see it.
std::string Decode(absl::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && HexValue(path[i + 1]) >= 0 &&
        HexValue(path[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(path[i + 1]) * 16 + HexValue(path[i + 2])));
      i += 2;
    } else {
      out.push_back(path[i] == '\\' ? '/' : path[i]);
    }
  }
  return out;
}

void CheckRendered(const std::string& url) {
  Check(absl::StartsWith(url, kOrigin));
  for (unsigned char c : url) Check(c > 0x20 && c != 0x7f);
  const absl::string_view path = hookrelay::render::UrlPath(url);
  Check(!path.empty());
  const std::vector<std::string> segments = absl::StrSplit(Decode(path.substr(1)), '/');
  for (size_t i = 0; i < segments.size(); ++i) {
    Check(segments[i] != "." && segments[i] != "..");
  }
  // An empty segment ("//") only at the end of the path as sent.
  const std::vector<absl::string_view> raw = absl::StrSplit(path.substr(1), '/');
  for (size_t i = 0; i + 1 < raw.size(); ++i) Check(!raw[i].empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(bytes), size);
  const size_t nul = input.find('\0');
  v1::Webhook hook;
  hook.set_url(std::string(kOrigin) + std::string(input.substr(0, nul)));
  hook.set_payload_format(v1::PAYLOAD_FORMAT_ENVELOPE);
  // A URL without variables is sent as the registry validated it; only templates are ours.
  if (!absl::StrContains(hook.url(), "{{")) return 0;
  absl::StatusOr<hookrelay::render::Renderer> renderer = hookrelay::render::Renderer::Create(hook);
  if (!renderer.ok()) return 0;
  v1::Event event;
  event.set_id("evt_1");
  event.set_type("..");
  (*event.mutable_attributes())["a"] = "%2e";
  event.set_payload(nul == absl::string_view::npos ? kDefaultPayload
                                                   : std::string(input.substr(nul + 1)));
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<hookrelay::render::RenderedRequest> r = renderer->Render(event);
    if (r.ok()) CheckRendered(r->url);
    event.set_payload(kDefaultPayload);
  }
  return 0;
}
