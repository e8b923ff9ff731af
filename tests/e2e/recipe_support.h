#pragma once

// The recipes of deploy/docs/recipes.md as the recipes e2e test runs them, and the
// product-side verifiers it runs on what the receiver got. A recipe is the
// fenced code blocks whose info string reads "<language> recipe=<name> <part>", in document
// order:
//   webhook   a CreateWebhookRequest (proto3 JSON)
//   template  the payloadTemplate of the recipe's templated webhooks, in their order, as text
//   event     a PublishEventRequest (proto3 JSON)
//   payload   the payload of the recipe's events, in their order, as JSON
//   test      a TestWebhookRequest (proto3 JSON) for the recipe's first webhook
//   request   what the receiver gets: "POST <path> HTTP/1.1", header lines, an empty line,
//             the body; "<...>" stands for any value

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace hookrelay::testing {

struct Recipe {
  std::vector<std::string> webhooks;
  std::vector<std::string> templates;
  std::vector<std::string> events;
  std::vector<std::string> payloads;
  std::vector<std::string> tests;
  std::vector<std::string> requests;
};

// The recipes of a markdown document by name. INVALID_ARGUMENT for an unclosed block or an
// unknown part.
absl::StatusOr<std::map<std::string, Recipe>> ParseRecipes(absl::string_view markdown);

// The file's text; NOT_FOUND when it cannot be read.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

struct ExpectedRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;  // as written
  std::string body;
};

// A "request" block. INVALID_ARGUMENT when its first line is not "<METHOD> <path> HTTP/1.1"
// or a header line has no ':'.
absl::StatusOr<ExpectedRequest> ParseExpectedRequest(absl::string_view block);

// Whether a text is a "<...>" placeholder (with a space inside), matching any value.
bool IsPlaceholder(absl::string_view text);

// Whether header value `actual` is `expected`, where `expected` may end in a placeholder:
// "sha1=<hex HMAC-SHA1 ...>" matches "sha1=" followed by anything.
bool HeaderMatches(absl::string_view expected, absl::string_view actual);

// Whether `actual` equals `expected`, where a "<...>" string in `expected` matches any
// string; on a difference, `why` names its JSON path.
bool JsonMatches(const nlohmann::json& expected, const nlohmann::json& actual, std::string* why);

// `url` with its "scheme://authority" replaced by `base` (e.g. "http://127.0.0.1:4000").
std::string ReplaceOrigin(absl::string_view url, absl::string_view base);

// Runs `script` (a file next to this one) with `interpreter` ("node", "python3") on `input`
// (JSON on stdin); returns its exit code: 0 when the request is what the product documents.
int RunRecipeVerifier(absl::string_view interpreter, absl::string_view script,
                      const nlohmann::json& input);

}  // namespace hookrelay::testing
