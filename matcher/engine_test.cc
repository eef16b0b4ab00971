#include "matcher/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "matcher/engine_testing.h"

namespace closeloop::matcher {
namespace {

const EventTime kT0 = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 1 / 1));
EventTime Day(int d) { return kT0 + d * kDay; }

Deal WonDeal(const std::string& id, int close_day, int64_t amount,
             const std::string& tenant = "acme") {
  Deal d;
  d.tenant = {tenant};
  d.id = {id};
  d.stage = "closed won";  // stages match case-insensitively
  d.amount_minor = amount;
  d.currency = "USD";
  d.customer = {"C-1"};
  d.customer_name = "Acme Corp";
  d.owner = "rep@acme";
  d.close_time = Day(close_day);
  d.event_time = Day(close_day);
  return d;
}

Invoice InvoiceFor(const std::string& id, const std::string& deal, int day, int64_t amount,
                   const std::string& tenant = "acme") {
  Invoice inv;
  inv.tenant = {tenant};
  inv.id = {id};
  inv.deal = {deal};
  inv.customer = {"C-1"};
  inv.amount_minor = amount;
  inv.currency = "USD";
  inv.issue_time = Day(day);
  inv.due_time = Day(day + 30);
  inv.event_time = Day(day);
  return inv;
}

Payment PaymentFor(const std::string& id, const std::string& invoice, int day, int64_t amount) {
  Payment p;
  p.tenant = {"acme"};
  p.id = {id};
  p.invoice = {invoice};
  p.amount_minor = amount;
  p.currency = "USD";
  p.event_time = Day(day);
  return p;
}

using Harness = TestEngine;

TEST(MissingInvoice, OpensAtCloseplusInvoiceWindowWhenNothingBilled) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  EXPECT_TRUE(h.Apply(WonDeal("D-17", 0, 1'200'000)).empty());
  EXPECT_TRUE(h.AdvanceAll(Day(29)).empty());
  auto out = h.AdvanceAll(Day(31));
  ASSERT_EQ(out.size(), 1u);
  const ExceptionRecord& r = out[0];
  EXPECT_EQ(r.kind, ExceptionKind::kMissingInvoice);
  EXPECT_EQ(r.state, ExceptionState::kOpen);
  EXPECT_EQ(r.exception_id, "acme:MISSING_INVOICE:D-17:1");
  EXPECT_EQ(r.amount_at_risk_minor, 1'200'000);
  EXPECT_EQ(r.team, "billing");
  EXPECT_EQ(r.deadline, Day(30));
  EXPECT_EQ(r.opened_at, Day(30));
  EXPECT_EQ(r.sequence, 1u);
  EXPECT_EQ(r.severity, Severity::kP2);  // USD 12,000.00 is past the P2 threshold
  EXPECT_EQ(r.reason,
            "Deal D-17 for Acme Corp, closed 2026-01-01 for USD 12,000.00, has no invoice 30 days "
            "later; USD 12,000.00 was due to be billed by 2026-01-31.");
}

