// ACK, SNOOZE and DISMISS through the engine.
#include <gtest/gtest.h>

#include <algorithm>

#include "matcher/engine_testing.h"

namespace closeloop::matcher {
namespace {

const EventTime kT0 = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 1 / 1));
EventTime Day(int d) { return kT0 + d * kDay; }
constexpr char kId[] = "acme:UNPAID:I-1:1";

// An UNPAID exception opening on day 40 (due day 30, grace 5d... plus 5).
class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest() {
    Invoice inv;
    inv.tenant = {"acme"};
    inv.id = {"I-1"};
    inv.deal = {"D-1"};
    inv.amount_minor = 100'000;
    inv.currency = "USD";
    inv.issue_time = inv.event_time = Day(0);
    inv.due_time = Day(30);
    Apply(inv);
  }
  std::vector<ExceptionRecord> Apply(const Document& doc) { return engine_.Apply(doc); }
  std::vector<ExceptionRecord> At(int day) { return engine_.AdvanceAll(Day(day)); }
  std::optional<CommandRejection> Send(Command::Action action, const std::string& command_id,
                                       int day, std::vector<ExceptionRecord>* out = nullptr,
                                       const std::string& id = kId,
                                       const std::string& tenant = "acme") {
    return engine_.Command({.id = command_id,
                            .tenant = {tenant},
                            .exception_id = id,
                            .action = action,
                            .snooze_until = Day(day + 20),
                            .note = "customer promised",
                            .actor = "ana",
                            .event_time = Day(day)},
                           out);
  }
  Payment Pay(int day) {
    Payment p;
    p.tenant = {"acme"};
    p.id = {"P-1"};
    p.invoice = {"I-1"};
    p.amount_minor = 100'000;
    p.currency = "USD";
    p.event_time = Day(day);
    return p;
  }

  TestEngine engine_{{ExceptionKind::kUnpaid}};
};

TEST_F(CommandsTest, AckIsEchoedAndStopsEscalationRecords) {
  ASSERT_EQ(At(36).size(), 1u);
  std::vector<ExceptionRecord> out;
  EXPECT_FALSE(Send(Command::Action::kAck, "c-1", 37, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].state, ExceptionState::kAcknowledged);
  EXPECT_EQ(out[0].sequence, 2u);
  EXPECT_EQ(out[0].note, "customer promised");
  EXPECT_EQ(out[0].effective_at, Day(36)) << "the watermark's time, not the command's later one";
  EXPECT_EQ(
      out[0].reason,
      "UNPAID on invoice I-1 acknowledged by ana; no more escalation notices. customer promised");
  EXPECT_TRUE(At(200).empty()) << "no ESCALATED after ACK";
  Apply(Pay(201));
  out = At(202);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered) << "resolution still reported";
}

TEST_F(CommandsTest, SnoozeHoldsEscalationUntilItEnds) {
  At(36);
  std::vector<ExceptionRecord> out;
  EXPECT_FALSE(Send(Command::Action::kSnooze, "c-1", 37, &out));  // until day 57
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].state, ExceptionState::kSnoozed);
  EXPECT_EQ(out[0].reason,
            "UNPAID on invoice I-1 snoozed by ana until 2026-02-27. customer promised");
  EXPECT_TRUE(At(56).empty()) << "the 7-day escalation (day 42) waits";
  out = At(58);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].state, ExceptionState::kEscalated);
  EXPECT_EQ(out[0].effective_at, Day(57));
}

TEST_F(CommandsTest, DismissResolvesAndTheSameProblemStaysQuiet) {
  At(36);
  std::vector<ExceptionRecord> out;
  EXPECT_FALSE(Send(Command::Action::kDismiss, "c-1", 37, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].state, ExceptionState::kResolved);
  EXPECT_EQ(out[0].resolution, Resolution::kDismissed);
  EXPECT_NE(out[0].reason.find("customer promised"), std::string::npos);
  EXPECT_TRUE(At(300).empty());
}

// A dismissal holds while the problem persists: once it has gone away (paid)
// and comes back (the payment refunded), it is raised again, as a new
// exception.
TEST_F(CommandsTest, DismissedProblemIsRaisedAgainWhenItReturnsAfterGoingAway) {
  At(36);
  EXPECT_FALSE(Send(Command::Action::kDismiss, "c-1", 37));
  Apply(Pay(50));
  EXPECT_TRUE(At(51).empty());
  Payment refund = Pay(60);
  refund.status = Payment::Status::kRefunded;
  Apply(refund);
  const std::vector<ExceptionRecord> out = At(61);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].exception_id, "acme:UNPAID:I-1:2");
  EXPECT_EQ(out[0].state, ExceptionState::kOpen);
  EXPECT_EQ(out[0].amount_at_risk_minor, 100'000);
  EXPECT_EQ(out[0].effective_at, Day(60));
}

TEST_F(CommandsTest, ReplayedCommandIsRefusedAndChangesNothing) {
  At(36);
  EXPECT_FALSE(Send(Command::Action::kAck, "c-1", 37));
  std::vector<ExceptionRecord> out;
  auto rejection = Send(Command::Action::kAck, "c-1", 38, &out);
  ASSERT_TRUE(rejection);
  EXPECT_EQ(rejection->why, CommandRejection::Why::kReplayedCommand);
  EXPECT_TRUE(out.empty());
}

