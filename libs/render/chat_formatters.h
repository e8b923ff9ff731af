#pragma once

#include <cstddef>
#include <string>

#include "libs/render/chat_limits.h"
#include "libs/render/message.h"

// Request bodies for chat and issue-tracker receivers, built from a Message within each
// receiver's documented limits. Text cut to a limit ends in "…", on a UTF-8 boundary;
// lengths are counted in UTF-16 units as the receivers count them.
namespace hookrelay::render {

// {"attachments":[{"fallback","color":"#rrggbb","author_name","title","title_link","text",
// "fields":[{"title","value","short"}],"footer","ts"}]}; optional members are left out when
// empty. `& < >` in text are escaped as Slack requires; fields are short when their value
// is at most 40 characters.
std::string SlackBody(const Message& m);

// {"embeds":[{"title","url","description","color":<int>,"author":{"name"},"fields":[{"name",
// "value","inline"}],"footer":{"text"},"timestamp"}]}. When the total exceeds 6,000
// characters, fields are dropped from the end, then the description is shortened.
std::string DiscordBody(const Message& m);

// An Atlassian Document Format comment, as POST /rest/api/3/issue/{key}/comment takes it:
// {"body":{"type":"doc","version":1,"content":[…]}} with a paragraph holding the title
// (strong, linked to the url) and "by <author>", the text as a paragraph with hard breaks,
// the fields as a bullet list of "<name>: <value>", and the event type and time in italics;
// the whole body within kJiraBodyMax (see EnforceChatLimits).
std::string JiraBody(const Message& m);

}  // namespace hookrelay::render
