// The report tests' fixed books and exception records (report_test.cc,
// report_format_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "app/report.h"

namespace closeloop::app::report_test {

using matcher::EventTime;
using matcher::ExceptionKind;
using matcher::ExceptionRecord;
using matcher::kDay;

// 2026-03-02T00:00:00Z and days after it.
inline EventTime Day(int n) {
  return EventTime(std::chrono::milliseconds(1772409600000LL)) + n * kDay;
}

inline OpenRecord Open(const std::string& id, const std::string& tenant, ExceptionKind kind,
                       const std::string& team, int64_t amount, const std::string& currency,
                       int opened_day) {
  ExceptionRecord r;
  r.exception_id = id;
  r.tenant.value = tenant;
  r.kind = kind;
  r.team = team;
  r.amount_at_risk_minor = amount;
  r.currency = currency;
  r.opened_at = Day(opened_day);
  r.reason = "Invoice " + id + ", USD 1,000.00 short.";
  return std::make_shared<const ExceptionRecord>(std::move(r));
}

// Fixed books "as of" day 100: acme USD deals closed on day 0 (old) and day
// 80 (in the 90-day trailing period); globex EUR; two lost-deal euros.
inline ReportData Fixture() {
  ReportData d;
  d.as_of = Day(100) + std::chrono::hours(12);
  d.days[{"acme", "USD", DayOf(Day(0))}] = {1'000'000, 1'000'000, 1'000'000, 2};
  d.days[{"acme", "USD", DayOf(Day(80))}] = {2'000'000, 1'500'000, 1'800'000, 3};
  d.days[{"globex", "EUR", DayOf(Day(95))}] = {500'000, 500'000, 500'000, 1};
  d.days[{"globex", "EUR", kNoCloseDay}] = {0, 200, 0, 1};
  d.open = {Open("a1", "acme", ExceptionKind::kUnpaid, "collections", 300'000, "USD", 95),
            Open("a2", "acme", ExceptionKind::kUnpaid, "collections", 100'000, "USD", 60),
            Open("a3", "acme", ExceptionKind::kMissingInvoice, "billing", 200'000, "USD", 5),
            Open("g1", "globex", ExceptionKind::kUnderBilled, "billing", 50'000, "EUR", 90)};
  d.recovered[{"acme", ExceptionKind::kUnpaid, "USD"}] = 120'000;
  d.counts[{"acme", ExceptionKind::kUnpaid}] = {.opened = 4,
                                                .resolved = {{matcher::Resolution::kRecovered, 2}}};
  return d;
}

inline ReportFilters Filters(std::map<std::string, std::string> params) {
  auto f = ParseFilters(params);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : ReportFilters{};
}

}  // namespace closeloop::app::report_test
