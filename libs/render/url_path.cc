#include "libs/render/url_path.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hookrelay::render {
namespace {

// `segment` with %2e, %2f and %5c (any case) decoded and '\' read as '/': the pieces some
// servers see in it.
std::string DecodeSeparatorsAndDots(absl::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '%' && i + 2 < segment.size()) {
      const char hi = segment[i + 1];
      const char lo = absl::ascii_tolower(static_cast<unsigned char>(segment[i + 2]));
      if (hi == '2' && (lo == 'e' || lo == 'f')) {
        out.push_back(lo == 'e' ? '.' : '/');
        i += 2;
        continue;
      }
      if (hi == '5' && lo == 'c') {
        out.push_back('/');
        i += 2;
        continue;
      }
    }
    out.push_back(segment[i] == '\\' ? '/' : segment[i]);
  }
  return out;
}

bool IsDotSegment(absl::string_view segment) {
  for (absl::string_view piece : absl::StrSplit(DecodeSeparatorsAndDots(segment), '/')) {
    if (piece == "." || piece == "..") return true;
  }
  return false;
}

}  // namespace

absl::string_view UrlPath(absl::string_view url) {
  const size_t scheme = url.find("://");
  const size_t authority = scheme == absl::string_view::npos ? 0 : scheme + 3;
  const size_t path = url.find_first_of("/?#", authority);
  if (path == absl::string_view::npos || url[path] != '/') return "";
  const size_t end = url.find_first_of("?#", path);
  return url.substr(path, end == absl::string_view::npos ? end : end - path);
}

absl::Status CheckUrlPath(absl::string_view url, absl::string_view field) {
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ": rendered URL contains spaces or control characters"));
    }
  }
  const absl::string_view path = UrlPath(url);
  if (path.empty()) return absl::OkStatus();
  const std::vector<absl::string_view> segments = absl::StrSplit(path.substr(1), '/');
  for (size_t i = 0; i < segments.size(); ++i) {
    if (IsDotSegment(segments[i])) {
      return absl::FailedPreconditionError(absl::StrCat(
          field, ": rendered path has a \".\" or \"..\" segment (\"", segments[i].substr(0, 64),
          "\"); refused so that a value cannot change the path"));
    }
    if (segments[i].empty() && i + 1 < segments.size()) {
      return absl::FailedPreconditionError(
          absl::StrCat(field,
                       ": rendered path has an empty segment (\"//\"); refused so that a "
                       "value cannot change the path"));
    }
  }
  return absl::OkStatus();
}

}  // namespace hookrelay::render