// Every applied command's id is kept to refuse its replay: a client sending
// fresh ids in a loop is stopped at kMaxCommandsPerSlot, not let grow the
// state; replays are still told apart.
TEST_F(CommandsTest, CommandsBeyondTheMostOneExceptionTakesAreRefused) {
  At(36);
  for (size_t i = 0; i < kMaxCommandsPerSlot; ++i) {
    ASSERT_FALSE(Send(Command::Action::kAck, "c-" + std::to_string(i), 37)) << i;
  }
  std::vector<ExceptionRecord> out;
  auto rejection = Send(Command::Action::kAck, "c-more", 37, &out);
  ASSERT_TRUE(rejection);
  EXPECT_EQ(rejection->why, CommandRejection::Why::kTooManyCommands);
  EXPECT_NE(rejection->message.find("1000 commands"), std::string::npos) << rejection->message;
  EXPECT_TRUE(out.empty());
  rejection = Send(Command::Action::kAck, "c-7", 37);
  ASSERT_TRUE(rejection);
  EXPECT_EQ(rejection->why, CommandRejection::Why::kReplayedCommand);
  // The exception itself goes on: paid, it is recovered.
  Apply(Pay(38));
  out = At(39);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
}

TEST_F(CommandsTest, UnknownExceptionOrTenantIsRefused) {
  At(36);
  auto r = Send(Command::Action::kAck, "c-1", 37, nullptr, "acme:UNPAID:I-404:1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->why, CommandRejection::Why::kUnknownException);
  r = Send(Command::Action::kAck, "c-2", 37, nullptr, kId, "globex");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->why, CommandRejection::Why::kUnknownException);
  r = Send(Command::Action::kAck, "c-3", 37, nullptr, "not an id");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->why, CommandRejection::Why::kUnknownException);
}

TEST_F(CommandsTest, CommandForAResolvedExceptionIsRefused) {
  At(36);
  Apply(Pay(37));
  At(38);
  auto r = Send(Command::Action::kDismiss, "c-1", 39);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->why, CommandRejection::Why::kExceptionNotOpen);
}

// A command stamped by a wall clock far ahead of a lagging feed (a Slack
// button pressed while a source backfills) counts no day the watermark has
// not passed: the records that follow keep the age and time-weighted loss
// they would have had without it (opened day 35, paid day 38: 3 days).
TEST_F(CommandsTest, CommandAheadOfTheWatermarkCountsNoDayNotYetSeen) {
  ASSERT_EQ(At(36).size(), 1u);
  std::vector<ExceptionRecord> out;
  EXPECT_FALSE(Send(Command::Action::kAck, "c-1", 100, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].effective_at, Day(36));
  EXPECT_EQ(out[0].age_days, 1);
  Apply(Pay(38));
  out = At(39);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
  EXPECT_EQ(out[0].effective_at, Day(38));
  EXPECT_EQ(out[0].age_days, 3);
  EXPECT_EQ(out[0].time_weighted_loss, 300'000);
}

// A refused command changes nothing: one naming a subject never seen keeps
// no state for it (a client sending made-up ids must not grow the store).
TEST(Commands, RefusedCommandForAnUnseenSubjectKeepsNoState) {
  TestEngine engine;
  engine.AdvanceAll(Day(10));
  for (int i = 0; i < 100; ++i) {
    auto r = engine.Command({.id = "c-" + std::to_string(i),
                             .tenant = {"acme"},
                             .exception_id = "acme:MISSING_ORDER:D-" + std::to_string(i) + ":1",
                             .event_time = Day(10)});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->why, CommandRejection::Why::kUnknownException);
  }
  EXPECT_EQ(engine.store().deal_count(), 0u);
}

// MISSING_INVOICE and OVER_BILLED share the billing slot: while the first is
// open as generation 1, the second's generation-1 id was never raised.
TEST(Commands, KindNeverRaisedInAnOccupiedSlotIsUnknown) {
  TestEngine engine;
  Deal d;
  d.tenant = {"acme"};
  d.id = {"D-1"};
  d.stage = "Closed Won";
  d.amount_minor = 1'000'000;
  d.currency = "USD";
  d.customer = {"C-1"};
  d.close_time = d.event_time = Day(0);
  engine.Apply(d);
  const auto opened = engine.AdvanceAll(Day(31));
  ASSERT_TRUE(std::any_of(opened.begin(), opened.end(), [](const ExceptionRecord& r) {
    return r.exception_id == "acme:MISSING_INVOICE:D-1:1";
  }));
  auto r =
      engine.Command({.id = "c-1", .tenant = {"acme"}, .exception_id = "acme:OVER_BILLED:D-1:1"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->why, CommandRejection::Why::kUnknownException) << r->message;
  EXPECT_FALSE(engine.Command(
      {.id = "c-2", .tenant = {"acme"}, .exception_id = "acme:MISSING_INVOICE:D-1:1"}));
}

TEST(ExceptionId, RoundTripsEscapedParts) {
  const std::string id = MakeExceptionId({"a:b%"}, ExceptionKind::kUnpaid, "I:1", 12);
  EXPECT_EQ(id, "a%3Ab%25:UNPAID:I%3A1:12");
  auto parts = ParseExceptionId(id);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->tenant.value, "a:b%");
  EXPECT_EQ(parts->kind, ExceptionKind::kUnpaid);
  EXPECT_EQ(parts->subject_id, "I:1");
  EXPECT_EQ(parts->generation, 12u);
  EXPECT_FALSE(ParseExceptionId("a:NOPE:x:1"));
  EXPECT_FALSE(ParseExceptionId("a:UNPAID:x:one"));
}

}  // namespace
}  // namespace closeloop::matcher
