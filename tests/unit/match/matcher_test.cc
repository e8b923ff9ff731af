#include "libs/match/matcher.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hookrelay::match {
namespace {

using ::testing::HasSubstr;

TEST(MatcherTest, EventTypePatterns) {
  EXPECT_TRUE(EventTypeMatches("*", "review.created"));
  EXPECT_TRUE(EventTypeMatches("review.created", "review.created"));
  EXPECT_FALSE(EventTypeMatches("review.created", "review.updated"));
  EXPECT_TRUE(EventTypeMatches("review.*", "review.created"));
  EXPECT_TRUE(EventTypeMatches("review.*", "review.comment.added"));
  EXPECT_FALSE(EventTypeMatches("review.*", "review"));
  EXPECT_FALSE(EventTypeMatches("review.*", "reviews.created"));
}

v1::Webhook Hook(std::initializer_list<std::string> types) {
  v1::Webhook h;
  h.set_enabled(true);
  for (const auto& t : types) h.add_event_types(t);
  return h;
}

TEST(MatcherTest, DisabledHookNeverMatches) {
  v1::Webhook h = Hook({"*"});
  google::protobuf::Map<std::string, std::string> attrs;
  EXPECT_TRUE(HookMatches(h, "a", attrs));
  h.set_enabled(false);
  EXPECT_FALSE(HookMatches(h, "a", attrs));
}

TEST(MatcherTest, AttributeFiltersAreAllOfAnyOfValues) {
  v1::Webhook h = Hook({"review.*"});
  auto* f = h.add_filters();
  f->set_key("repository");
  f->add_any_of("core");
  f->add_any_of("web");
  google::protobuf::Map<std::string, std::string> attrs;
  EXPECT_FALSE(HookMatches(h, "review.created", attrs));  // attribute missing
  attrs["repository"] = "web";
  EXPECT_TRUE(HookMatches(h, "review.created", attrs));
  attrs["repository"] = "docs";
  EXPECT_FALSE(HookMatches(h, "review.created", attrs));
  auto* g = h.add_filters();
  g->set_key("draft");
  g->set_absent(true);
  attrs["repository"] = "core";
  EXPECT_TRUE(HookMatches(h, "review.created", attrs));
  attrs["draft"] = "1";
  EXPECT_FALSE(HookMatches(h, "review.created", attrs));
}

TEST(MatcherTest, ValidatesEventTypes) {
  EXPECT_TRUE(ValidateEventType("review.created", "type").ok());
  EXPECT_TRUE(ValidateEventType("REVIEW_REQUESTED", "type").ok());
  EXPECT_THAT(ValidateEventType("", "type").message(), HasSubstr("type: must not be empty"));
  EXPECT_THAT(ValidateEventType("a..b", "type").message(), HasSubstr("empty segment"));
  EXPECT_THAT(ValidateEventType("a.", "type").message(), HasSubstr("empty segment"));
  EXPECT_THAT(ValidateEventType("a b", "type").message(), HasSubstr("may hold only"));
  EXPECT_FALSE(ValidateEventType(std::string(129, 'a'), "type").ok());
  EXPECT_TRUE(ValidateEventTypePattern("*", "event_types[0]").ok());
  EXPECT_TRUE(ValidateEventTypePattern("review.*", "event_types[0]").ok());
  EXPECT_THAT(ValidateEventTypePattern("re*", "event_types[0]").message(),
              HasSubstr("event_types[0]"));
}

}  // namespace
}  // namespace hookrelay::match
