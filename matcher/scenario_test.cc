// One test per matcher/scenarios/*.scenario file (format: README.md there),
// and tests that the runner itself catches what it should.
#include "matcher/scenario.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace closeloop::matcher::scenario {
namespace {

// The scenario files' names, sorted; they live in CLOSELOOP_SCENARIO_DIR.
std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(CLOSELOOP_SCENARIO_DIR, ec)) {
    if (entry.path().extension() == ".scenario") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string TestName(const testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class ScenarioFile : public testing::TestWithParam<std::string> {};

// A file marked `# KNOWN-BUG: sentence` is expected to fail and is reported
// as skipped with the sentence; once it passes, the marker must go.
TEST_P(ScenarioFile, Holds) {
  const ParseResult parsed = ParseFile(std::string(CLOSELOOP_SCENARIO_DIR) + "/" + GetParam());
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  const Scenario& s = parsed.scenario;
  const std::string failure = RunScenario(s);
  if (!s.known_bug.empty()) {
    ASSERT_FALSE(failure.empty()) << s.path << " passes now but is marked KNOWN-BUG (\""
                                  << s.known_bug << "\"); delete that line.";
    GTEST_SKIP() << "KNOWN-BUG: " << s.known_bug << "\n" << failure;
  }
  EXPECT_TRUE(failure.empty()) << s.purpose << "\n" << failure;
  // The quiet-until bounds only let a rule skip times at which it can find
  // nothing: the file holds without them too.
  EXPECT_EQ(RunScenario(s, {.quiet_bounds = false}), "") << "without the quiet-until bounds";
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioFile, testing::ValuesIn(ScenarioFiles()), TestName);

TEST(ScenarioDirectory, IsFound) {
  EXPECT_GE(ScenarioFiles().size(), 1u) << "no *.scenario in " << CLOSELOOP_SCENARIO_DIR;
}

// The runner must be able to fail: each of these is a scenario gone wrong.
constexpr const char* kHeader =
    "# Purpose.\n"
    "ignore MISSING_ORDER\n"
    "deal acme D-1 amount=500000 close=2026-01-01\n"
    "watermark all 2026-02-01\n";

TEST(ScenarioRunner, PassesWhenTheRecordMatches) {
  const ParseResult p = Parse("t.scenario", std::string(kHeader) +
                                                "expect MISSING_INVOICE acme:MISSING_INVOICE:D-1:1 "
                                                "OPEN amount=500_000 at=2026-01-31 severity=P3 "
                                                "reason~\"has no invoice\"\n");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(RunScenario(p.scenario), "");
}

TEST(ScenarioRunner, NamesFileLineAndRecordOnMismatch) {
  const ParseResult p =
      Parse("t.scenario", std::string(kHeader) +
                              "expect MISSING_INVOICE acme:MISSING_INVOICE:D-1:1 OPEN amount=1\n");
  ASSERT_TRUE(p.ok()) << p.error;
  const std::string failure = RunScenario(p.scenario);
  EXPECT_NE(failure.find("t.scenario:5: amount should be 1, is 500000"), std::string::npos)
      << failure;
  EXPECT_NE(failure.find("deadline=2026-01-31"), std::string::npos) << failure;
}

TEST(ScenarioRunner, FailsOnUnmatchedRecords) {
  const ParseResult p = Parse("t.scenario", kHeader);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_NE(RunScenario(p.scenario).find("MISSING_INVOICE acme:MISSING_INVOICE:D-1:1 OPEN"),
            std::string::npos);
  const ParseResult q = Parse("t.scenario", std::string(kHeader) + "expect nothing\n");
  EXPECT_NE(RunScenario(q.scenario).find("t.scenario:5: expected nothing"), std::string::npos);
}

TEST(ScenarioRunner, FailsWhenAnExpectedRecordNeverCame) {
  const ParseResult p = Parse("t.scenario",
                              "# Purpose.\nwatermark all 2026-01-01\n"
                              "expect UNPAID acme:UNPAID:I-1:1 OPEN\n");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_NE(RunScenario(p.scenario).find("t.scenario:3: no record left"), std::string::npos);
}

// A command's outcome is checked: refused when it should apply, or applied
// when it should be refused, fails the scenario.
TEST(ScenarioRunner, FailsWhenACommandIsNotRefusedOrAppliedAsExpected) {
  const std::string id = " acme:MISSING_INVOICE:D-1:1 id=c-1 at=2026-02-01";
  const ParseResult refused = Parse("t.scenario", std::string(kHeader) + "command acme ACK" + id +
                                                      " refused=unknown_exception\n");
  ASSERT_TRUE(refused.ok()) << refused.error;
  EXPECT_EQ(RunScenario(refused.scenario), "t.scenario:5: the command was applied");
  const ParseResult applied = Parse("t.scenario", "# Purpose.\ncommand acme DISMISS" + id + "\n");
  ASSERT_TRUE(applied.ok()) << applied.error;
  EXPECT_NE(
      RunScenario(applied.scenario).find("t.scenario:2: the command was refused: no exception"),
      std::string::npos);
}

TEST(ScenarioParser, NamesFileAndLine) {
  auto error = [](const std::string& text) { return Parse("p.scenario", text).error; };
  EXPECT_EQ(error("# P.\ndeal acme D-1 amount=12x close=2026-01-01\n"),
            "p.scenario:2: amount: expected an integer, got \"12x\"");
  EXPECT_EQ(error("# P.\ndeal acme D-1 close=2026-02-30\n"),
            "p.scenario:2: close: expected YYYY-MM-DD or RFC 3339 time, got \"2026-02-30\"");
  EXPECT_EQ(error("# P.\n\ninvoice acme I-1 amount=1 at=2026-01-01 colour=red\n"),
            "p.scenario:3: unknown attribute \"colour\"");
  EXPECT_EQ(error("# P.\nwatermark all 2026-01-01\ntenant acme require_order=false\n"),
            "p.scenario:3: tenant must come before the first document or watermark");
  EXPECT_EQ(error("# P.\nexpect MISSING_INVOICE x OPEN colour=red\n"),
            "p.scenario:2: unknown attribute \"colour\"");
  EXPECT_EQ(error("# P.\nexpect LOST_MONEY x OPEN\n"),
            "p.scenario:2: unknown exception kind \"LOST_MONEY\"");
  EXPECT_EQ(error("# P.\ncommand acme ACK x:UNPAID:I-1:1 id=c-1\n"),
            "p.scenario:2: a command needs id= and at=");
  EXPECT_EQ(error("# P.\ncommand acme ACK x:UNPAID:I-1:1 id=c-1 at=2026-01-01 until=2026-02-01\n"),
            "p.scenario:2: until= goes with SNOOZE, and only with it");
  EXPECT_EQ(error("# P.\ncommand acme FORGET x:UNPAID:I-1:1 id=c-1 at=2026-01-01\n"),
            "p.scenario:2: command: expected ACK|SNOOZE|DISMISS, got \"FORGET\"");
  EXPECT_EQ(error("# P.\ncommand acme ACK x:UNPAID:I-1:1 id=c-1 at=2026-01-01 refused=no\n"),
            "p.scenario:2: refused: expected unknown_exception|exception_not_open|"
            "replayed_command|too_many_commands, got \"no\"");
  EXPECT_EQ(error("deal acme D-1 close=2026-01-01\n"),
            "p.scenario:1: the file should open with a comment saying what it proves");
}

TEST(ScenarioParser, ReadsTimesAndKnownBugs) {
  EventTime t;
  ASSERT_TRUE(ParseTime("2026-01-31T12:30:00+02:00", &t));
  EXPECT_EQ(FormatTime(t), "2026-01-31T10:30:00Z");
  ASSERT_TRUE(ParseTime("2026-01-31T00:00:00.250Z", &t));
  EXPECT_EQ(FormatTime(t), "2026-01-31T00:00:00.250Z");
  EXPECT_FALSE(ParseTime("2026-01-31T25:00:00Z", &t));
  const ParseResult p = Parse("k.scenario", "# KNOWN-BUG: it is wrong.\n# Purpose.\n");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.scenario.known_bug, "it is wrong.");
  EXPECT_EQ(p.scenario.purpose, "Purpose.");
}

}  // namespace
}  // namespace closeloop::matcher::scenario
