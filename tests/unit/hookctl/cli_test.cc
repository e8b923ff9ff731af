// hookctl's command line: strict options anywhere, help, and an example for every command
// that the parser itself accepts.

#include "services/hookctl/cli.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/hookctl/commands.h"

namespace hookrelay::hookctl {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

absl::StatusOr<Invocation> Parse(std::vector<std::string> args) {
  return ParseArgs(args, GlobalOptions{});
}

// The usage error's message, or "" (and a failure) when `args` parse.
std::string UsageMessage(std::vector<std::string> args) {
  absl::StatusOr<Invocation> inv = Parse(args);
  EXPECT_FALSE(inv.ok()) << absl::StrJoin(args, " ");
  if (inv.ok()) return "";
  EXPECT_TRUE(IsUsageError(inv.status())) << inv.status();
  return std::string(inv.status().message());
}

// Splits a shell example into words: single quotes group, the part after a pipe is the
// hookctl command.
std::vector<std::string> Words(absl::string_view example) {
  if (size_t pipe = example.find("| "); pipe != absl::string_view::npos) {
    example = example.substr(pipe + 2);
  }
  std::vector<std::string> words;
  std::string word;
  bool quoted = false;
  for (char c : example) {
    if (c == '\'') {
      quoted = !quoted;
    } else if (c == ' ' && !quoted) {
      if (!word.empty()) words.push_back(word);
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) words.push_back(word);
  return words;
}

TEST(HookctlCliTest, UnknownOptionIsAUsageErrorNamingItWithAHint) {
  const std::string message = UsageMessage({"list-webhooks", "--enabeld", "false"});
  EXPECT_THAT(message, HasSubstr("unknown option --enabeld"));
  EXPECT_THAT(message, HasSubstr("hookctl help list-webhooks"));
  // An option of another command is unknown to this one.
  EXPECT_THAT(UsageMessage({"get-webhook", "--id", "wh_x", "--status", "failed"}),
              HasSubstr("unknown option --status for get-webhook"));
}

TEST(HookctlCliTest, MissingValuesStrayArgumentsAndMissingOptionsAreUsageErrors) {
  EXPECT_THAT(UsageMessage({"get-webhook", "--tenant", "acme", "--id"}),
              HasSubstr("--id: missing value"));
  EXPECT_THAT(UsageMessage({"get-webhook", "--tenant", "--id", "wh_x"}),
              HasSubstr("--tenant: missing value"));
  EXPECT_THAT(UsageMessage({"get-webhook", "--id", "wh_x", "extra"}),
              HasSubstr("unexpected argument \"extra\""));
  EXPECT_THAT(UsageMessage({"get-webhook", "-id", "wh_x"}), HasSubstr("options start with --"));
  EXPECT_THAT(UsageMessage({"get-webhook", "--tenant", "acme"}), HasSubstr("--id is required"));
  EXPECT_THAT(UsageMessage({"frobnicate"}), HasSubstr("unknown command \"frobnicate\""));
  EXPECT_THAT(UsageMessage({}), HasSubstr("no command"));
  EXPECT_THAT(UsageMessage({"list-webhooks", "--json=maybe"}), HasSubstr("--json: want true"));
  EXPECT_THAT(UsageMessage({"list-webhooks", "--timeout", "soon"}), HasSubstr("--timeout"));
}

TEST(HookctlCliTest, GlobalOptionsWorkBeforeAndAfterTheCommandWithASpaceOrAnEquals) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--address", "10.0.0.1:5000", "--json", "list-webhooks", "--tenant", "acme"},
           {"list-webhooks", "--tenant", "acme", "--json", "--address", "10.0.0.1:5000"},
           {"list-webhooks", "--address=10.0.0.1:5000", "--tenant=acme", "--json=true"},
           {"--tenant", "acme", "list-webhooks", "--address", "10.0.0.1:5000", "--json"}}) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    absl::StatusOr<Invocation> inv = Parse(args);
    ASSERT_TRUE(inv.ok()) << inv.status();
    EXPECT_EQ(inv->command, "list-webhooks");
    EXPECT_EQ(inv->globals.address, "10.0.0.1:5000");
    EXPECT_TRUE(inv->globals.json);
    EXPECT_FALSE(inv->help);
    EXPECT_THAT(inv->options, UnorderedElementsAre(Pair("tenant", "acme")));
  }
}

