// Engine::Resettle: a tenant's rules changed between runs reach the subjects
// already in the store, as SlotDriver::Resettle says.
#include <gtest/gtest.h>

#include <algorithm>

#include "matcher/engine_testing.h"

namespace closeloop::matcher {
namespace {

const EventTime kT0 = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 3 / 2));
EventTime Day(int d) { return kT0 + d * kDay; }

Deal Won(const std::string& id, const std::string& tenant = "acme",
         const std::string& stage = "Closed Won") {
  return Deal{.tenant = {tenant},
              .id = {id},
              .stage = stage,
              .amount_minor = 500'000,
              .currency = "USD",
              .customer = {"C-9"},
              .customer_name = "Initech",
              .close_time = Day(0),
              .event_time = Day(0)};
}

TenantDirectory With(TenantRules rules, const std::string& tenant = "acme") {
  TenantDirectory d;
  d.tenants[tenant] = std::move(rules);
  return d;
}

TenantRules OrderWindow(int days) {
  TenantRules r;
  r.order_window = days * kDay;
  return r;
}

std::vector<ExceptionState> States(const std::vector<ExceptionRecord>& records) {
  std::vector<ExceptionState> states;
  for (const ExceptionRecord& r : records) states.push_back(r.state);
  return states;
}

TEST(Resettle, AShorterWindowRaisesWhatTheOldOneStillWaitedFor) {
  TestEngine h({ExceptionKind::kMissingOrder});
  h.tenants = With(OrderWindow(10));
  h.Apply(Won("D-1"));
  EXPECT_TRUE(h.AdvanceAll(Day(5)).empty());
  auto out = h.RestartWith(With(OrderWindow(3)), {"acme"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].state, ExceptionState::kOpen);
  EXPECT_EQ(out[0].deadline, Day(3));  // as a run under these rules from the start
  EXPECT_EQ(out[0].opened_at, Day(3));
  // The old window's timer is gone: its day brings the first escalation only.
  EXPECT_EQ(States(h.AdvanceAll(Day(12))), std::vector{ExceptionState::kEscalated});
}

TEST(Resettle, ALongerWindowWithdrawsWhatItNoLongerFindsAndRaisesItAtTheNewDeadline) {
  TestEngine h({ExceptionKind::kMissingOrder});
  h.tenants = With(OrderWindow(3));
  h.Apply(Won("D-1"));
  ASSERT_EQ(h.AdvanceAll(Day(5)).size(), 1u);
  auto out = h.RestartWith(With(OrderWindow(10)), {"acme"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kWithdrawn);
  EXPECT_EQ(out[0].reason,
            "MISSING_ORDER on deal D-1 is withdrawn on 2026-03-07: the tenant's rules were "
            "changed and no longer find it.");
  EXPECT_TRUE(h.AdvanceAll(Day(9)).empty());
  auto later = h.AdvanceAll(Day(11));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].exception_id, "acme:MISSING_ORDER:D-1:2");
  EXPECT_EQ(later[0].deadline, Day(10));
}

// The slot was last evaluated on day 3, when MISSING_ORDER opened; nothing
// was due since. At day 6 a 5d window still finds it: it stays open (before,
// it was judged as of day 3, withdrawn on that day and raised again as a new
// generation on day 5).
TEST(Resettle, AnExceptionTheNewRulesStillFindNowStaysOpen) {
  TestEngine h({ExceptionKind::kMissingOrder});
  h.tenants = With(OrderWindow(3));
  h.Apply(Won("D-1"));
  ASSERT_EQ(h.AdvanceAll(Day(3)).size(), 1u);
  EXPECT_TRUE(h.AdvanceAll(Day(6)).empty());
  EXPECT_TRUE(h.RestartWith(With(OrderWindow(5)), {"acme"}).empty());
  EXPECT_EQ(States(h.AdvanceAll(Day(10))), std::vector{ExceptionState::kEscalated});
}

