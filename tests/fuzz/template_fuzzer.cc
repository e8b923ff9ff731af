// libFuzzer target: Template::Parse and Render over arbitrary template text and payloads.
//
// Input: one byte choosing the escape mode (JSON, URL, XML, form, none), then the template
// text, then optionally a NUL byte and a JSON payload (a fixed review payload when absent or
// not JSON).
// Checks: no crash or sanitizer report; a successful rendering stays within its output
// bound; the step budget keeps every input fast.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "libs/render/formats.h"
#include "libs/render/template.h"

namespace {

using hookrelay::render::Escape;
using hookrelay::render::Template;
using hookrelay::render::TemplateOptions;
using hookrelay::render::Value;

constexpr char kDefaultPayload[] =
    R"({"review":{"id":42,"title":"Add \"jitter\"","items":[1,"two",{"k":null},[true]],)"
    R"("author":{"name":"Ada"}},"jiraIssueKey":"HR-7","empty":[],"n":0})";
constexpr size_t kMaxOutput = 64 * 1024;

void Check(bool condition, const char* what) {
  if (!condition) {
    __builtin_trap();  // a libFuzzer crash with a reproducer
  }
  (void)what;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  static constexpr Escape kModes[] = {Escape::kJson, Escape::kUrl, Escape::kXml, Escape::kForm,
                                      Escape::kNone};
  TemplateOptions options;
  options.escape = kModes[bytes[0] % 5];
  options.max_output_bytes = kMaxOutput;
  options.max_steps = 200'000;

  const size_t nul = input.find('\0');
  const absl::string_view text = input.substr(0, nul);
  absl::StatusOr<Template> t = Template::Parse(text, options);
  if (!t.ok()) return 0;

  absl::StatusOr<Value> data =
      Value::Parse(nul == absl::string_view::npos ? absl::string_view() : input.substr(nul + 1),
                   hookrelay::render::kMaxPayloadDepth, "payload");
  if (!data.ok()) data = Value::Parse(kDefaultPayload, 8, "payload");
  Check(data.ok(), "default payload parses");

  hookrelay::v1::Event event;
  event.set_id("evt_1");
  event.set_type("REVIEW_REQUESTED");
  (*event.mutable_attributes())["repo"] = "a\"b";
  const Value context = hookrelay::render::EventContext(event, *std::move(data));
  for (int i = 0; i < 2; ++i) {  // parse once, render twice: same result
    std::string out;
    absl::Status st = t->Render(context, &out);
    if (st.ok()) Check(out.size() <= kMaxOutput, "output within bound");
  }
  return 0;
}
