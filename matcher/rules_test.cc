// The rules other than billing and payment, each through the engine.
#include <gtest/gtest.h>

#include "matcher/engine_testing.h"

namespace closeloop::matcher {
namespace {

const EventTime kT0 = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 1 / 1));
EventTime Day(int d) { return kT0 + d * kDay; }

// One rule's records, with the watermarks of every source at `day`.
class Rig : public TestEngine {
 public:
  explicit Rig(ExceptionKind kind) : TestEngine({kind}) {}
  std::vector<ExceptionRecord> At(int day) { return AdvanceAll(Day(day)); }
};

Deal MakeDeal(int close_day, int64_t amount = 500'000) {
  Deal d;
  d.tenant = {"acme"};
  d.id = {"D-1"};
  d.stage = "Closed Won";
  d.amount_minor = amount;
  d.currency = "USD";
  d.customer = {"C-1"};
  d.owner = "rep@acme";
  d.close_time = d.event_time = Day(close_day);
  return d;
}

Order MakeOrder(int day, const std::string& deal = "D-1") {
  Order o;
  o.tenant = {"acme"};
  o.id = {"SO-1"};
  o.deal = {deal};
  o.amount_minor = 500'000;
  o.currency = "USD";
  o.event_time = Day(day);
  return o;
}

Invoice MakeInvoice(int day) {
  Invoice i;
  i.tenant = {"acme"};
  i.id = {"I-1"};
  i.amount_minor = 500'000;
  i.currency = "USD";
  i.issue_time = i.event_time = Day(day);
  return i;
}

TEST(MissingOrder, OpensAfterOrderWindowAndRecoversWhenTheOrderArrives) {
  Rig rig(ExceptionKind::kMissingOrder);
  rig.Apply(MakeDeal(0));
  EXPECT_TRUE(rig.At(2).empty());
  auto out = rig.At(4);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].deadline, Day(3));
  EXPECT_EQ(out[0].team, "revops");
  EXPECT_EQ(out[0].amount_at_risk_minor, 500'000);
  rig.Apply(MakeOrder(5));
  out = rig.At(6);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
  EXPECT_EQ(out[0].effective_at, Day(5));
}

TEST(MissingOrder, NotRaisedWhenTheTenantNeedsNoOrders) {
  Rig rig(ExceptionKind::kMissingOrder);
  rig.tenants.defaults.require_order = false;
  rig.Apply(MakeDeal(0));
  EXPECT_TRUE(rig.At(30).empty());
}

TEST(MissingOrder, CancelledOrderDoesNotCount) {
  Rig rig(ExceptionKind::kMissingOrder);
  rig.Apply(MakeDeal(0));
  Order o = MakeOrder(1);
  o.status = Order::Status::kCancelled;
  rig.Apply(o);
  EXPECT_EQ(rig.At(4).size(), 1u);
}

TEST(NotBillable, OpensAtCloseWithoutARequiredFieldAndRecoversWhenItArrives) {
  Rig rig(ExceptionKind::kNotBillable);
  rig.tenants.defaults.required_fields = {"po_number", "vat_id"};
  Deal d = MakeDeal(0);
  d.vat_id = "DE123";
  rig.Apply(d);
  auto out = rig.At(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].team, "sales");
  EXPECT_EQ(out[0].owner, "rep@acme");
  EXPECT_NE(out[0].reason.find("has no po_number"), std::string::npos) << out[0].reason;
  d.po_number = "PO-9";
  d.event_time = Day(2);
  rig.Apply(d);
  out = rig.At(3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
}

TEST(NotBillable, OpensWhenALaterVersionDropsARequiredField) {
  Rig rig(ExceptionKind::kNotBillable);
  rig.tenants.defaults.required_fields = {"po_number"};
  Deal d = MakeDeal(0);
  d.po_number = "PO-1";
  rig.Apply(d);
  EXPECT_TRUE(rig.At(3).empty());
  d.po_number = "";
  d.event_time = Day(5);
  rig.Apply(d);
  EXPECT_TRUE(rig.At(4).empty());
  auto out = rig.At(6);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].effective_at, Day(5));
}