// The same with the exception dismissed on day 3: at day 6 the dismissed
// problem is still there under the 5d window, so it stays dismissed (before,
// judged as of day 3 it had gone away, and day 5 raised it again).
TEST(Resettle, ADismissalTheNewRulesStillCoverHolds) {
  TestEngine h({ExceptionKind::kMissingOrder});
  h.tenants = With(OrderWindow(3));
  h.Apply(Won("D-1"));
  ASSERT_EQ(h.AdvanceAll(Day(3)).size(), 1u);
  ASSERT_FALSE(h.Command({.id = "c-1",
                          .tenant = {"acme"},
                          .exception_id = "acme:MISSING_ORDER:D-1:1",
                          .action = Command::Action::kDismiss,
                          .event_time = Day(3)}));
  EXPECT_TRUE(h.AdvanceAll(Day(6)).empty());
  EXPECT_TRUE(h.RestartWith(With(OrderWindow(5)), {"acme"}).empty());
  EXPECT_TRUE(h.AdvanceAll(Day(40)).empty());
}

TEST(Resettle, ARuleTurnedOnReachesDealsWonBefore) {
  TestEngine h({ExceptionKind::kMissingOrder});
  TenantRules no_orders;
  no_orders.require_order = false;
  h.tenants = With(no_orders);
  h.Apply(Won("D-1"));
  EXPECT_TRUE(h.AdvanceAll(Day(5)).empty());
  auto out = h.RestartWith(With(TenantRules{}), {"acme"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].deadline, Day(3));
}

// The other way: require_order turned off withdraws the MISSING_ORDER already
// open, and nothing of it comes back later.
TEST(Resettle, ARuleTurnedOffWithdrawsWhatItRaised) {
  TestEngine h({ExceptionKind::kMissingOrder});
  h.Apply(Won("D-1"));
  ASSERT_EQ(h.AdvanceAll(Day(5)).size(), 1u);
  TenantRules no_orders;
  no_orders.require_order = false;
  auto out = h.RestartWith(With(no_orders), {"acme"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].exception_id, "acme:MISSING_ORDER:D-1:1");
  EXPECT_EQ(out[0].resolution, Resolution::kWithdrawn);
  EXPECT_TRUE(h.AdvanceAll(Day(40)).empty());
}

TEST(Resettle, UnchangedRulesChangeNothing) {
  TestEngine h;
  h.Apply(Won("D-1"));
  h.Apply(Won("D-2"));
  ASSERT_FALSE(h.AdvanceAll(Day(40)).empty());
  const size_t timers = h.store().timer_count();
  EXPECT_TRUE(h.RestartWith(TenantDirectory{}, {"acme"}).empty());
  EXPECT_EQ(h.store().timer_count(), timers);
  EXPECT_TRUE(h.TakeFiguresChanges().empty());
}

// Deals, orders and invoices of two tenants, only one of which changes: one
// subject per call gives what one call for all does, and the other tenant
// is not touched.
TEST(Resettle, PiecesOfOneSubjectGiveWhatOneCallGives) {
  auto run = [](size_t piece) {
    TestEngine h;
    h.tenants = With(OrderWindow(20));
    for (const std::string tenant : {"acme", "globex"}) {
      h.Apply(Won("D-1", tenant));
      h.Apply(Won("D-2", tenant));
      h.Apply(Order{.tenant = {tenant},
                    .id = {"O-1"},
                    .deal = {"D-9"},
                    .amount_minor = 7,
                    .currency = "USD",
                    .event_time = Day(1)});
      h.Apply(Invoice{.tenant = {tenant},
                      .id = {"I-1"},
                      .deal = {"D-2"},
                      .amount_minor = 100,
                      .currency = "USD",
                      .issue_time = Day(2),
                      .event_time = Day(2)});
    }
    h.AdvanceAll(Day(15));
    TenantDirectory changed = With(OrderWindow(2));
    changed.defaults = OrderWindow(20);  // globex's, as before
    changed.tenants["globex"] = OrderWindow(20);
    return h.RestartWith(changed, {"acme"}, piece);
  };
  const std::vector<ExceptionRecord> whole = run(SIZE_MAX);
  // MISSING_ORDER on both of acme's deals, open since day 2, escalated on day 9.
  EXPECT_EQ(States(whole), (std::vector{ExceptionState::kOpen, ExceptionState::kEscalated,
                                        ExceptionState::kOpen, ExceptionState::kEscalated}));
  EXPECT_TRUE(std::all_of(whole.begin(), whole.end(),
                          [](const ExceptionRecord& r) { return r.tenant.value == "acme"; }));
  EXPECT_EQ(run(1), whole);
  EXPECT_EQ(run(2), whole);
}

