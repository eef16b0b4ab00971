// Property test of the matcher (SPEC §6): for generated sample companies, any
// honest delivery (sources split into partitions, each partition in event-time
// order, partitions and sources interleaved at random, random batch sizes,
// watermarks advanced at random moments but never past what was delivered,
// exact duplicates re-delivered) gives the same exception records, and the same
// final books figures per deal, as the reference run in global event-time
// order. The reference run must also raise
// exactly the sample's planted problems with their exact amounts. With the
// matcher's quiet-until bounds off (EngineOptions), the reference run and the
// first interleavings must give the same again: the bounds only spare work.
//
// CLOSELOOP_PROPERTY_PERMUTATIONS=N runs N permutations per company instead of
// the default (the default run covers kCompanies x kPermutations = 2,000).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/property_runs.h"

namespace closeloop {
namespace {

using matcher::ExceptionRecord;
using property::Company;
using property::Describe;
using property::Difference;
using property::FiguresFold;
using property::MakeCompany;
using property::MakeFullCompany;
using property::Outcome;
using property::Permuted;
using property::Reference;
using property::ReferenceRun;
using property::Rejections;
using property::RunLog;

constexpr int kCompanies = 20;
constexpr int kPermutations = 100;  // per company
static_assert(kCompanies * kPermutations >= 1000, "the matcher issue asks for 1,000 at least");

// The id of what an exception is about, as PlantedProblem::subject_id names it.
const matcher::Text& SubjectOf(const ExceptionRecord& r) {
  switch (r.kind) {
    case matcher::ExceptionKind::kUnpaid:
    case matcher::ExceptionKind::kTermsMismatch:
    case matcher::ExceptionKind::kOrphanInvoice:
      return r.invoice.value;
    case matcher::ExceptionKind::kOrphanOrder:
      return r.order.value;
    case matcher::ExceptionKind::kNotBillable:
    case matcher::ExceptionKind::kMissingOrder:
    case matcher::ExceptionKind::kMissingInvoice:
    case matcher::ExceptionKind::kUnderBilled:
    case matcher::ExceptionKind::kOverBilled:
      return r.deal.value;
  }
  return r.deal.value;
}

int PermutationsPerCompany() {
  if (const char* env = std::getenv("CLOSELOOP_PROPERTY_PERMUTATIONS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return kPermutations;
}

// ---------------------------------------------------------------------------
// Tests.

class Property : public testing::TestWithParam<uint32_t> {};

TEST_P(Property, AnyHonestDeliveryGivesTheReferenceRecords) {
  const Company c = MakeFullCompany(GetParam());
  const matcher::TenantDirectory dir = app::SampleTenants(c.sample);
  const Outcome reference = Reference(c, dir);
  const std::vector<ExceptionRecord>& records = reference.records;
  ASSERT_FALSE(records.empty()) << "seed " << c.seed << ": the sample raised nothing";
  ASSERT_TRUE(reference.figures.error.empty())
      << "seed " << c.seed << ": " << reference.figures.error;
  ASSERT_FALSE(reference.figures.last.empty()) << "seed " << c.seed << ": no figures reported";
  for (size_t i = 1; i < records.size(); ++i) {
    ASSERT_FALSE(records[i - 1].exception_id == records[i].exception_id &&
                 records[i - 1].sequence == records[i].sequence)
        << "seed " << c.seed << ": (exception_id, sequence) must identify a record:\n  "
        << Describe(records[i - 1]) << "\n  " << Describe(records[i]);
  }
  const int permutations = PermutationsPerCompany();
  for (int perm = 0; perm < permutations; ++perm) {
    RunLog log;
    const Outcome got = Permuted(c, dir, perm, log);
    ASSERT_TRUE(log.left_due.empty())
        << "seed " << c.seed << ", permutation " << perm << " (" << log.ToString()
        << "): Advance said done with a timer due: " << log.left_due;
    const std::string diff = Difference(reference, got);
    ASSERT_TRUE(diff.empty()) << "seed " << c.seed << ", permutation " << perm << " ("
                              << log.ToString() << "; " << c.docs.size() << " documents):\n"
                              << diff;
  }
}

// The quiet-until bounds (rules.h) let a slot skip the event times at which
// its rule can find nothing, given the documents known: they must spare work
// and change nothing. Without them, the reference run and the first honest
// deliveries give the reference run's records, figures and refusals.
TEST_P(Property, TheQuietUntilBoundsChangeNothing) {
  const Company c = MakeFullCompany(GetParam());
  const matcher::TenantDirectory dir = app::SampleTenants(c.sample);
  const Outcome reference = Reference(c, dir);
  const matcher::EngineOptions without{.quiet_bounds = false};
  EXPECT_EQ(Difference(reference, Reference(c, dir, without)), "")
      << "seed " << c.seed << ": the reference run without the bounds";
  for (int perm = 0; perm < 10; ++perm) {
    RunLog log;
    const Outcome got = Permuted(c, dir, perm, log, without);
    EXPECT_EQ(Difference(reference, got), "") << "seed " << c.seed << ", permutation " << perm
                                              << " (" << log.ToString() << ") without the bounds";
  }
}

// A late document (delivered after the watermarks passed it) is judged by
// where the slots it changes stand when it arrives (SPEC §5: it resolves as
// RECOVERED then, it does not rewrite history), and SPEC §9 promises the same
// records whatever the delivery timing: watermark steps taken between two
// deliveries, with no document in between, must change nothing. A slot not
// touched by the last steps still stands at the watermark.
TEST_P(Property, LateDocumentsDoNotDependOnTheWatermarkStepsBetweenDeliveries) {
  const Company c = MakeCompany(GetParam());
  const matcher::TenantDirectory dir = app::SampleTenants(c.sample);
  size_t late_total = 0;
  for (int perm = 0; perm < 50; ++perm) {
    size_t late = 0;
    const Outcome coarse = LateDeliveries(c, dir, perm, false, late);
    const Outcome fine = LateDeliveries(c, dir, perm, true, late);
    late_total += late;
    ASSERT_EQ(Difference(coarse, fine), "")
        << "seed " << c.seed << ", permutation " << perm << ": " << late
        << " late documents; records of one watermark step per batch (first), of several (second)";
  }
  EXPECT_GT(late_total, 0u);
}

// Every company shows what the property is about: each exception kind, each
// lifecycle state and resolution, fuzzy links, and each way a command is
// refused, so that no seed checks determinism on a company that has none of
// it.
TEST_P(Property, EveryCompanyExercisesEveryRule) {
  const Company c = MakeFullCompany(GetParam());
  Rejections rejections;
  FiguresFold figures;
  const std::vector<ExceptionRecord> records =
      ReferenceRun(c, app::SampleTenants(c.sample), &figures, &rejections);
  // Fuzzy links: made with one candidate (the deal's figures count the
  // invoice, or the invoice through the order), not with two.
  for (const char* tenant : {"acme", "globex"}) {
    for (const char* deal : {"X-FI", "X-FO", "X-TW1", "X-TW2"}) {
      const auto it = figures.last.find({tenant, deal});
      ASSERT_NE(it, figures.last.end()) << "seed " << c.seed << ": no figures for " << deal;
      EXPECT_EQ(it->second.billed_minor > 0, deal[2] == 'F')
          << "seed " << c.seed << ": " << Describe(it->first, it->second);
    }
  }
  std::set<std::string> seen;
  for (const ExceptionRecord& r : records) {
    seen.insert(r.tenant.value + " kind " + matcher::KindName(r.kind));
    seen.insert(std::string("state ") + matcher::StateName(r.state));
    seen.insert(std::string("resolution ") + matcher::ResolutionName(r.resolution));
    if (r.confidence < 1) seen.insert("fuzzy");
    if (r.reason.find("dismissed before is at risk now") != std::string::npos) {
      seen.insert("raised again after a dismissal");
    }
  }
  for (const std::string& r : rejections) seen.insert("refused " + r.substr(r.find(": ") + 2));
  std::vector<std::string> want = {"state OPEN",
                                   "state UPDATED",
                                   "state ESCALATED",
                                   "state RESOLVED",
                                   "state ACKNOWLEDGED",
                                   "state SNOOZED",
                                   "resolution RECOVERED",
                                   "resolution SUPERSEDED",
                                   "resolution WITHDRAWN",
                                   "resolution DISMISSED",
                                   "refused 0",
                                   "refused 1",
                                   "refused 2"};
  for (int k = 0; k <= static_cast<int>(matcher::ExceptionKind::kOrphanInvoice); ++k) {
    const char* kind = matcher::KindName(static_cast<matcher::ExceptionKind>(k));
    want.push_back(std::string("acme kind ") + kind);
    if (k != static_cast<int>(matcher::ExceptionKind::kNotBillable) &&
        k != static_cast<int>(matcher::ExceptionKind::kMissingOrder)) {
      want.push_back(std::string("globex kind ") + kind);  // requires no PO, no order
    }
  }
  for (const std::string& w : want) {
    EXPECT_TRUE(seen.count(w)) << "seed " << c.seed << ": nothing shows " << w;
  }
}

// On the sample company alone (the extra documents plant no problems).
TEST_P(Property, ReferenceRunRaisesExactlyThePlantedProblems) {
  const Company c = MakeCompany(GetParam(), /*extras=*/false);
  const std::vector<ExceptionRecord> records = ReferenceRun(c, app::SampleTenants(c.sample));
  ASSERT_FALSE(c.sample.planted.empty());

  // The last record of each exception (records are sorted by id, sequence).
  std::map<std::string, const ExceptionRecord*> last;
  for (const ExceptionRecord& r : records) last[r.exception_id] = &r;
  using Key = std::tuple<std::string, std::string, std::string>;  // tenant, kind, subject
  std::map<Key, const ExceptionRecord*> open;
  for (const auto& [id, r] : last) {
    if (r->state == matcher::ExceptionState::kResolved) continue;
    const std::string& subject = SubjectOf(*r);
    const auto [it, fresh] =
        open.emplace(Key{r->tenant.value, matcher::KindName(r->kind), subject}, r);
    EXPECT_TRUE(fresh) << "seed " << c.seed << ": two open exceptions on one subject:\n  "
                       << Describe(*it->second) << "\n  " << Describe(*r);
  }
  std::map<Key, int64_t> planted;
  for (const app::PlantedProblem& p : c.sample.planted) {
    planted[{p.tenant, matcher::KindName(p.kind), p.subject_id}] = p.amount_at_risk_minor;
  }
  for (const auto& [key, amount] : planted) {
    const auto& [tenant, kind, subject] = key;
    auto it = open.find(key);
    if (it == open.end()) {
      ADD_FAILURE() << "seed " << c.seed << ": planted " << kind << " on " << tenant << "/"
                    << subject << " (" << amount << ") is not open at the end";
      continue;
    }
    EXPECT_EQ(it->second->amount_at_risk_minor, amount)
        << "seed " << c.seed << ": planted " << kind << " on " << tenant << "/" << subject
        << ", open with another amount: " << Describe(*it->second);
  }
  for (const auto& [key, r] : open) {
    EXPECT_TRUE(planted.count(key))
        << "seed " << c.seed << ": open at the end but not planted: " << Describe(*r);
  }
}

INSTANTIATE_TEST_SUITE_P(SampleCompanies, Property, testing::Range<uint32_t>(1, 1 + kCompanies),
                         [](const testing::TestParamInfo<uint32_t>& info) {
                           return "Seed" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace closeloop
