// The CFO view (SPEC §7) as JSON: per tenant and currency booked, billed,
// collected and realization; open exceptions by kind and team with amount at
// risk and age buckets; recovered money; the exceptions losing the most. Built
// from a ReportData copy of the books, so the HTTP thread never reads state
// the pipeline mutates. Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/books.h"
#include "nlohmann/json.hpp"

namespace closeloop::app {

// Realization below this is a material problem (SPEC §2).
inline constexpr double kRealizationTarget = 0.95;
// How many exceptions the report lists by time-weighted loss.
inline constexpr size_t kTopExceptions = 10;

// A copy of the books at one moment, with what is needed to read them.
struct ReportData {
  matcher::EventTime as_of;  // wall clock of the copy; ages are counted to it
  matcher::Duration trailing_period = 90 * matcher::kDay;
  std::map<DayKey, DayTotals> days;
  std::vector<OpenRecord> open;  // by exception_id
  std::map<RecoveredKey, int64_t> recovered;
  std::map<CountKey, ExceptionCounts> counts;
};
ReportData SnapshotOf(const Books& books, matcher::EventTime as_of,
                      matcher::Duration trailing_period);

struct ReportFilters {
  std::string tenant;  // empty: every tenant
  std::string kind;    // exception kind wire name; empty: every kind
  std::string team;    // empty: every team
  // Deal figures only of deals closed on or after this day (days since
  // epoch); realization is then over those deals instead of the trailing
  // period. Exceptions are not filtered by it.
  std::optional<int64_t> closed_since_day;
  // Only exceptions whose amount at risk is at least this many major units,
  // in millionths (1000.00 -> 1'000'000'000), compared exactly in the
  // exception's currency.
  std::optional<int64_t> min_amount_micros;
};

// Reads filters from query parameters or flags: tenant, kind (e.g. UNPAID),
// team, closed_since (YYYY-MM-DD), min_amount (a decimal such as 1000 or
// 1000.00, at most 12 digits before the point and 6 after). Unknown
// parameters and bad values are InvalidArgument naming the parameter.
absl::StatusOr<ReportFilters> ParseFilters(const std::map<std::string, std::string>& params);

// Days an exception has been open at `as_of` (never negative), and its
// time-weighted loss then: amount at risk x days, minor-unit-days.
int64_t AgeDays(const matcher::ExceptionRecord& r, matcher::EventTime as_of);
// "0-7", "8-30", "31-90" or "90+".
const char* AgeBucket(int64_t age_days);
inline constexpr const char* kAgeBuckets[] = {"0-7", "8-30", "31-90", "90+"};

// The /v1/report document (README "Operations" shows its fields).
nlohmann::json BuildReport(const ReportData& data, const ReportFilters& filters);
// One /v1/report document made of several, from the processes of one
// deployment (the matcher tasks of README "Scaling out"): rows that agree on
// their key (tenant, currency, kind, team) are added up and realization is
// computed again from the sums; the top exceptions are ranked again; as_of
// is the earliest. The result equals the report of one process holding all
// of their books, ages aside (each counts to its own as_of). One document is
// returned as it is. InvalidArgument when a document lacks a field, or when
// the documents cover different periods.
absl::StatusOr<nlohmann::json> MergeReports(const std::vector<nlohmann::json>& reports);

// How many exceptions /v1/exceptions lists without a `limit`, and the most
// it lists with one: the document is built whole in memory, several KB per
// exception while it is, and a large company keeps hundreds of thousands
// open (the exceptions topic holds them all).
inline constexpr size_t kExceptionsLimit = 1000;
inline constexpr size_t kExceptionsMaxLimit = 10000;

// Takes `limit` out of `params`: a whole number from 1 to
// kExceptionsMaxLimit, kExceptionsLimit when absent; InvalidArgument naming
// it otherwise.
absl::StatusOr<size_t> TakeLimit(std::map<std::string, std::string>& params);

// The /v1/exceptions document: {"as_of", "total", "exceptions": [...]}: the
// first `limit` open exceptions passing the filters, by currency, then by
// time-weighted loss, largest first; `total` counts all that pass.
nlohmann::json BuildExceptions(const ReportData& data, const ReportFilters& filters,
                               size_t limit = kExceptionsLimit);

// "2026-03-02T10:00:00Z".
std::string FormatTimestamp(matcher::EventTime t);
// Minor units as a plain major-unit decimal: 1200000 USD -> "12000.00".
std::string MajorUnits(int64_t minor, const std::string& currency);

}  // namespace closeloop::app