TEST(Resettle, FuzzyMatchTurnedOnLinksADocumentThatNeverLookedForItsDeal) {
  TestEngine h({ExceptionKind::kOrphanInvoice, ExceptionKind::kMissingInvoice});
  TenantRules exact;
  exact.fuzzy_match = false;
  h.tenants = With(exact);
  h.Apply(Won("D-1"));
  h.Apply(Invoice{.tenant = {"acme"},
                  .id = {"I-1"},
                  .customer = {"C-9"},
                  .amount_minor = 500'000,
                  .currency = "USD",
                  .issue_time = Day(2),
                  .event_time = Day(2)});
  auto before = h.AdvanceAll(Day(12));
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].kind, ExceptionKind::kOrphanInvoice);
  auto out = h.RestartWith(With(TenantRules{}), {"acme"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
  EXPECT_LT(out[0].confidence, 1.0);           // the fuzzy link resolved it
  EXPECT_TRUE(h.AdvanceAll(Day(40)).empty());  // D-1 is billed by it
}

// fuzzy_match turned on together with a shorter invoice window: the invoice
// without references bills its deal from its own time, as in a run under
// these rules from the start, so the deal, which had published nothing,
// raises nothing (before, the deal was evaluated before the invoice looked
// for it: MISSING_INVOICE opened at the new deadline and was recovered at
// once).
TEST(Resettle, FuzzyMatchTurnedOnLinksBeforeTheDealIsEvaluatedAgain) {
  const Invoice unreferenced{.tenant = {"acme"},
                             .id = {"I-1"},
                             .customer = {"C-9"},
                             .amount_minor = 500'000,
                             .currency = "USD",
                             .issue_time = Day(2),
                             .event_time = Day(2)};
  TenantRules changed;
  changed.invoice_window = 10 * kDay;
  TestEngine rebuilt({ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled});
  rebuilt.tenants = With(changed);
  rebuilt.Apply(Won("D-1"));
  rebuilt.Apply(unreferenced);
  ASSERT_TRUE(rebuilt.AdvanceAll(Day(12)).empty());

  TestEngine h({ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled});
  TenantRules exact;
  exact.fuzzy_match = false;
  h.tenants = With(exact);
  h.Apply(Won("D-1"));
  h.Apply(unreferenced);
  ASSERT_TRUE(h.AdvanceAll(Day(12)).empty());
  EXPECT_TRUE(h.RestartWith(With(changed), {"acme"}).empty());
  EXPECT_TRUE(h.AdvanceAll(Day(40)).empty());  // D-1 is billed by I-1
}

TEST(Resettle, AStageCountedAsWonNowIsBooked) {
  TestEngine h;
  h.Apply(Won("D-1", "acme", "Signed"));
  h.AdvanceAll(Day(5));
  ASSERT_FALSE(h.TakeFiguresChanges().at(0).after.booked);
  TenantRules signed_is_won;
  signed_is_won.closed_won_stages = {"Closed Won", "Signed"};
  h.RestartWith(With(signed_is_won), {"acme"});
  const std::vector<FiguresChange> changes = h.TakeFiguresChanges();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].after.booked);
  EXPECT_EQ(changes[0].after.booked_minor, 500'000);
}

// A deal sent without close_time is dated by the stages as the tenant counts
// them now: one moved to a stage now counted as won too stays dated by its
// first win, as a run under these rules from the start would date it.
TEST(Resettle, ADealSentWithoutCloseTimeIsDatedByTheStagesCountedAsWonNow) {
  TestEngine h({ExceptionKind::kMissingOrder});
  Deal deal = Won("D-1");
  deal.close_time_inferred = true;
  h.Apply(deal);
  deal.stage = "Signed";
  deal.event_time = deal.close_time = Day(5);
  h.Apply(deal);
  // Opened at day 3, withdrawn at day 5: "Signed" is not won.
  ASSERT_EQ(h.AdvanceAll(Day(6)).size(), 2u);
  TenantRules signed_is_won;
  signed_is_won.closed_won_stages = {"Closed Won", "Signed"};
  auto out = h.RestartWith(With(signed_is_won), {"acme"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].exception_id, "acme:MISSING_ORDER:D-1:2");
  EXPECT_EQ(out[0].state, ExceptionState::kOpen);
  EXPECT_EQ(out[0].deadline, Day(3));  // won since day 0, not since day 5
}

}  // namespace
}  // namespace closeloop::matcher
