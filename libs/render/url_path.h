#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hookrelay::render {

// The path of an absolute URL "scheme://authority/path?query#fragment": from the first '/'
// after the authority up to '?' or '#'; empty when there is none.
absl::string_view UrlPath(absl::string_view url);

// Checks that a URL's path has the structure its template gave it, so that no value can
// move the request elsewhere (a JIRA issue key ".." turning .../issue/../comment into
// .../comment, where URL normalisation would send it): FAILED_PRECONDITION
// "<field>: ..." when a path segment is "." or ".." (each dot written as is or as %2e /
// %2E, also when %2f, %2F, %5c, %5C or '\' split the segment further, as some servers
// decode them), or when a segment other than the last is empty ("//"). Also refuses spaces
// and control characters anywhere in the URL.
absl::Status CheckUrlPath(absl::string_view url, absl::string_view field);

}  // namespace hookrelay::render