TEST(HookctlCliTest, EnvironmentDefaultsGiveWayToOptionsAndUnderscoresAreDashes) {
  GlobalOptions env;
  env.address = "registry:50051";
  env.api_key = "from-env";
  absl::StatusOr<Invocation> inv = ParseArgs({"list-api-keys"}, env);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->globals.address, "registry:50051");
  EXPECT_EQ(inv->globals.api_key, "from-env");
  inv = ParseArgs({"list-api-keys", "--api_key", "flag", "--page_size", "5", "--timeout=5s"}, env);
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->globals.api_key, "flag");
  EXPECT_EQ(inv->globals.timeout, absl::Seconds(5));
  EXPECT_THAT(inv->options, UnorderedElementsAre(Pair("page-size", "5")));
}

TEST(HookctlCliTest, ValuesMayStartWithADashOrBeGivenWithEquals) {
  absl::StatusOr<Invocation> inv =
      Parse({"publish", "--type", "x.y", "--payload-file", "-", "--payload=--not-an-option"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->options["payload-file"], "-");
  EXPECT_EQ(inv->options["payload"], "--not-an-option");
  inv = Parse({"list-webhooks", "--page-size", "-1"});  // the registry refuses it, not hookctl
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->options["page-size"], "-1");
}

TEST(HookctlCliTest, HelpAsAnOptionOrACommandAsksForHelp) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"help"}, {"--json", "--help"}}) {
    absl::StatusOr<Invocation> inv = Parse(args);
    ASSERT_TRUE(inv.ok()) << inv.status();
    EXPECT_TRUE(inv->help);
    EXPECT_THAT(inv->command, IsEmpty());
  }
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"help", "publish"}, {"publish", "--help"}, {"--help", "publish"}, {"publish", "-h"}}) {
    absl::StatusOr<Invocation> inv = Parse(args);
    ASSERT_TRUE(inv.ok()) << inv.status();  // help needs no required option
    EXPECT_TRUE(inv->help);
    EXPECT_EQ(inv->command, "publish");
  }
  EXPECT_THAT(UsageMessage({"help", "frobnicate"}), HasSubstr("unknown command"));
}

TEST(HookctlCliTest, EveryCommandHasAnExampleTheParserAccepts) {
  const std::string help = GeneralHelp();
  for (const CommandSpec& c : Commands()) {
    SCOPED_TRACE(c.name);
    const std::string example = c.example;
    EXPECT_THAT(help, HasSubstr(absl::StrCat("e.g. ", example)));
    std::vector<std::string> words = Words(example);
    ASSERT_GE(words.size(), 2u);
    ASSERT_EQ(words[0], "hookctl");
    words.erase(words.begin());
    absl::StatusOr<Invocation> inv = Parse(words);
    ASSERT_TRUE(inv.ok()) << inv.status();
    EXPECT_EQ(inv->command, c.name);

    absl::StatusOr<std::string> one = CommandHelp(c.name);
    ASSERT_TRUE(one.ok());
    EXPECT_THAT(*one, HasSubstr(example));
    for (const auto* names : {&c.required, &c.optional}) {
      for (const char* name : *names) EXPECT_THAT(*one, HasSubstr(absl::StrCat("--", name)));
    }
  }
}

TEST(HookctlCliTest, EveryOptionACommandNamesIsDescribed) {
  for (const CommandSpec& c : Commands()) {
    for (const auto* names : {&c.required, &c.optional}) {
      for (const char* name : *names) {
        const bool described =
            std::any_of(CommandOptions().begin(), CommandOptions().end(),
                        [&](const OptionSpec& o) { return absl::string_view(o.name) == name; });
        EXPECT_TRUE(described) << c.name << " --" << name;
      }
    }
  }
}

}  // namespace
}  // namespace hookrelay::hookctl