TEST(MissingInvoice, WaitsForTheBillingWatermark) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  h.Apply(WonDeal("D-1", 0, 500'000));
  h.AdvanceSource(Source::kCrm, Day(60));
  h.AdvanceSource(Source::kErp, Day(60));
  EXPECT_TRUE(h.AdvanceSource(Source::kBilling, Day(29)).empty()) << "billing lags: no alarm";
  // The lagging feed delivers an invoice issued in time.
  EXPECT_TRUE(h.Apply(InvoiceFor("I-1", "D-1", 20, 500'000)).empty());
  EXPECT_TRUE(h.AdvanceSource(Source::kBilling, Day(60)).empty());
}

// A credit memo applied while an UNPAID slot lags its watermarks (raised,
// not yet advanced) counts at once: what the catch-up before it learnt of
// the deal's credit memos is forgotten when it arrives. The catch-up took
// the slot to the watermarks, so the memo is late and counts from there.
TEST(Unpaid, CreditMemoCountsWhileTheSlotLagsItsWatermarks) {
  Harness h({ExceptionKind::kUnpaid});
  h.Apply(WonDeal("D-1", 0, 1'000'000));
  h.Apply(InvoiceFor("I-1", "D-1", 5, 1'000'000));  // due day 35, UNPAID from day 40
  const auto opened = h.AdvanceAll(Day(45));
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].state, ExceptionState::kOpen);
  h.RaiseAll(Day(60));  // its escalation at day 47 is due, not fired
  Invoice memo = InvoiceFor("CM-1", "D-1", 50, 1'000'000);
  memo.kind = Invoice::Kind::kCreditMemo;
  std::vector<ExceptionRecord> out = h.Apply(memo);
  for (const ExceptionRecord& r : h.AdvanceAll(Day(60))) out.push_back(r);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().state, ExceptionState::kResolved);
  EXPECT_EQ(out.back().resolution, Resolution::kWithdrawn);
  EXPECT_EQ(out.back().effective_at, Day(60));
}

// The same while an order carrying a credit memo moves to the deal of the
// lagging invoice: what the call learnt of that deal's credit memos before
// the order was put is forgotten once it is.
TEST(Unpaid, CreditMemoFollowsAnOrderWhileTheSlotLagsItsWatermarks) {
  Harness h({ExceptionKind::kUnpaid});
  h.Apply(WonDeal("D-1", 0, 1'000'000));
  h.Apply(WonDeal("D-2", 0, 1'000'000));
  Order order;
  order.tenant = {"acme"};
  order.id = {"O-1"};
  order.deal = {"D-1"};
  order.amount_minor = 1'000'000;
  order.currency = "USD";
  order.event_time = Day(1);
  h.Apply(order);
  h.Apply(InvoiceFor("I-2", "D-2", 5, 1'000'000));  // due day 35, UNPAID from day 40
  Invoice memo = InvoiceFor("CM-1", "", 6, 1'000'000);
  memo.order = {"O-1"};
  memo.kind = Invoice::Kind::kCreditMemo;
  h.Apply(memo);  // credits D-1, which has no invoice
  const auto opened = h.AdvanceAll(Day(45));
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].invoice, InvoiceId{"I-2"});
  h.RaiseAll(Day(60));
  order.deal = {"D-2"};
  order.event_time = Day(50);
  std::vector<ExceptionRecord> out = h.Apply(order);
  for (const ExceptionRecord& r : h.AdvanceAll(Day(60))) out.push_back(r);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().state, ExceptionState::kResolved);
  EXPECT_EQ(out.back().resolution, Resolution::kWithdrawn);
  EXPECT_EQ(out.back().effective_at, Day(60));
}

