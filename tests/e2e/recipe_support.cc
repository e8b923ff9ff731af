#include "tests/e2e/recipe_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace hookrelay::testing {
namespace {

constexpr absl::string_view kFence = "```";

// Adds one block to its recipe; `info` is the fence's info string.
absl::Status AddBlock(absl::string_view info, std::string text,
                      std::map<std::string, Recipe>* recipes) {
  std::vector<absl::string_view> words = absl::StrSplit(info, ' ', absl::SkipEmpty());
  if (words.size() != 3 || !absl::ConsumePrefix(&words[1], "recipe=")) return absl::OkStatus();
  Recipe& r = (*recipes)[std::string(words[1])];
  const absl::string_view part = words[2];
  std::vector<std::string>* to = part == "webhook"    ? &r.webhooks
                                 : part == "template" ? &r.templates
                                 : part == "event"    ? &r.events
                                 : part == "payload"  ? &r.payloads
                                 : part == "test"     ? &r.tests
                                 : part == "request"  ? &r.requests
                                                      : nullptr;
  if (to == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown part: ", info));
  to->push_back(std::move(text));
  return absl::OkStatus();
}

bool JsonMatchesAt(const nlohmann::json& expected, const nlohmann::json& actual,
                   const std::string& path, std::string* why) {
  if (expected.is_string() && IsPlaceholder(expected.get<std::string>())) {
    if (actual.is_string()) return true;
  } else if (expected.is_object() && actual.is_object()) {
    for (const auto& [key, value] : expected.items()) {
      if (!actual.contains(key)) {
        *why = absl::StrCat(path, ".", key, " is missing");
        return false;
      }
      if (!JsonMatchesAt(value, actual[key], absl::StrCat(path, ".", key), why)) return false;
    }
    if (actual.size() == expected.size()) return true;
  } else if (expected.is_array() && actual.is_array() && expected.size() == actual.size()) {
    for (size_t i = 0; i < expected.size(); ++i) {
      if (!JsonMatchesAt(expected[i], actual[i], absl::StrCat(path, "[", i, "]"), why)) {
        return false;
      }
    }
    return true;
  } else if (expected == actual) {
    return true;
  }
  *why = absl::StrCat(path, ": expected ", expected.dump(), ", got ", actual.dump());
  return false;
}

}  // namespace

absl::StatusOr<std::map<std::string, Recipe>> ParseRecipes(absl::string_view markdown) {
  std::map<std::string, Recipe> recipes;
  std::vector<absl::string_view> lines = absl::StrSplit(markdown, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view info = lines[i];
    if (!absl::ConsumePrefix(&info, kFence)) continue;
    std::vector<absl::string_view> body;
    size_t end = i + 1;
    while (end < lines.size() && lines[end] != kFence) body.push_back(lines[end++]);
    if (end == lines.size()) {
      return absl::InvalidArgumentError(absl::StrCat("unclosed block at line ", i + 1));
    }
    if (absl::Status st = AddBlock(info, absl::StrJoin(body, "\n"), &recipes); !st.ok()) return st;
    i = end;
  }
  return recipes;
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<ExpectedRequest> ParseExpectedRequest(absl::string_view block) {
  const size_t blank = block.find("\n\n");
  const absl::string_view head = block.substr(0, blank);
  ExpectedRequest r;
  if (blank != absl::string_view::npos) r.body = std::string(block.substr(blank + 2));
  std::vector<absl::string_view> lines = absl::StrSplit(head, '\n');
  std::vector<absl::string_view> start = absl::StrSplit(lines[0], ' ');
  if (start.size() != 3 || start[2] != "HTTP/1.1") {
    return absl::InvalidArgumentError(absl::StrCat("bad request line: ", lines[0]));
  }
  r.method = std::string(start[0]);
  r.path = std::string(start[1]);
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad header line: ", lines[i]));
    }
    r.headers.emplace_back(lines[i].substr(0, colon),
                           absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  return r;
}

bool IsPlaceholder(absl::string_view text) {
  return absl::StartsWith(text, "<") && absl::EndsWith(text, ">") && text.size() >= 2 &&
         absl::StrContains(text, " ");
}

bool HeaderMatches(absl::string_view expected, absl::string_view actual) {
  const size_t open = expected.find('<');
  if (open == absl::string_view::npos || !IsPlaceholder(expected.substr(open))) {
    return expected == actual;
  }
  return actual.size() > open && absl::StartsWith(actual, expected.substr(0, open));
}

bool JsonMatches(const nlohmann::json& expected, const nlohmann::json& actual, std::string* why) {
  return JsonMatchesAt(expected, actual, "$", why);
}

std::string ReplaceOrigin(absl::string_view url, absl::string_view base) {
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme == absl::string_view::npos ? 0 : scheme + 3);
  return absl::StrCat(base, path == absl::string_view::npos ? "" : url.substr(path));
}

int RunRecipeVerifier(absl::string_view interpreter, absl::string_view script,
                      const nlohmann::json& input) {
  std::string file = ::testing::TempDir() + "/recipe_verify_XXXXXX";
  const int fd = mkstemp(file.data());
  if (fd < 0) return -1;
  close(fd);
  std::ofstream(file) << input.dump();
  const std::string cmd =
      absl::StrCat(interpreter, " ", HOOKRELAY_E2E_DIR, "/", script, " < ", file);
  const int rc = std::system(cmd.c_str());
  std::remove(file.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace hookrelay::testing
