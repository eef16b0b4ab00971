#include "app/sample_company.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

namespace closeloop::app {
namespace {

const matcher::EventTime kNow =
    matcher::EventTime(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23));

TEST(SampleCompany, IsDeterministicForASeed) {
  const SampleCompany a = GenerateSampleCompany({.seed = 7, .now = kNow});
  const SampleCompany b = GenerateSampleCompany({.seed = 7, .now = kNow});
  ASSERT_EQ(a.events.size(), b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a.events[i], b.events[i])) << i;
  }
  EXPECT_EQ(a.planted.size(), b.planted.size());
}

TEST(SampleCompany, PlantsEveryKindWhereTheTenantsRulesAllowIt) {
  const SampleCompany c = GenerateSampleCompany({.seed = 42, .now = kNow});
  std::map<std::pair<std::string, matcher::ExceptionKind>, int> count;
  for (const PlantedProblem& p : c.planted) {
    ++count[{p.tenant, p.kind}];
    EXPECT_GT(p.amount_at_risk_minor, 0);
  }
  using K = matcher::ExceptionKind;
  for (const char* tenant : {"acme", "globex"}) {
    for (K kind : {K::kMissingInvoice, K::kUnderBilled, K::kOverBilled, K::kTermsMismatch,
                   K::kUnpaid, K::kOrphanOrder, K::kOrphanInvoice}) {
      EXPECT_GT((count[{tenant, kind}]), 0) << tenant << " " << matcher::KindName(kind);
    }
  }
  // Only acme requires a PO and an ERP order.
  EXPECT_GT((count[{"acme", K::kNotBillable}]), 0);
  EXPECT_GT((count[{"acme", K::kMissingOrder}]), 0);
  EXPECT_EQ((count[{"globex", K::kNotBillable}]), 0);
  EXPECT_EQ((count[{"globex", K::kMissingOrder}]), 0);
  EXPECT_EQ(c.bad_records.size(), 6u);
}

TEST(SampleCompany, SomeHealthyDealsAreBilledWithoutReferences) {
  const SampleCompany c = GenerateSampleCompany({.seed = 42, .now = kNow});
  int unreferenced = 0;
  for (const v1::Event& e : c.events) {
    if (e.has_invoice() && e.invoice().deal_id().empty() && e.invoice().order_id().empty() &&
        e.invoice().customer_id().starts_with("C-SOLO-")) {
      ++unreferenced;
    }
  }
  // Fuzzy matching must link these; the demo and property tests fail if not.
  EXPECT_GE(unreferenced, 5);
}

TEST(SampleCompany, EventsAreInEventTimeOrderAndInThePast) {
  const SampleCompany c = GenerateSampleCompany({.seed = 42, .now = kNow});
  int64_t last = INT64_MIN;
  for (const v1::Event& e : c.events) {
    const auto& ts = e.has_deal()      ? e.deal().event_time()
                     : e.has_order()   ? e.order().event_time()
                     : e.has_invoice() ? e.invoice().event_time()
                                       : e.payment().event_time();
    EXPECT_GE(ts.seconds(), last);
    last = ts.seconds();
    EXPECT_LE(ts.seconds(),
              std::chrono::duration_cast<std::chrono::seconds>(kNow.time_since_epoch()).count());
  }
}

}  // namespace
}  // namespace closeloop::app
