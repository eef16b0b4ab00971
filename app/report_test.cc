#include "app/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "app/report_test_fixture.h"
#include "matcher/money.h"

namespace closeloop::app {
namespace {

using matcher::ExceptionKind;
using matcher::ExceptionRecord;
using matcher::kDay;
using nlohmann::json;
using report_test::Day;
using report_test::Filters;
using report_test::Fixture;
using report_test::Open;

TEST(Report, BooksAndRealizationOverTheTrailingPeriod) {
  const json r = BuildReport(Fixture(), {});
  EXPECT_EQ(r["period"]["since"], "2026-03-12");  // day 100.5 - 90d, rounded down: day 10
  ASSERT_EQ(r["books"].size(), 2u);
  const json& acme = r["books"][0];
  EXPECT_EQ(acme["tenant"], "acme");
  EXPECT_EQ(acme["booked_minor"], 3'000'000);
  EXPECT_EQ(acme["billed_minor"], 2'500'000);
  EXPECT_EQ(acme["collected_minor"], 2'800'000);
  EXPECT_EQ(acme["deals"], 5);
  // Only the day-80 deals are in the trailing period: 1.8M / 2.0M.
  EXPECT_EQ(acme["period_booked_minor"], 2'000'000);
  EXPECT_DOUBLE_EQ(acme["realization_rate"].get<double>(), 0.9);
  EXPECT_TRUE(acme["below_target"].get<bool>());
  const json& globex = r["books"][1];
  EXPECT_EQ(globex["billed_minor"], 500'200);  // the lost deal's invoice counts in totals
  EXPECT_DOUBLE_EQ(globex["realization_rate"].get<double>(), 1.0);
  EXPECT_FALSE(globex["below_target"].get<bool>());
}

TEST(Report, PeriodStartIsTheTrailingPeriodBeforeAsOf) {
  ReportData d = Fixture();
  d.trailing_period = 30 * kDay;
  const json r = BuildReport(d, {});
  EXPECT_EQ(r["period"]["since"], matcher::FormatDate(Day(70)));
  EXPECT_EQ(r["period"]["by"], "trailing_period");
}

TEST(Report, ClosedSinceFiltersTheDealFigures) {
  const json r = BuildReport(Fixture(), Filters({{"closed_since", "2026-05-01"}}));
  EXPECT_EQ(r["period"]["by"], "closed_since");
  ASSERT_EQ(r["books"].size(), 2u);
  EXPECT_EQ(r["books"][0]["booked_minor"], 2'000'000);
  EXPECT_EQ(r["books"][1]["billed_minor"], 500'000);  // the lost deal has no close day
}

TEST(Report, OpenExceptionsByKindTeamWithAgeBuckets) {
  const json r = BuildReport(Fixture(), {});
  ASSERT_EQ(r["open_exceptions"].size(), 3u);
  const json& unpaid = r["open_exceptions"][1];
  EXPECT_EQ(unpaid["kind"], "UNPAID");
  EXPECT_EQ(unpaid["count"], 2);
  EXPECT_EQ(unpaid["amount_at_risk_minor"], 400'000);
  EXPECT_EQ(unpaid["age_buckets"], (json{{"0-7", 1}, {"8-30", 0}, {"31-90", 1}, {"90+", 0}}));
  EXPECT_EQ(r["open_exceptions"][0]["age_buckets"]["90+"], 1);  // MISSING_INVOICE, 95 days
}

// The buckets are 0-7, 8-30, 31-90 and over 90 days, both ends inclusive.
TEST(Report, AgeBucketBoundaries) {
  EXPECT_STREQ(AgeBucket(0), "0-7");
  EXPECT_STREQ(AgeBucket(7), "0-7");
  EXPECT_STREQ(AgeBucket(8), "8-30");
  EXPECT_STREQ(AgeBucket(30), "8-30");
  EXPECT_STREQ(AgeBucket(31), "31-90");
  EXPECT_STREQ(AgeBucket(90), "31-90");
  EXPECT_STREQ(AgeBucket(91), "90+");
  // In the report: exceptions opened 7, 8, 30, 31, 90 and 91 days before.
  ReportData d;
  d.as_of = Day(100) + std::chrono::hours(12);
  for (int age : {7, 8, 30, 31, 90, 91}) {
    d.open.push_back(Open("e" + std::to_string(age), "acme", ExceptionKind::kUnpaid, "collections",
                          1'000, "USD", 100 - age));
  }
  const json r = BuildReport(d, {});
  ASSERT_EQ(r["open_exceptions"].size(), 1u);
  EXPECT_EQ(r["open_exceptions"][0]["age_buckets"],
            (json{{"0-7", 1}, {"8-30", 2}, {"31-90", 2}, {"90+", 1}}));
}

// A deal closed on the first day of the period is in it, whether the period
// is the trailing one or closed_since.
TEST(Report, DealsClosedOnThePeriodsFirstDayAreInIt) {
  ReportData d;
  d.as_of = Day(100) + std::chrono::hours(12);  // trailing 90 days: since day 10
  d.days[{"acme", "USD", DayOf(Day(9))}] = {1'000'000, 0, 0, 1};
  d.days[{"acme", "USD", DayOf(Day(10))}] = {2'000'000, 0, 1'000'000, 1};
  const json r = BuildReport(d, {});
  ASSERT_EQ(r["books"].size(), 1u);
  EXPECT_EQ(r["books"][0]["period_booked_minor"], 2'000'000);
  EXPECT_EQ(r["books"][0]["period_collected_minor"], 1'000'000);
  const json since = BuildReport(d, Filters({{"closed_since", matcher::FormatDate(Day(10))}}));
  ASSERT_EQ(since["books"].size(), 1u);
  EXPECT_EQ(since["books"][0]["booked_minor"], 2'000'000);
  EXPECT_EQ(since["books"][0]["period_booked_minor"], 2'000'000);
}

// Exactly the target is not below it, in one report and in a merged one.
TEST(Report, RealizationAtTheTargetIsNotBelowIt) {
  ReportData d;
  d.as_of = Day(100);
  d.days[{"acme", "USD", DayOf(Day(95))}] = {1'000'000, 1'000'000, 950'000, 1};
  const json r = BuildReport(d, {});
  EXPECT_DOUBLE_EQ(r["books"][0]["realization_rate"].get<double>(), 0.95);
  EXPECT_FALSE(r["books"][0]["below_target"].get<bool>());
  auto merged = MergeReports({r, BuildReport(ReportData{.as_of = Day(100)}, {})});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_FALSE((*merged)["books"][0]["below_target"].get<bool>());
}

// The kind filter applies to recovered money and exception counts too.
TEST(Report, KindFilterAppliesToRecoveredAndCounts) {
  ReportData d = Fixture();
  d.recovered[{"acme", ExceptionKind::kMissingInvoice, "USD"}] = 5'000;
  d.counts[{"acme", ExceptionKind::kMissingInvoice}] = {.opened = 1};
  const json r = BuildReport(d, Filters({{"kind", "UNPAID"}}));
  ASSERT_EQ(r["recovered"].size(), 1u);
  EXPECT_EQ(r["recovered"][0]["kind"], "UNPAID");
  ASSERT_EQ(r["exception_counts"].size(), 1u);
  EXPECT_EQ(r["exception_counts"][0]["kind"], "UNPAID");
  EXPECT_EQ(BuildReport(d, {})["recovered"].size(), 2u);
}

// So does the team filter: what collections recovered is not billing's.
TEST(Report, TeamFilterAppliesToRecoveredAndCounts) {
  ReportData d = Fixture();
  d.recovered = {{{"acme", ExceptionKind::kUnpaid, "USD", "collections"}, 120'000},
                 {{"acme", ExceptionKind::kUnpaid, "USD", "billing"}, 30'000},
                 {{"acme", ExceptionKind::kMissingInvoice, "USD", "billing"}, 5'000}};
  d.counts = {{{"acme", ExceptionKind::kUnpaid, "collections"}, {.opened = 4}},
              {{"acme", ExceptionKind::kUnpaid, "billing"}, {.opened = 1}},
              {{"acme", ExceptionKind::kMissingInvoice, "billing"}, {.opened = 2}}};
  const json r = BuildReport(d, Filters({{"team", "collections"}}));
  ASSERT_EQ(r["recovered"].size(), 1u);
  EXPECT_EQ(r["recovered"][0]["recovered_minor"], 120'000);
  ASSERT_EQ(r["exception_counts"].size(), 1u);
  EXPECT_EQ(r["exception_counts"][0]["opened"], 4);
  // Without it, the teams are added up.
  const json all = BuildReport(d, Filters({{"kind", "UNPAID"}}));
  ASSERT_EQ(all["recovered"].size(), 1u);
  EXPECT_EQ(all["recovered"][0]["recovered_minor"], 150'000);
  ASSERT_EQ(all["exception_counts"].size(), 1u);
  EXPECT_EQ(all["exception_counts"][0]["opened"], 5);
}

TEST(Report, TopExceptionsByTimeWeightedLoss) {
  const json r = BuildReport(Fixture(), {});
  std::vector<std::string> ids;
  for (const json& e : r["top_exceptions"]) ids.push_back(e["exception_id"]);
  // By currency, then loss: g1 (EUR): 50,000 x 10; a3 (USD): 200,000 x 95
  // days; a2: 100,000 x 40; a1: 300,000 x 5.
  EXPECT_EQ(ids, (std::vector<std::string>{"g1", "a3", "a2", "a1"}));
  EXPECT_EQ(r["top_exceptions"][1]["time_weighted_loss"], 200'000 * 95);
}

// An exception opened after the report's as_of (another process's clock,
// or a source's event time ahead of now) is 0 days old, not negative.
// /v1/exceptions and the top list carry each field of the exception's
// record, as README lists them.
TEST(Report, AListedExceptionCarriesEachFieldOfItsRecord) {
  ExceptionRecord r =
      *Open("x1", "acme", ExceptionKind::kUnderBilled, "billing", 70'000, "USD", 90);
  r.state = matcher::ExceptionState::kEscalated;
  r.severity = matcher::Severity::kP2;
  r.recovered_minor = 30'000;
  r.deal = {"D-1"};
  r.order = {"O-1"};
  r.invoice = {"I-1"};
  r.customer = {"C-1"};
  r.customer_name = "Acme Corp";
  r.owner = "rep@example.com";
  r.confidence = 0.8;
  ReportData d;
  d.as_of = Day(100);
  d.open = {std::make_shared<const ExceptionRecord>(r)};
  const json listed = BuildExceptions(d, {});
  ASSERT_EQ(listed["exceptions"].size(), 1u);
  const json& e = listed["exceptions"][0];
  EXPECT_EQ(e["exception_id"], "x1");
  EXPECT_EQ(e["tenant"], "acme");
  EXPECT_EQ(e["kind"], "UNDER_BILLED");
  EXPECT_EQ(e["team"], "billing");
  EXPECT_EQ(e["state"], "ESCALATED");
  EXPECT_EQ(e["severity"], "P2");
  EXPECT_EQ(e["currency"], "USD");
  EXPECT_EQ(e["amount_at_risk_minor"], 70'000);
  EXPECT_EQ(e["recovered_minor"], 30'000);
  EXPECT_EQ(e["deal_id"], "D-1");
  EXPECT_EQ(e["order_id"], "O-1");
  EXPECT_EQ(e["invoice_id"], "I-1");
  EXPECT_EQ(e["customer_id"], "C-1");
  EXPECT_EQ(e["customer_name"], "Acme Corp");
  EXPECT_EQ(e["owner"], "rep@example.com");
  EXPECT_EQ(e["opened_at"], "2026-05-31T00:00:00Z");
  EXPECT_EQ(e["age_days"], 10);
  EXPECT_EQ(e["time_weighted_loss"], 700'000);
  EXPECT_DOUBLE_EQ(e["confidence"].get<double>(), 0.8);
  EXPECT_EQ(e["reason"], r.reason);
  EXPECT_EQ(BuildReport(d, {})["top_exceptions"][0], e);
}

// Equal time-weighted losses rank the larger amount first, then by id.
TEST(Report, EqualLossesRankTheLargerAmountFirst) {
  ReportData d;
  d.as_of = Day(100);
  d.open = {Open("a-small", "acme", ExceptionKind::kUnpaid, "collections", 100'000, "USD", 98),
            Open("z-large", "acme", ExceptionKind::kUnpaid, "collections", 200'000, "USD", 99)};
  const json listed = BuildExceptions(d, {});
  ASSERT_EQ(listed["exceptions"].size(), 2u);
  EXPECT_EQ(listed["exceptions"][0]["time_weighted_loss"],
            listed["exceptions"][1]["time_weighted_loss"]);
  EXPECT_EQ(listed["exceptions"][0]["exception_id"], "z-large");
  EXPECT_EQ(listed["exceptions"][1]["exception_id"], "a-small");
}

TEST(Report, AgeIsNeverNegative) {
  ReportData d;
  d.as_of = Day(10);
  d.open = {Open("f", "acme", ExceptionKind::kUnpaid, "collections", 1'000, "USD", 12)};
  EXPECT_EQ(AgeDays(*d.open[0], d.as_of), 0);
  const json listed = BuildExceptions(d, {});
  EXPECT_EQ(listed["exceptions"][0]["age_days"], 0);
}

// A record whose amount fell carries the loss of the larger amount; the
// report adds only the current amount's days since the record.
TEST(Report, TimeWeightedLossCarriesTheLossOfEarlierAmounts) {
  ReportData d = Fixture();
  ExceptionRecord r = *d.open[1];   // a2, opened day 60, 100,000 at risk
  r.amount_at_risk_minor = 10'000;  // since day 90, after 100,000 for 30 days
  r.age_days = 30;
  r.time_weighted_loss = 100'000 * 30;
  d.open[1] = std::make_shared<const ExceptionRecord>(r);
  const json top = BuildReport(d, {})["top_exceptions"];
  // g1 (EUR); a3: 19,000,000; a2: 3,000,000 + 10,000 x 10 = 3,100,000; a1:
  // 1,500,000.
  EXPECT_EQ(top[2]["exception_id"], "a2");
  EXPECT_EQ(top[2]["time_weighted_loss"], 100'000 * 30 + 10'000 * 10);
  EXPECT_EQ(top[2]["age_days"], 40);
}

TEST(Report, FiltersByTenantKindTeamAndMinAmount) {
  const ReportData d = Fixture();
  auto ids = [&](std::map<std::string, std::string> params) {
    std::vector<std::string> out;
    const json listed = BuildExceptions(d, Filters(params));
    for (const json& e : listed["exceptions"]) {
      out.push_back(e["exception_id"]);
    }
    return out;
  };
  EXPECT_EQ(ids({{"tenant", "globex"}}), std::vector<std::string>{"g1"});
  EXPECT_EQ(ids({{"kind", "UNPAID"}}), (std::vector<std::string>{"a2", "a1"}));
  EXPECT_EQ(ids({{"team", "billing"}}), (std::vector<std::string>{"g1", "a3"}));
  EXPECT_EQ(ids({{"min_amount", "1000.00"}}), (std::vector<std::string>{"a3", "a2", "a1"}));
  EXPECT_EQ(ids({{"min_amount", "1000.01"}}), (std::vector<std::string>{"a3", "a1"}));
  // Finer than a cent: USD 1,000.00 is less than 1000.001.
  EXPECT_EQ(ids({{"min_amount", "1000.001"}}), (std::vector<std::string>{"a3", "a1"}));
  EXPECT_EQ(ids({{"tenant", "acme"}, {"team", "collections"}, {"min_amount", "3000"}}),
            std::vector<std::string>{"a1"});
  const json r = BuildReport(d, Filters({{"tenant", "acme"}, {"kind", "UNPAID"}}));
  EXPECT_EQ(r["books"].size(), 1u);
  EXPECT_EQ(r["open_exceptions"].size(), 1u);
  EXPECT_EQ(r["recovered"].size(), 1u);
}

TEST(Report, MinAmountComparesInTheExceptionsCurrency) {
  ReportData d;
  d.as_of = Day(10);
  d.open = {Open("j", "acme", ExceptionKind::kUnpaid, "collections", 1000, "JPY", 1),
            Open("u", "acme", ExceptionKind::kUnpaid, "collections", 1000, "USD", 1)};
  const json r = BuildExceptions(d, Filters({{"min_amount", "500"}}));
  ASSERT_EQ(r["exceptions"].size(), 1u);  // JPY 1,000 passes; USD 10.00 does not
  EXPECT_EQ(r["exceptions"][0]["exception_id"], "j");
}

// /v1/exceptions lists at most `limit` exceptions, the first by rank, and
// says how many passed the filters: with hundreds of thousands open, the
// whole list was gigabytes while it was built.
TEST(Report, ExceptionsListsAtMostTheLimitAndCountsThemAll) {
  const ReportData d = Fixture();
  auto take = [](std::map<std::string, std::string> params) {
    auto limit = TakeLimit(params);
    EXPECT_TRUE(limit.ok()) << limit.status();
    EXPECT_FALSE(params.contains("limit"));
    return *limit;
  };
  const json two = BuildExceptions(d, Filters({{"tenant", "acme"}}), take({{"limit", "2"}}));
  EXPECT_EQ(two["total"], 3);
  ASSERT_EQ(two["exceptions"].size(), 2u);
  EXPECT_EQ(two["exceptions"][0]["exception_id"], "a3");
  EXPECT_EQ(two["exceptions"][1]["exception_id"], "a2");
  EXPECT_EQ(BuildExceptions(d, {}, take({}))["exceptions"].size(), 4u);

  ReportData many;
  many.as_of = Day(10);
  for (size_t i = 0; i <= kExceptionsLimit; ++i) {
    many.open.push_back(Open("e" + std::to_string(i), "acme", ExceptionKind::kUnpaid, "collections",
                             1'000, "USD", 1));
  }
  const json listed = BuildExceptions(many, {}, take({}));
  EXPECT_EQ(listed["total"], kExceptionsLimit + 1);
  EXPECT_EQ(listed["exceptions"].size(), kExceptionsLimit);
  EXPECT_EQ(BuildExceptions(many, {},
                            take({{"limit", std::to_string(kExceptionsMaxLimit)}}))["exceptions"]
                .size(),
            kExceptionsLimit + 1);
}

TEST(Report, ABadLimitIsNamed) {
  for (const std::string& value : std::vector<std::string>{
           "0", "-1", "ten", "5x", "", std::to_string(kExceptionsMaxLimit + 1)}) {
    std::map<std::string, std::string> params{{"limit", value}};
    auto limit = TakeLimit(params);
    ASSERT_FALSE(limit.ok()) << value;
    EXPECT_NE(limit.status().message().find("limit"), std::string::npos) << limit.status();
  }
}

// README: limit is 1 to 10,000, default 1,000; both ends are taken.
TEST(Report, LimitTakesBothEndsOfItsRange) {
  for (const size_t value : {size_t{1}, kExceptionsMaxLimit}) {
    std::map<std::string, std::string> params{{"limit", std::to_string(value)}, {"tenant", "a"}};
    auto limit = TakeLimit(params);
    ASSERT_TRUE(limit.ok()) << value << " " << limit.status();
    EXPECT_EQ(*limit, value);
    EXPECT_EQ(params, (std::map<std::string, std::string>{{"tenant", "a"}})) << "taken out";
  }
  std::map<std::string, std::string> none;
  EXPECT_EQ(*TakeLimit(none), kExceptionsLimit);
}

TEST(Report, BadFiltersNameTheParameter) {
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"kind", "UNPAIDX"},
                                                        {"closed_since", "2026-02-30"},
                                                        {"closed_since", "yesterday"},
                                                        {"min_amount", "-5"},
                                                        {"min_amount", "1e3"},
                                                        {"min_amount", "1.0000001"},
                                                        {"colour", "red"},
                                                        {"tenant", ""},
                                                        {"team", ""}}) {
    auto f = ParseFilters({{name, value}});
    ASSERT_FALSE(f.ok()) << name << "=" << value;
    EXPECT_NE(f.status().message().find(name), std::string::npos) << f.status();
  }
}

// min_amount is held in millionths in an int64: twelve digits before the
// point fit, more could overflow it (13 nines are 9.999e18 millionths) and
// are refused.
TEST(Report, MinAmountOfMoreThanTwelveWholeDigitsIsRefused) {
  auto f = ParseFilters({{"min_amount", "999999999999.999999"}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->min_amount_micros, 999'999'999'999'999'999);
  for (const char* value : {"1000000000000", "9999999999999", "99999999999999999"}) {
    const auto refused = ParseFilters({{"min_amount", value}});
    ASSERT_FALSE(refused.ok()) << value;
    // The message names the bound that was crossed, not only the decimals.
    EXPECT_NE(refused.status().message().find("at most 12 digits before the point"),
              std::string::npos)
        << refused.status();
  }
}

// The fixture's books split over two processes, acme in both.
std::pair<ReportData, ReportData> SplitFixture() {
  const ReportData all = Fixture();
  ReportData a{.as_of = all.as_of}, b{.as_of = all.as_of};
  a.days[{"acme", "USD", DayOf(Day(0))}] = all.days.at({"acme", "USD", DayOf(Day(0))});
  b.days[{"acme", "USD", DayOf(Day(80))}] = all.days.at({"acme", "USD", DayOf(Day(80))});
  a.days[{"globex", "EUR", DayOf(Day(95))}] = all.days.at({"globex", "EUR", DayOf(Day(95))});
  b.days[{"globex", "EUR", kNoCloseDay}] = all.days.at({"globex", "EUR", kNoCloseDay});
  a.open = {all.open[0], all.open[3]};
  b.open = {all.open[1], all.open[2]};
  a.recovered[{"acme", ExceptionKind::kUnpaid, "USD"}] = 100'000;
  b.recovered[{"acme", ExceptionKind::kUnpaid, "USD"}] = 20'000;
  a.counts[{"acme", ExceptionKind::kUnpaid}] = {.opened = 3,
                                                .resolved = {{matcher::Resolution::kRecovered, 2}}};
  b.counts[{"acme", ExceptionKind::kUnpaid}] = {.opened = 1};
  return {a, b};
}

TEST(MergeReports, EqualsTheReportOfAllTheBooks) {
  const auto [a, b] = SplitFixture();
  for (const auto& params : std::vector<std::map<std::string, std::string>>{
           {}, {{"tenant", "acme"}}, {{"kind", "UNPAID"}}, {{"closed_since", "2026-05-01"}}}) {
    const ReportFilters f = Filters(params);
    auto merged = MergeReports({BuildReport(a, f), BuildReport(b, f)});
    ASSERT_TRUE(merged.ok()) << merged.status();
    EXPECT_EQ(*merged, BuildReport(Fixture(), f)) << json(params).dump();
  }
}

TEST(MergeReports, AsOfIsTheEarliestAndTheTopIsCut) {
  auto [a, b] = SplitFixture();
  for (int i = 0; i < 12; ++i) {
    b.open.push_back(Open("b" + std::to_string(i), "acme", ExceptionKind::kUnpaid, "collections",
                          1'000'000 + i, "USD", 50));
  }
  b.as_of += std::chrono::minutes(1);
  auto merged = MergeReports({BuildReport(b, {}), BuildReport(a, {})});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ((*merged)["as_of"], FormatTimestamp(a.as_of));
  // Ten of USD's fourteen, and EUR's one, first.
  ASSERT_EQ((*merged)["top_exceptions"].size(), kTopExceptions + 1);
  EXPECT_EQ((*merged)["top_exceptions"][0]["exception_id"], "g1");
  EXPECT_EQ((*merged)["top_exceptions"][1]["exception_id"], "b11");
}

TEST(MergeReports, RefusesDifferentPeriodsAndMissingFields) {
  const auto [a, b] = SplitFixture();
  auto different =
      MergeReports({BuildReport(a, {}), BuildReport(b, Filters({{"closed_since", "2026-05-01"}}))});
  ASSERT_FALSE(different.ok());
  EXPECT_NE(different.status().message().find("different periods"), std::string::npos)
      << different.status();
  json broken = BuildReport(b, {});
  broken["books"][0].erase("tenant");
  EXPECT_FALSE(MergeReports({BuildReport(a, {}), broken}).ok());
  EXPECT_FALSE(MergeReports({}).ok());
}

}  // namespace
}  // namespace closeloop::app
