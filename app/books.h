// The tenants' books (SPEC §2, §7): booked, billed and collected money per
// tenant, currency and close day, folded from the engine's per-deal figure
// changes; the open exceptions and the recovered money, folded from exception
// lifecycle records. What `closeloop report`, /v1/* and the money metrics read.
// Persisted as per-key records through the state store: Load() every record at
// start, DrainChanges() after each batch into the batch's atomic write.
// Pure (no I/O, no clock); not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "matcher/figures.h"
#include "matcher/types.h"

namespace closeloop::app {

// Every key Books writes starts with this.
inline constexpr std::string_view kBooksKeyPrefix = "books/";

// Money of the deals of one tenant, in one currency, closed on one day.
struct DayKey {
  std::string tenant;
  std::string currency;
  // Days since 1970-01-01 (UTC) of the close; kNoCloseDay for deals that are
  // not booked (lost or never won) but still have billed or collected money.
  int64_t day = 0;
  auto operator<=>(const DayKey&) const = default;
};
inline constexpr int64_t kNoCloseDay = INT64_MIN;

struct DayTotals {
  int64_t booked_minor = 0;
  int64_t billed_minor = 0;
  int64_t collected_minor = 0;
  int64_t deals = 0;  // deals whose figures are in this bucket
  bool operator==(const DayTotals&) const = default;
};

// Recovered money of one tenant, exception kind and team, in one currency.
// An exception keeps the team it opened with (matcher/lifecycle.h).
struct RecoveredKey {
  std::string tenant;
  matcher::ExceptionKind kind;
  std::string currency;
  std::string team;  // "": stored before teams were kept
  auto operator<=>(const RecoveredKey&) const = default;
};

// Exceptions opened, and resolved by resolution.
struct ExceptionCounts {
  int64_t opened = 0;
  std::map<matcher::Resolution, int64_t> resolved;
  bool operator==(const ExceptionCounts&) const = default;
};
// Exceptions counted for one tenant, kind and team.
struct CountKey {
  std::string tenant;
  matcher::ExceptionKind kind;
  std::string team;  // "": stored before teams were kept
  auto operator<=>(const CountKey&) const = default;
};

// Event-time latencies first seen in the changes applied since the last
// TakeLatencies(), in seconds. Not persisted: they feed histograms.
struct Latencies {
  std::vector<double> close_to_invoice_seconds;
  std::vector<double> invoice_to_payment_seconds;
};

// One record to write to the state store: bytes to put, or nullopt to delete.
using BooksChange = std::pair<std::string, std::optional<std::string>>;

// An open exception's last record. Immutable and shared, so that a snapshot
// of the books for the HTTP thread copies pointers, not records.
using OpenRecord = std::shared_ptr<const matcher::ExceptionRecord>;

class Books {
 public:
  // Subtracts change.before (if any) from its close day's totals and adds
  // change.after. Figures neither booked nor billed nor collected (an open
  // opportunity) are in no bucket. A deal's first invoice and first payment are recorded as
  // latencies.
  void Apply(const matcher::FiguresChange& change);
  // Keeps the latest record of every exception that is not RESOLVED (a
  // RESOLVED record removes it; an ACKNOWLEDGED or SNOOZED one keeps the
  // reason before it, what is wrong rather than who acted), adds the growth of recovered_minor
  // since the exception's previous record to the recovered totals (and raises their highest),
  // and counts OPEN and RESOLVED records.
  void Apply(const matcher::ExceptionRecord& record);

  // Restores one record written by DrainChanges in an earlier run. Returns
  // InvalidArgument (naming the key) when the key is not a Books key or the
  // bytes cannot be read; nothing changes then. REQUIRES: before any Apply.
  absl::Status Load(std::string_view key, std::string_view bytes);
  // Appends one change per key touched since the last drain, in key order:
  // its current bytes, or nullopt when the entry no longer exists (deleted or
  // back to zero). Clears the dirty set.
  void DrainChanges(std::vector<BooksChange>& out);

  // Moves out the latencies observed since the last call.
  Latencies TakeLatencies();

  const std::map<DayKey, DayTotals>& days() const { return days_; }
  const std::map<std::string, OpenRecord>& open() const { return open_; }
  const std::map<RecoveredKey, int64_t>& recovered() const { return recovered_; }
  // The highest each recovered total has been: what the recovered counter
  // exports, since a counter cannot go down (money given back) and must come
  // back where it was after a restart.
  const std::map<RecoveredKey, int64_t>& recovered_highest() const { return recovered_highest_; }
  const std::map<CountKey, ExceptionCounts>& counts() const { return counts_; }

 private:
  void AddFigures(const matcher::TenantId& tenant, const matcher::DealFigures& f, int sign);

  std::map<DayKey, DayTotals> days_;
  std::map<std::string, OpenRecord> open_;  // by exception_id
  std::map<RecoveredKey, int64_t> recovered_;
  std::map<RecoveredKey, int64_t> recovered_highest_;
  std::map<CountKey, ExceptionCounts> counts_;
  // Entries changed since the last drain.
  std::set<DayKey> dirty_days_;
  std::set<std::string> dirty_open_;
  std::set<RecoveredKey> dirty_recovered_;
  std::set<CountKey> dirty_counts_;
  Latencies latencies_;
};

// The store keys of Books' records (exposed for tests and the key layout doc).
std::string DayRecordKey(const DayKey& key);
std::string OpenRecordKey(const std::string& exception_id);
std::string RecoveredRecordKey(const RecoveredKey& key);
std::string CountRecordKey(const CountKey& key);

// The close day of `t`: days since 1970-01-01 (UTC), rounded down.
int64_t DayOf(matcher::EventTime t);

}  // namespace closeloop::app