TEST(NotBillable, AnIssuedInvoiceResolvesIt) {
  Rig rig(ExceptionKind::kNotBillable);
  rig.tenants.defaults.required_fields = {"po_number"};
  rig.Apply(MakeDeal(0));
  ASSERT_EQ(rig.At(1).size(), 1u);
  Invoice i = MakeInvoice(2);
  i.deal = {"D-1"};
  rig.Apply(i);
  auto out = rig.At(3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
}

TEST(OrphanOrder, OpensWhenNoDealAppearsWithinTheWindow) {
  Rig rig(ExceptionKind::kOrphanOrder);
  rig.Apply(MakeOrder(0, "D-404"));
  EXPECT_TRUE(rig.At(6).empty());
  auto out = rig.At(8);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].order.value, "SO-1");
  EXPECT_EQ(out[0].deadline, Day(7));
  EXPECT_NE(out[0].reason.find("D-404, which does not exist"), std::string::npos) << out[0].reason;
}

TEST(OrphanOrder, AnOrderBeforeItsDealWaitsForIt) {
  Rig rig(ExceptionKind::kOrphanOrder);
  rig.Apply(MakeOrder(0));
  rig.At(3);
  rig.Apply(MakeDeal(4));
  EXPECT_TRUE(rig.At(30).empty());
}

TEST(OrphanOrder, TheDealArrivingLateRecoversIt) {
  Rig rig(ExceptionKind::kOrphanOrder);
  rig.Apply(MakeOrder(0));
  ASSERT_EQ(rig.At(8).size(), 1u);
  auto out = rig.Apply(MakeDeal(6));  // event time before the deadline, delivered after
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
}

TEST(OrphanInvoice, OpensWhenItReferencesNothingKnown) {
  Rig rig(ExceptionKind::kOrphanInvoice);
  rig.Apply(MakeInvoice(0));
  auto out = rig.At(8);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].amount_at_risk_minor, 500'000);
  Invoice voided = MakeInvoice(0);
  voided.status = Invoice::Status::kVoid;
  voided.event_time = Day(9);
  rig.Apply(voided);
  out = rig.At(10);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kWithdrawn);
}

TEST(OrphanInvoice, LinkedThroughAnOrderIsNotOrphan) {
  Rig rig(ExceptionKind::kOrphanInvoice);
  Invoice i = MakeInvoice(2);
  i.order = {"SO-1"};
  rig.Apply(i);
  rig.Apply(MakeOrder(1));
  EXPECT_TRUE(rig.At(30).empty());
}

TEST(TermsMismatch, CurrencyDifferentFromTheDeal) {
  Rig rig(ExceptionKind::kTermsMismatch);
  rig.Apply(MakeDeal(0));
  Invoice i = MakeInvoice(2);
  i.deal = {"D-1"};
  i.currency = "EUR";
  rig.Apply(i);
  auto out = rig.At(3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].invoice.value, "I-1");
  EXPECT_EQ(out[0].currency, "EUR");
  EXPECT_NE(out[0].reason.find("is in EUR but the deal is in USD"), std::string::npos);
}

TEST(TermsMismatch, PaymentTermsDifferentFromTheDeal) {
  Rig rig(ExceptionKind::kTermsMismatch);
  Deal d = MakeDeal(0);
  d.payment_terms_days = 30;
  rig.Apply(d);
  Invoice i = MakeInvoice(2);
  i.order = {"SO-1"};
  i.due_time = Day(2 + 60);
  rig.Apply(MakeOrder(1));
  rig.Apply(i);
  auto out = rig.At(3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].reason.find("gives 60 days to pay but the deal agreed 30"), std::string::npos)
      << out[0].reason;
  i.due_time = Day(2 + 30);
  i.event_time = Day(4);
  rig.Apply(i);
  out = rig.At(5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resolution, Resolution::kRecovered);
}

// Milestones given out of order: what is due by a day is the sum of the
// milestones due by then, and the deadline named is the latest of those.
TEST(MissingInvoice, MilestonesOutOfOrderAddUpByDeadline) {
  Rig rig(ExceptionKind::kMissingInvoice);
  rig.tenants.defaults.milestone_grace = 5 * kDay;
  Deal d = MakeDeal(0);
  d.billing_plan.kind = BillingPlan::Kind::kMilestones;
  d.billing_plan.milestones = {{Day(60), 300'000}, {Day(10), 100'000}, {Day(30), 100'000}};
  rig.Apply(d);
  auto out = rig.At(16);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].amount_at_risk_minor, 100'000);
  EXPECT_EQ(out[0].deadline, Day(15));
  out = rig.At(36);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().amount_at_risk_minor, 200'000);
  EXPECT_EQ(out.back().deadline, Day(35));
  out = rig.At(66);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().amount_at_risk_minor, 500'000);
  EXPECT_EQ(out.back().deadline, Day(65));
}

}  // namespace
}  // namespace closeloop::matcher