// A deadline storm is fired in pieces: each call fires at most the limit and
// the next goes on where it stopped, to the records of one unlimited call.
TEST(Advance, FiresAtMostTheLimitAndGoesOnWhereItStopped) {
  Harness whole, pieces;
  for (int i = 0; i < 6; ++i) {
    for (Harness* h : {&whole, &pieces}) h->Apply(WonDeal("D-" + std::to_string(i), i, 100'000));
  }
  const std::vector<ExceptionRecord> want = whole.AdvanceAll(Day(45));
  ASSERT_GE(want.size(), 12u);  // no order and no invoice, for each of the six
  // "acme:KIND:DEAL:GENERATION" -> "KIND:DEAL"
  auto subject = [](const ExceptionRecord& r) {
    const std::string id = r.exception_id;
    const size_t from = id.find(':') + 1;
    return id.substr(from, id.rfind(':') - from);
  };
  std::set<std::string> subjects;
  for (const ExceptionRecord& r : want) subjects.insert(subject(r));
  std::vector<ExceptionRecord> got;
  int calls = 1;
  while (true) {
    const size_t before = got.size();
    const bool done = pieces.AdvanceAllAtMost(Day(45), 1, got);
    // One timer is one slot of one deal: one call's records are of one exception.
    for (size_t i = before + 1; i < got.size(); ++i) {
      EXPECT_EQ(subject(got[i]), subject(got[before]));
    }
    if (done) break;
    ASSERT_LT(++calls, 1000) << "Advance made no progress";
  }
  EXPECT_GE(calls, static_cast<int>(subjects.size()));
  EXPECT_EQ(got, want);
  std::vector<ExceptionRecord> none;
  EXPECT_TRUE(pieces.AdvanceAllAtMost(Day(45), 1, none));
  EXPECT_TRUE(none.empty());
}

// The pipeline moves the watermarks between the pieces of a storm. Advance
// says it is done only when nothing is due at the latest watermarks in any
// slot, including the slots a piece passed before they moved (`closeloop run
// --until-idle` stops on that answer).
TEST(Advance, DoneMeansNothingIsDueAtTheWatermarksOfTheLastCall) {
  Harness whole, pieces;
  for (int i = 0; i < 6; ++i) {
    for (Harness* h : {&whole, &pieces}) h->Apply(WonDeal("D-" + std::to_string(i), i, 100'000));
  }
  std::vector<ExceptionRecord> want = whole.AdvanceAll(Day(31));
  for (ExceptionRecord& r : whole.AdvanceAll(Day(40))) want.push_back(std::move(r));
  // Day 31: the six MISSING_ORDER timers fire (each opens and escalates at 7
  // days; the next escalations are due on days 33 to 38), then the limit
  // stops the billing slot after its first timer.
  std::vector<ExceptionRecord> got;
  ASSERT_FALSE(pieces.AdvanceAllAtMost(Day(31), 7, got));
  // Day 40: the billing slot goes on, and the MISSING_ORDER slot is due again.
  EXPECT_TRUE(pieces.AdvanceAllAtMost(Day(40), SIZE_MAX, got));
  // "acme:MISSING_ORDER:D-0:1 #2 ESCALATED", sorted
  auto names = [](const std::vector<ExceptionRecord>& records) {
    std::vector<std::string> out;
    for (const ExceptionRecord& r : records) {
      out.push_back(r.exception_id + " #" + std::to_string(r.sequence) + " " + StateName(r.state));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names(got), names(want));
  const auto escalated_at_30 = std::count_if(want.begin(), want.end(), [](const auto& r) {
    return r.kind == ExceptionKind::kMissingOrder && r.age_days == 30;
  });
  EXPECT_EQ(escalated_at_30, 6);
}

TEST(MissingInvoice, InvoiceInTimeRaisesNothing) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  h.Apply(WonDeal("D-1", 0, 500'000));
  h.Apply(InvoiceFor("I-1", "D-1", 10, 500'000));
  h.Apply(PaymentFor("P-1", "I-1", 30, 500'000));
  EXPECT_TRUE(h.AdvanceAll(Day(200)).empty());
}

TEST(MissingInvoice, LateInvoiceResolvesAsRecovered) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  h.Apply(WonDeal("D-1", 0, 500'000));
  ASSERT_EQ(h.AdvanceAll(Day(31)).size(), 1u);
  // Event time before the deadline, delivered after it fired: recovered, not erased.
  auto out = h.Apply(InvoiceFor("I-1", "D-1", 25, 500'000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].state, ExceptionState::kResolved);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
  EXPECT_EQ(out[0].recovered_minor, 500'000);
  EXPECT_EQ(out[0].amount_at_risk_minor, 0);
  EXPECT_EQ(out[0].sequence, 2u);
  EXPECT_EQ(out[0].effective_at, Day(31));
}

// The records of a won deal (closed day 0, 500,000) whose invoice of day 35
// is applied with every watermark at `watermark`, then Advance to `then`:
// once with Advance to `watermark` run before the invoice, once with the
// watermarks only raised (within a pipeline batch, Advance comes at the
// batch's end).
std::vector<std::vector<ExceptionRecord>> WithAndWithoutAdvanceFirst(EventTime watermark,
                                                                     EventTime then) {
  std::vector<std::vector<ExceptionRecord>> runs;
  for (bool advance_first : {true, false}) {
    Harness h({ExceptionKind::kMissingInvoice});
    h.Apply(WonDeal("D-1", 0, 500'000));
    std::vector<ExceptionRecord> out;
    if (advance_first) {
      out = h.AdvanceAll(watermark);
    } else {
      h.RaiseAll(watermark);
    }
    for (ExceptionRecord& r : h.Apply(InvoiceFor("I-1", "D-1", 35, 500'000))) out.push_back(r);
    for (ExceptionRecord& r : h.AdvanceAll(then)) out.push_back(r);
    runs.push_back(out);
  }
  return runs;
}

// Within a pipeline batch the watermarks move before the timers they pass
// are fired (Advance comes at the batch's end). A document arriving then
// meets the same history as after Advance: the slots it changes are caught
// up to the watermarks first, here firing the deadline, so the late invoice
// counts from the watermark, as above, not from its own event time.
TEST(MissingInvoice, LateInvoiceMeetsTheSameHistoryWhetherOrNotAdvanceRanFirst) {
  const auto runs = WithAndWithoutAdvanceFirst(Day(40), Day(41));
  ASSERT_GE(runs[0].size(), 2u);  // OPEN, an escalation at 7 days, RESOLVED
  EXPECT_EQ(runs[0].front().effective_at, Day(30));
  EXPECT_EQ(runs[0].back().resolution, Resolution::kRecovered);
  EXPECT_EQ(runs[0].back().effective_at, Day(40));
  EXPECT_EQ(runs[1], runs[0]);
}

// The same when the watermark stops exactly at the deadline (day 30, nothing
// fired yet): a document applied before Advance must not step the deal past
// its due timer without evaluating it there.
TEST(MissingInvoice, DocumentBeforeAdvanceAtExactlyTheDeadlineLosesNothing) {
  const auto runs = WithAndWithoutAdvanceFirst(Day(30), Day(36));
  ASSERT_EQ(runs[0].size(), 2u);  // OPEN at the deadline, RECOVERED by the invoice
  EXPECT_EQ(runs[0].front().state, ExceptionState::kOpen);
  EXPECT_EQ(runs[0].front().effective_at, Day(30));
  EXPECT_EQ(runs[0].back().resolution, Resolution::kRecovered);
  EXPECT_EQ(runs[0].back().effective_at, Day(35));
  EXPECT_EQ(runs[1], runs[0]);
}

TEST(UnderBilled, SupersedesMissingInvoiceAfterAPartialInvoice) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  h.Apply(WonDeal("D-1", 0, 1'000'000));
  h.AdvanceAll(Day(31));
  h.Apply(InvoiceFor("I-1", "D-1", 33, 400'000));
  auto out = h.AdvanceAll(Day(34));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].resolution, Resolution::kSuperseded);
  EXPECT_EQ(out[0].superseded_by, "acme:UNDER_BILLED:D-1:2");
  EXPECT_EQ(out[0].recovered_minor, 400'000);
  EXPECT_EQ(out[1].kind, ExceptionKind::kUnderBilled);
  EXPECT_EQ(out[1].exception_id, "acme:UNDER_BILLED:D-1:2");
  EXPECT_EQ(out[1].amount_at_risk_minor, 600'000);
  EXPECT_EQ(out[1].effective_at, Day(33));
}

TEST(Escalation, RaisesSeverityAtEachAge) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  h.Apply(WonDeal("D-1", 0, 100'000));
  auto out = h.AdvanceAll(Day(30 + 31));
  ASSERT_EQ(out.size(), 3u);  // open, escalated at 7d and 30d
  EXPECT_EQ(out[0].severity, Severity::kP3);
  EXPECT_EQ(out[1].state, ExceptionState::kEscalated);
  EXPECT_EQ(out[1].age_days, 7);
  EXPECT_EQ(out[1].severity, Severity::kP2);
  EXPECT_EQ(out[1].time_weighted_loss, 700'000);
  EXPECT_EQ(out[2].age_days, 30);
  EXPECT_EQ(out[2].severity, Severity::kP1);
  EXPECT_EQ(out[2].sequence, 3u);
}

TEST(MissingInvoice, LostDealWithdrawsIt) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  Deal deal = WonDeal("D-1", 0, 100'000);
  h.Apply(deal);
  h.AdvanceAll(Day(31));
  deal.stage = "Closed Lost";
  deal.event_time = Day(32);
  h.Apply(deal);
  auto out = h.AdvanceAll(Day(33));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kWithdrawn);
}

TEST(MissingInvoice, DealArrivingAfterItsDeadlineIsEvaluatedAsAReplayWould) {
  Harness h({ExceptionKind::kMissingInvoice});
  h.AdvanceAll(Day(45));  // the feeds are idle and caught up
  auto out = h.Apply(WonDeal("D-1", 0, 100'000));
  ASSERT_EQ(out.size(), 2u);  // opened at the deadline, escalated 7 days on
  EXPECT_EQ(out[0].opened_at, Day(30));
  EXPECT_EQ(out[0].age_days, 0);
  EXPECT_EQ(out[1].state, ExceptionState::kEscalated);
  EXPECT_EQ(out[1].effective_at, Day(37));
}

TEST(MissingInvoice, RedeliveryChangesNothing) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  h.Apply(WonDeal("D-1", 0, 100'000));
  h.AdvanceAll(Day(31));
  EXPECT_TRUE(h.Apply(WonDeal("D-1", 0, 100'000)).empty());
  EXPECT_TRUE(h.AdvanceAll(Day(32)).empty());
}

TEST(Tenants, SameIdsInTwoTenantsNeverMeet) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  h.Apply(WonDeal("D-1", 0, 100'000, "acme"));
  h.Apply(InvoiceFor("I-1", "D-1", 5, 100'000, "globex"));
  auto out = h.AdvanceAll(Day(31));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tenant.value, "acme");
}

TEST(Tenants, WindowsComeFromTheTenant) {
  Harness h(
      {ExceptionKind::kMissingInvoice, ExceptionKind::kUnderBilled, ExceptionKind::kOverBilled});
  TenantRules quick;
  quick.invoice_window = 10 * kDay;
  h.tenants.tenants["globex"] = quick;
  h.Apply(WonDeal("D-1", 0, 100'000, "globex"));
  auto out = h.AdvanceAll(Day(11));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].deadline, Day(10));
}

TEST(Unpaid, OpensAfterDueDatePlusGrace) {
  Harness h({ExceptionKind::kUnpaid});
  h.Apply(WonDeal("D-1", 0, 300'000));
  h.Apply(InvoiceFor("I-1", "D-1", 2, 300'000));  // due day 32, grace 5d
  EXPECT_TRUE(h.AdvanceAll(Day(36)).empty());
  auto out = h.AdvanceAll(Day(38));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, ExceptionKind::kUnpaid);
  EXPECT_EQ(out[0].team, "collections");
  EXPECT_EQ(out[0].invoice.value, "I-1");
  EXPECT_EQ(out[0].deadline, Day(37));
  EXPECT_EQ(out[0].amount_at_risk_minor, 300'000);
}

TEST(Unpaid, PartialPaymentUpdatesAndFullPaymentRecovers) {
  Harness h({ExceptionKind::kUnpaid});
  h.Apply(InvoiceFor("I-1", "D-1", 0, 300'000));
  h.AdvanceAll(Day(36));
  h.Apply(PaymentFor("P-1", "I-1", 40, 100'000));
  auto out = h.AdvanceAll(Day(41));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].state, ExceptionState::kUpdated);
  EXPECT_EQ(out[0].amount_at_risk_minor, 200'000);
  EXPECT_EQ(out[0].recovered_minor, 100'000);
  h.Apply(PaymentFor("P-2", "I-1", 42, 200'000));
  out = h.AdvanceAll(Day(43));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
  EXPECT_EQ(out[0].recovered_minor, 300'000);
}

TEST(Unpaid, FailedPaymentDoesNotCountAndRefundReopens) {
  Harness h({ExceptionKind::kUnpaid});
  h.Apply(InvoiceFor("I-1", "D-1", 0, 300'000));
  Payment failed = PaymentFor("P-1", "I-1", 10, 300'000);
  failed.status = Payment::Status::kFailed;
  h.Apply(failed);
  Payment ok = PaymentFor("P-2", "I-1", 12, 300'000);
  h.Apply(ok);
  EXPECT_TRUE(h.AdvanceAll(Day(40)).empty());
  ok.status = Payment::Status::kRefunded;
  ok.event_time = Day(41);
  h.Apply(ok);
  auto out = h.AdvanceAll(Day(42));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].exception_id, "acme:UNPAID:I-1:1");
  EXPECT_EQ(out[0].amount_at_risk_minor, 300'000);
}

// The same documents in any order, with watermarks that never pass an event
// not yet delivered, give the same records.
TEST(Determinism, DeliveryOrderDoesNotChangeRecords) {
  std::vector<Document> docs = {WonDeal("D-1", 0, 1'000'000),
                                WonDeal("D-2", 3, 200'000),
                                WonDeal("D-3", 5, 50'000),
                                InvoiceFor("I-1", "D-1", 35, 400'000),
                                InvoiceFor("I-3", "D-3", 10, 50'000),
                                PaymentFor("P-1", "I-1", 80, 400'000),
                                PaymentFor("P-3", "I-3", 70, 20'000)};
  auto event_time = [](const Document& d) {
    return std::visit([](const auto& x) { return x.event_time; }, d);
  };
  auto source = [](const Document& d) {
    return static_cast<Source>(d.index() == 0 ? 0 : d.index() == 1 ? 1 : d.index() == 2 ? 2 : 3);
  };
  auto run = [&](std::vector<Document> order, unsigned seed) {
    Harness h;
    std::mt19937 rng(seed);
    std::vector<ExceptionRecord> all;
    auto take = [&](std::vector<ExceptionRecord> recs) {
      all.insert(all.end(), recs.begin(), recs.end());
    };
    // Each source delivers in event-time order; sources interleave randomly.
    std::stable_sort(order.begin(), order.end(), [&](const Document& a, const Document& b) {
      return event_time(a) < event_time(b);
    });
    std::vector<std::vector<Document>> queues(kSourceCount);
    for (const Document& d : order) queues[static_cast<int>(source(d))].push_back(d);
    std::vector<size_t> next(kSourceCount, 0);
    while (true) {
      std::vector<int> open;
      for (int s = 0; s < kSourceCount; ++s) {
        if (next[s] < queues[s].size()) open.push_back(s);
      }
      if (open.empty()) break;
      const int s = open[rng() % open.size()];
      const Document& d = queues[s][next[s]++];
      take(h.Apply(d));
      // The source's watermark reaches this event, or the next one's time.
      take(h.AdvanceSource(static_cast<Source>(s), event_time(d)));
    }
    take(h.AdvanceAll(Day(200)));
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return std::tie(a.exception_id, a.sequence) < std::tie(b.exception_id, b.sequence);
    });
    return all;
  };
  const auto reference = run(docs, 1);
  ASSERT_GE(reference.size(), 4u);
  for (unsigned seed = 2; seed < 60; ++seed) {
    EXPECT_EQ(run(docs, seed), reference) << "seed " << seed;
  }
}

}  // namespace
}  // namespace closeloop::matcher
