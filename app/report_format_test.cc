#include "app/report_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "app/report_test_fixture.h"

namespace closeloop::app {
namespace {

using matcher::ExceptionKind;
using matcher::ExceptionRecord;
using nlohmann::json;
using report_test::Day;
using report_test::Filters;
using report_test::Fixture;
using report_test::Open;

TEST(ReportFormat, Table) {
  ReportData d = Fixture();
  d.open.resize(2);
  const json r = BuildReport(d, Filters({{"tenant", "acme"}}));
  auto text = FormatReport(r, ReportFormat::kTable);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "closeloop report as of 2026-06-10T12:00:00Z (realization over deals closed since "
            "2026-03-12, trailing period)\n"
            "\n"
            "BOOKS\n"
            "  tenant currency deals        booked        billed     collected realization flag\n"
            "  acme   USD          5 USD 30,000.00 USD 25,000.00 USD 28,000.00       90.0% BELOW "
            "95%\n"
            "\n"
            "OPEN EXCEPTIONS (amount at risk; count by age in days)\n"
            "  tenant kind   team        count amount_at_risk 0-7d 8-30d 31-90d 90+d\n"
            "  acme   UNPAID collections     2   USD 4,000.00    1     0      1    0\n"
            "\n"
            "RECOVERED\n"
            "  tenant kind      recovered\n"
            "  acme   UNPAID USD 1,200.00\n"
            "\n"
            "TOP EXCEPTIONS BY TIME-WEIGHTED LOSS (amount x days open)\n"
            "  rank exception_id kind   team        amount_at_risk age_days     loss_days reason\n"
            "     1 a2           UNPAID collections   USD 1,000.00       40 USD 40,000.00 Invoice "
            "a2, USD 1,000.00 short.\n"
            "     2 a1           UNPAID collections   USD 3,000.00        5 USD 15,000.00 Invoice "
            "a1, USD 1,000.00 short.\n");
}

TEST(ReportFormat, CsvQuotesAndUsesPlainMajorUnits) {
  ReportData d = Fixture();
  d.open.resize(1);
  const json r = BuildReport(d, Filters({{"tenant", "acme"}}));
  auto text = FormatReport(r, ReportFormat::kCsv);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(
      *text,
      "section,tenant,currency,deals,booked,billed,collected,realization,flag\n"
      "books,acme,USD,5,30000.00,25000.00,28000.00,90.0%,BELOW 95%\n"
      "\n"
      "section,tenant,kind,team,currency,count,amount_at_risk,0-7d,8-30d,31-90d,90+d\n"
      "open_exceptions,acme,UNPAID,collections,USD,1,3000.00,1,0,0,0\n"
      "\n"
      "section,tenant,kind,currency,recovered\n"
      "recovered,acme,UNPAID,USD,1200.00\n"
      "\n"
      "section,rank,exception_id,kind,team,currency,amount_at_risk,age_days,loss_days,reason\n"
      "top_exceptions,1,a1,UNPAID,collections,USD,3000.00,5,15000.00,\"Invoice a1, USD "
      "1,000.00 short.\"\n");
}

// A CSV cell with a quote, comma or line break (LF or CR: RFC 4180 quotes
// both, and a bare CR splits the row for a reader too) is quoted, its quotes
// doubled, so a reason cannot split or shift a row.
TEST(ReportFormat, CsvQuotesQuotesAndLineBreaks) {
  ReportData d;
  d.as_of = Day(100);
  ExceptionRecord r = *Open("q", "acme", ExceptionKind::kUnpaid, "collections", 1'000, "USD", 99);
  r.reason = "Invoice \"INV-7\" short";
  d.open = {std::make_shared<const ExceptionRecord>(r)};
  r.exception_id = "n";
  r.reason = "two\nlines";
  d.open.push_back(std::make_shared<const ExceptionRecord>(r));
  r.exception_id = "c";
  r.reason = "two\rlines";
  d.open.push_back(std::make_shared<const ExceptionRecord>(r));
  auto text = FormatReport(BuildReport(d, {}), ReportFormat::kCsv);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, ::testing::HasSubstr(",\"Invoice \"\"INV-7\"\" short\"\n")) << *text;
  EXPECT_THAT(*text, ::testing::HasSubstr(",\"two\nlines\"\n")) << *text;
  EXPECT_THAT(*text, ::testing::HasSubstr(",\"two\rlines\"\n")) << *text;
}

// A cell a spreadsheet would run as a formula (a tenant id from the input
// starting with =, +, - or @) is opened as text, behind a '; money, negative
// or not, stays a number.
TEST(ReportFormat, CsvCellsAreNeverFormulas) {
  ReportData d;
  d.as_of = Day(100);
  d.days[{"=HYPERLINK(\"http://x\",\"y\")", "USD", DayOf(Day(90))}] = {-150'000, 0, 0, 1};
  // A refund beyond what was collected: a negative rate.
  d.days[{"neg", "JPY", DayOf(Day(90))}] = {100'000, 100'000, -5'000, 1};
  d.open = {Open("@SUM(A1)", "+SUM(1)", ExceptionKind::kUnpaid, "-team", 1'000, "USD", 99)};
  auto text = FormatReport(BuildReport(d, {}), ReportFormat::kCsv);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text,
              ::testing::HasSubstr("books,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",USD,"));
  EXPECT_THAT(*text, ::testing::HasSubstr("open_exceptions,'+SUM(1),UNPAID,'-team,USD,"));
  EXPECT_THAT(*text, ::testing::HasSubstr("top_exceptions,1,'@SUM(A1),UNPAID,'-team,"));
  EXPECT_THAT(*text, ::testing::HasSubstr(",-1500.00,"));
  EXPECT_THAT(*text, ::testing::HasSubstr(",-5.0%")) << *text;
  EXPECT_THAT(*text, ::testing::Not(::testing::HasSubstr("'-5.0%"))) << *text;
}

// The table goes to a terminal: a control character from the input (a line
// break in a CRM customer name, an escape sequence) prints as a space, so it
// can neither split a row nor drive the terminal.
TEST(ReportFormat, TableCellsHoldNoControlCharacters) {
  ReportData d;
  d.as_of = Day(100);
  ExceptionRecord r = *Open("q", "acme", ExceptionKind::kUnpaid, "collections", 1'000, "USD", 99);
  r.reason = "Deal D-1 for Acme\nAttn: AP\x1b[2J\x7f\xc2\x9b short; M\xc3\xbcller";
  d.open = {std::make_shared<const ExceptionRecord>(r)};
  auto text = FormatReport(BuildReport(d, {}), ReportFormat::kTable);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text,
              ::testing::EndsWith(" Deal D-1 for Acme Attn: AP [2J   short; M\xc3\xbcller\n"))
      << *text;
}

// With nothing booked in the period the rate is null and printed as "-",
// not as a rate of 0.0%.
TEST(ReportFormat, NoRealizationWithoutBookingsInThePeriod) {
  ReportData d;
  d.as_of = Day(100);
  d.days[{"acme", "USD", DayOf(Day(0))}] = {1'000'000, 1'000'000, 0, 1};  // before the period
  const json r = BuildReport(d, {});
  ASSERT_TRUE(r["books"][0]["realization_rate"].is_null());
  auto csv = FormatReport(r, ReportFormat::kCsv);
  ASSERT_TRUE(csv.ok());
  EXPECT_THAT(*csv, ::testing::HasSubstr("\nbooks,acme,USD,1,10000.00,10000.00,0.00,-,\n")) << *csv;
}

TEST(ReportFormat, JsonIsTheDocumentAndMissingFieldsAreRefused) {
  const json r = BuildReport(Fixture(), {});
  auto text = FormatReport(r, ReportFormat::kJson);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(json::parse(*text), r);
  json broken = r;
  broken.erase("books");
  EXPECT_FALSE(FormatReport(broken, ReportFormat::kTable).ok());
  EXPECT_FALSE(FormatReport(broken, ReportFormat::kCsv).ok());
}

// A realization just below the 95% target is flagged BELOW 95%, and the
// rate printed beside the flag must not read 95.0% (0.9496 rounds up to it).
TEST(ReportFormat, RealizationJustBelowTargetIsNotPrintedAsTheTarget) {
  ReportData d;
  d.as_of = Day(100);
  d.days[{"acme", "USD", DayOf(Day(95))}] = {1'000'000, 1'000'000, 949'600, 1};
  const json r = BuildReport(d, {});
  ASSERT_TRUE(r["books"][0]["below_target"].get<bool>());
  auto csv = FormatReport(r, ReportFormat::kCsv);
  ASSERT_TRUE(csv.ok());
  EXPECT_THAT(*csv, ::testing::Not(::testing::HasSubstr("95.0%,BELOW 95%"))) << *csv;
  auto table = FormatReport(r, ReportFormat::kTable);
  ASSERT_TRUE(table.ok());
  EXPECT_THAT(*table, ::testing::Not(::testing::HasSubstr("95.0% BELOW 95%"))) << *table;
}

// Minor units of two currencies do not compare (IDR 1,000,000.00 is
// 100,000,000 minor units, about USD 60): the top list holds the largest
// losses of each currency, by currency, in one report and in a merged one.
TEST(Report, TopExceptionsAreRankedWithinEachCurrency) {
  ReportData a, b;
  a.as_of = b.as_of = Day(100);
  for (int i = 0; i < 12; ++i) {
    a.open.push_back(Open("usd" + std::to_string(i), "acme", ExceptionKind::kUnpaid, "collections",
                          1'000'000 + i, "USD", 90));
    b.open.push_back(Open("idr" + std::to_string(i), "acme", ExceptionKind::kUnpaid, "collections",
                          100'000'000 + i, "IDR", 90));
  }
  ReportData both = a;
  both.open.insert(both.open.end(), b.open.begin(), b.open.end());
  auto merged = MergeReports({BuildReport(a, {}), BuildReport(b, {})});
  ASSERT_TRUE(merged.ok()) << merged.status();
  for (const json& r : {BuildReport(both, {}), *merged}) {
    const json& top = r.at("top_exceptions");
    ASSERT_EQ(top.size(), 2 * kTopExceptions) << top.dump(1);
    EXPECT_EQ(top[0]["exception_id"], "idr11");
    EXPECT_EQ(top[kTopExceptions - 1]["exception_id"], "idr2");
    EXPECT_EQ(top[kTopExceptions]["exception_id"], "usd11");
    EXPECT_EQ(top[2 * kTopExceptions - 1]["exception_id"], "usd2");
  }
  // The table ranks each currency from 1.
  auto table = FormatReport(BuildReport(both, {}), ReportFormat::kCsv);
  ASSERT_TRUE(table.ok());
  EXPECT_THAT(*table, ::testing::HasSubstr("\ntop_exceptions,1,usd11,"));
  EXPECT_THAT(*table, ::testing::HasSubstr("\ntop_exceptions,1,idr11,"));
}

}  // namespace
}  // namespace closeloop::app
