#pragma once

// Events and hooks shared by the render tests: a MockReview-like REVIEW_REQUESTED and
// COMMENT_ADDED, at a fixed time.

#include <string>

#include "hookrelay/v1/resources.pb.h"

namespace hookrelay::render::testing {

// 2026-01-15T10:30:00.250Z
inline constexpr int64_t kOccurredSeconds = 1768473000;
inline constexpr int32_t kOccurredNanos = 250'000'000;

inline constexpr char kReviewPayload[] =
    R"({"event":"REVIEW_REQUESTED","review":{"id":42,"title":"Add retry jitter",)"
    R"("url":"https://review.example.com/r/42","description":"Adds \u00b120 % jitter.\n)"
    R"(See <DESIGN> & \"retries\".","author":{"name":"Ada Lovelace","email":"ada@example.com"},)"
    R"("reviewers":["grace","linus"],"status":"pending","draft":false},"jiraIssueKey":"HR-7"})";

inline constexpr char kCommentPayload[] =
    R"({"comment":{"id":7,"body":"LGTM <3 & ship it","user":{"username":"grace"}},)"
    R"("review":{"id":42,"title":"Add retry jitter"}})";

inline v1::Event MakeEvent(const std::string& type, const std::string& payload) {
  v1::Event event;
  event.set_id("evt_01JHX5M2Q8");
  event.set_tenant("acme");
  event.set_type(type);
  event.set_payload(payload);
  event.mutable_occurred_at()->set_seconds(kOccurredSeconds);
  event.mutable_occurred_at()->set_nanos(kOccurredNanos);
  (*event.mutable_attributes())["repository"] = "hookrelay";
  (*event.mutable_attributes())["branch"] = "main";
  return event;
}

inline v1::Event ReviewRequested() { return MakeEvent("REVIEW_REQUESTED", kReviewPayload); }
inline v1::Event CommentAdded() { return MakeEvent("COMMENT_ADDED", kCommentPayload); }

inline v1::Webhook MakeHook(v1::PayloadFormat format, const std::string& payload_template = "",
                            const std::string& url = "https://hooks.example.com/in") {
  v1::Webhook hook;
  hook.set_id("wh_01JHX5");
  hook.set_tenant("acme");
  hook.set_url(url);
  hook.set_payload_format(format);
  hook.set_payload_template(payload_template);
  return hook;
}

}  // namespace hookrelay::render::testing
