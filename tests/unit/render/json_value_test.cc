#include "libs/render/json_value.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace hookrelay::render {
namespace {

using ::hookrelay::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ValueTest, ParseKeepsMemberOrderAndNumberText) {
  ASSERT_OK_AND_ASSIGN(Value v, Value::Parse(R"({"z":1,"a":[1.50,-0,1e300,18446744073709551615],)"
                                             R"("m":{"k":"v"},"t":true,"n":null})",
                                             8, "payload"));
  EXPECT_EQ(v.ToJson(),
            R"({"z":1,"a":[1.50,0,1e300,18446744073709551615],"m":{"k":"v"},"t":true,"n":null})");
  ASSERT_EQ(v.members().size(), 5u);
  EXPECT_EQ(v.members()[0].first, "z");
  EXPECT_EQ(v.Find("m")->Find("k")->text(), "v");
  EXPECT_EQ(v.Find("missing"), nullptr);
}

TEST(ValueTest, LastDuplicateKeyWinsOnLookup) {
  ASSERT_OK_AND_ASSIGN(Value v, Value::Parse(R"({"a":1,"a":2})", 8, "payload"));
  EXPECT_EQ(v.Find("a")->text(), "2");
}

TEST(ValueTest, ChildIndexesArraysByDecimalSegment) {
  ASSERT_OK_AND_ASSIGN(Value v, Value::Parse(R"(["a","b"])", 8, "payload"));
  EXPECT_EQ(v.Child("1")->text(), "b");
  EXPECT_EQ(v.Child("2"), nullptr);
  EXPECT_EQ(v.Child("-1"), nullptr);
  EXPECT_EQ(v.Child("x"), nullptr);
}

TEST(ValueTest, ParseRejectsInvalidJsonNamingTheField) {
  EXPECT_THAT(
      Value::Parse(R"({"a":)", 8, "event.payload"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event.payload: is not valid JSON")));
  EXPECT_THAT(Value::Parse("[1] x", 8, "p"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Value::Parse("\"\xff\"", 8, "p"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Value::Parse("", 8, "p"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ValueTest, ParseRejectsNestingDeeperThanTheLimit) {
  EXPECT_OK(Value::Parse("[[[1]]]", 3, "p"));
  EXPECT_THAT(
      Value::Parse("[[[[1]]]]", 3, "event.payload"),
      StatusIs(absl::StatusCode::kInvalidArgument, "event.payload: nested deeper than 3 levels"));
  // Far deeper than any stack would allow if parsing were recursive.
  EXPECT_THAT(Value::Parse(std::string(1'000'000, '['), 64, "p"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deeper")));
}

TEST(ValueTest, TruthinessFollowsMustache) {
  for (const char* falsy : {"null", "false", "0", "0.0", "\"\"", "[]"}) {
    ASSERT_OK_AND_ASSIGN(Value v, Value::Parse(falsy, 8, "p"));
    EXPECT_FALSE(v.Truthy()) << falsy;
  }
  for (const char* truthy : {"true", "1", "-2.5", "\"0\"", "[0]", "{}"}) {
    ASSERT_OK_AND_ASSIGN(Value v, Value::Parse(truthy, 8, "p"));
    EXPECT_TRUE(v.Truthy()) << truthy;
  }
}

TEST(ValueTest, ToTextGivesScalarsPlainAndContainersAsJson) {
  EXPECT_EQ(Value::String("a\"b").ToText(), "a\"b");
  EXPECT_EQ(Value::Integer(-3).ToText(), "-3");
  EXPECT_EQ(Value::Bool(false).ToText(), "false");
  EXPECT_EQ(Value().ToText(), "");
  Value array = Value::Array();
  array.Push(Value::String("x"));
  EXPECT_EQ(array.ToText(), R"(["x"])");
}

}  // namespace
}  // namespace hookrelay::render
