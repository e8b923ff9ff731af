#pragma once

#include <cstddef>
#include <string>

#include "hookrelay/v1/resources.pb.h"
#include "libs/render/json_value.h"

// What Slack, Discord and JIRA accept in one message, and the pass that keeps any body for
// them (built-in or written by a template) within it. Lengths are UTF-16 code units, as the
// services count characters; text cut to a limit ends in "…" and is cut on a UTF-8
// character boundary.
namespace hookrelay::render {

// Slack incoming webhooks. Message text beyond 40,000 characters is cut by Slack itself;
// Block Kit refuses the whole message (invalid_blocks) past the other limits.
inline constexpr size_t kSlackMessageTextMax = 40000;
inline constexpr size_t kSlackBlocksMax = 50;
inline constexpr size_t kSlackSectionTextMax = 3000;
inline constexpr size_t kSlackSectionFieldsMax = 10;
inline constexpr size_t kSlackSectionFieldTextMax = 2000;
inline constexpr size_t kSlackHeaderTextMax = 150;
inline constexpr size_t kSlackContextElementsMax = 10;
inline constexpr size_t kSlackAttachmentsMax = 100;
// Legacy attachments (hookrelay's own caps, those the built-in formatter keeps).
inline constexpr size_t kSlackTitleMax = 256;
inline constexpr size_t kSlackTextMax = 3000;  // attachment text, pretext and field values
inline constexpr size_t kSlackFooterMax = 300;

// Discord webhooks: a message with more is refused with 400.
inline constexpr size_t kDiscordContentMax = 2000;
inline constexpr size_t kDiscordUsernameMax = 80;
inline constexpr size_t kDiscordEmbedsMax = 10;
inline constexpr size_t kDiscordTitleMax = 256;
inline constexpr size_t kDiscordDescriptionMax = 4096;
inline constexpr size_t kDiscordFieldsMax = 25;
inline constexpr size_t kDiscordFieldNameMax = 256;
inline constexpr size_t kDiscordFieldValueMax = 1024;
inline constexpr size_t kDiscordFooterMax = 2048;
inline constexpr size_t kDiscordAuthorMax = 256;
// Titles, descriptions, field names and values, footers and author names of all embeds.
inline constexpr size_t kDiscordTotalMax = 6000;

// JIRA comments: the body, as the JSON text of its Atlassian Document Format (or a plain
// string for the v2 API), is at most 32,767 characters.
inline constexpr size_t kJiraBodyMax = 32767;
inline constexpr size_t kJiraTitleMax = 256;  // built-in formatter's caps
inline constexpr size_t kJiraTextMax = 30000;
inline constexpr size_t kJiraFieldValueMax = 1000;

// Cuts `body` (a parsed request body of `format`: SLACK, DISCORD or JIRA; other formats are
// left alone) to its service's limits:
// * Slack: text; blocks (at most 50, section text, fields at most 10 and each field,
//   header text, context elements at most 10), also inside attachments; attachments (at
//   most 100, title, text, pretext, fallback, footer, field titles and values).
// * Discord: content, username; embeds (at most 10, title, description, fields at most 25,
//   field name and value, footer text, author name); then the 6,000 total, by shortening
//   descriptions (last embed first), then dropping fields from the end, then shortening
//   footers, author names and titles.
// * JIRA: a string body cut to 32,767; an ADF body by shortening its longest text nodes
//   until its JSON fits.
// Members of other names and shapes are left as they are. Returns whether anything changed.
bool EnforceChatLimits(v1::PayloadFormat format, Value* body);

// The same over JSON text: re-serialized (compact) only when something was cut, otherwise
// left byte for byte. Text that is not JSON is left alone.
bool EnforceChatLimits(v1::PayloadFormat format, std::string* body);

}  // namespace hookrelay::render
