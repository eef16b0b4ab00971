#include "app/books.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "nlohmann/json.hpp"

namespace closeloop::app {
namespace {

using matcher::DealFigures;
using matcher::EventTime;
using matcher::ExceptionKind;
using matcher::ExceptionRecord;
using matcher::ExceptionState;
using matcher::FiguresChange;
using matcher::kDay;
using matcher::Resolution;

// 2026-03-02T00:00:00Z and days after it.
EventTime Day(int n) { return EventTime(std::chrono::milliseconds(1772409600000LL)) + n * kDay; }

DealFigures Figures(int close_day, int64_t booked, int64_t billed, int64_t collected) {
  DealFigures f;
  f.currency = "USD";
  f.closed_at = Day(close_day);
  f.booked = booked > 0;
  f.booked_minor = booked;
  f.billed_minor = billed;
  f.collected_minor = collected;
  return f;
}

// A change of deal `deal` of tenant acme.
FiguresChange Change(const std::string& deal, std::optional<DealFigures> before, DealFigures after,
                     EventTime at) {
  return FiguresChange{{"acme"}, {deal}, std::move(before), std::move(after), at};
}

ExceptionRecord Record(const std::string& id, ExceptionState state, int64_t amount,
                       int64_t recovered = 0, Resolution resolution = Resolution::kNone) {
  ExceptionRecord r;
  r.exception_id = id;
  r.tenant.value = "acme";
  r.kind = ExceptionKind::kUnderBilled;
  r.state = state;
  r.resolution = resolution;
  r.team = "billing";
  r.currency = "USD";
  r.amount_at_risk_minor = amount;
  r.recovered_minor = recovered;
  r.opened_at = Day(3);
  r.effective_at = Day(5);
  r.deadline = Day(3);
  r.reason = "Billed USD 600.00 of USD 1,000.00.";
  r.confidence = 0.8;
  r.sequence = 1;
  return r;
}

TEST(Books, FoldsFigureChangesIntoCloseDayTotals) {
  Books books;
  books.Apply(Change("D-1", std::nullopt, Figures(0, 100'000, 0, 0), Day(0)));
  books.Apply(Change("D-2", std::nullopt, Figures(0, 50'000, 0, 0), Day(0)));
  books.Apply(Change("D-1", Figures(0, 100'000, 0, 0), Figures(0, 100'000, 60'000, 0), Day(4)));
  books.Apply(
      Change("D-1", Figures(0, 100'000, 60'000, 0), Figures(0, 100'000, 60'000, 60'000), Day(9)));
  const DayKey key{"acme", "USD", DayOf(Day(0))};
  ASSERT_EQ(books.days().size(), 1u);
  EXPECT_EQ(books.days().at(key), (DayTotals{150'000, 60'000, 60'000, 2}));
}

TEST(Books, DealMovingToAnotherCloseDayLeavesTheOldBucket) {
  Books books;
  books.Apply(Change("D-1", std::nullopt, Figures(0, 100'000, 0, 0), Day(0)));
  books.Apply(Change("D-1", Figures(0, 100'000, 0, 0), Figures(2, 120'000, 0, 0), Day(2)));
  ASSERT_EQ(books.days().size(), 1u);
  EXPECT_EQ(books.days().begin()->first.day, DayOf(Day(2)));
  EXPECT_EQ(books.days().begin()->second.booked_minor, 120'000);
}

TEST(Books, LostDealKeepsItsBilledMoneyWithoutACloseDay) {
  Books books;
  books.Apply(Change("D-1", std::nullopt, Figures(0, 100'000, 40'000, 0), Day(0)));
  DealFigures lost = Figures(0, 0, 40'000, 0);
  books.Apply(Change("D-1", Figures(0, 100'000, 40'000, 0), lost, Day(6)));
  ASSERT_EQ(books.days().size(), 1u);
  EXPECT_EQ(books.days().begin()->first.day, kNoCloseDay);
  EXPECT_EQ(books.days().begin()->second, (DayTotals{0, 40'000, 0, 1}));
}

TEST(Books, OpenOpportunityIsInNoBook) {
  Books books;
  books.Apply(Change("D-1", std::nullopt, Figures(0, 0, 0, 0), Day(0)));
  EXPECT_TRUE(books.days().empty());
}

TEST(Books, FirstInvoiceAndFirstPaymentAreLatencies) {
  Books books;
  DealFigures booked = Figures(0, 100'000, 0, 0);
  DealFigures billed = Figures(0, 100'000, 100'000, 0);
  billed.first_billed_at = Day(3);
  DealFigures paid = billed;
  paid.collected_minor = 100'000;
  paid.first_collected_at = Day(10);
  DealFigures billed_again = paid;
  billed_again.billed_minor = 120'000;
  books.Apply(Change("D-1", std::nullopt, booked, Day(0)));
  books.Apply(Change("D-1", booked, billed, Day(3)));
  books.Apply(Change("D-1", billed, paid, Day(10)));
  books.Apply(Change("D-1", paid, billed_again, Day(12)));  // no new first times
  const Latencies l = books.TakeLatencies();
  EXPECT_EQ(l.close_to_invoice_seconds, std::vector<double>{3 * 86400.0});
  EXPECT_EQ(l.invoice_to_payment_seconds, std::vector<double>{7 * 86400.0});
  EXPECT_TRUE(books.TakeLatencies().close_to_invoice_seconds.empty());
}

// An invoice dated before the deal's close (an ERP ahead of the CRM), or a
// payment before its invoice, is no negative latency: a histogram of durations would get a negative
// sum.
TEST(Books, InvoiceBeforeCloseOrPaymentBeforeInvoiceIsAZeroLatency) {
  Books books;
  DealFigures billed = Figures(5, 100'000, 100'000, 0);
  billed.first_billed_at = Day(2);
  books.Apply(Change("D-1", std::nullopt, billed, Day(5)));
  EXPECT_EQ(books.TakeLatencies().close_to_invoice_seconds, std::vector<double>{0.0});
  // Likewise a payment dated before the first invoice.
  DealFigures paid = billed;
  paid.collected_minor = 100'000;
  paid.first_collected_at = Day(1);
  books.Apply(Change("D-1", billed, paid, Day(6)));
  EXPECT_EQ(books.TakeLatencies().invoice_to_payment_seconds, std::vector<double>{0.0});
}

// Money collected on a deal neither booked nor billed (a payment against a
// voided invoice of a lost deal) is still in the books, without a close day.
TEST(Books, CollectedMoneyAloneKeepsADealInTheBooks) {
  Books books;
  books.Apply(Change("D-1", std::nullopt, Figures(0, 0, 0, 25'000), Day(0)));
  ASSERT_EQ(books.days().size(), 1u);
  EXPECT_EQ(books.days().begin()->first.day, kNoCloseDay);
  EXPECT_EQ(books.days().begin()->second, (DayTotals{0, 0, 25'000, 1}));
}

// Recovered money given back to zero leaves the recovered table; its stored
// row keeps the highest it was (the recovered counter's value), so a
// restarted process has it too.
TEST(Books, RecoveredMoneyBackToZeroLeavesTheTable) {
  Books books;
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kOpen, 40'000));
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kUpdated, 30'000, 10'000));
  ASSERT_EQ(books.recovered().size(), 1u);
  std::vector<BooksChange> ignored;
  books.DrainChanges(ignored);
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kUpdated, 40'000, 0));
  EXPECT_TRUE(books.recovered().empty());
  const RecoveredKey key{"acme", ExceptionKind::kUnderBilled, "USD", "billing"};
  EXPECT_EQ(books.recovered_highest().at(key), 10'000);
  std::vector<BooksChange> changes;
  books.DrainChanges(changes);
  auto it = std::find_if(changes.begin(), changes.end(),
                         [&](const BooksChange& c) { return c.first == RecoveredRecordKey(key); });
  ASSERT_NE(it, changes.end());
  ASSERT_TRUE(it->second.has_value());
  Books restored;
  ASSERT_TRUE(restored.Load(it->first, *it->second).ok());
  EXPECT_TRUE(restored.recovered().empty());
  EXPECT_EQ(restored.recovered_highest(), books.recovered_highest());
}

TEST(Books, ResolvedExceptionLeavesTheOpenTableAndCountsRecoveredGrowth) {
  Books books;
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kOpen, 40'000));
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kUpdated, 30'000, 10'000));
  ASSERT_EQ(books.open().size(), 1u);
  EXPECT_EQ(books.open().begin()->second->amount_at_risk_minor, 30'000);
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kResolved, 0, 40'000,
                     Resolution::kRecovered));
  EXPECT_TRUE(books.open().empty());
  const RecoveredKey key{"acme", ExceptionKind::kUnderBilled, "USD", "billing"};
  EXPECT_EQ(books.recovered().at(key), 40'000);
  const ExceptionCounts& c = books.counts().at({"acme", ExceptionKind::kUnderBilled, "billing"});
  EXPECT_EQ(c.opened, 1);
  EXPECT_EQ(c.resolved.at(Resolution::kRecovered), 1);
}

// The report and /v1/exceptions show what is wrong with an acknowledged or
// snoozed exception, not the command's echo.
TEST(Books, ACommandsEchoKeepsTheReasonBeforeIt) {
  Books books;
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kOpen, 40'000));
  for (ExceptionState state : {ExceptionState::kAcknowledged, ExceptionState::kSnoozed}) {
    ExceptionRecord echo = Record("acme:UNDER_BILLED:D-1:1", state, 40'000);
    echo.reason = "UNDER_BILLED on deal D-1 acknowledged by ana; no more escalation notices.";
    echo.note = "credit note on its way";
    echo.sequence = 2;
    books.Apply(echo);
    const ExceptionRecord& kept = *books.open().at("acme:UNDER_BILLED:D-1:1");
    EXPECT_EQ(kept.reason, "Billed USD 600.00 of USD 1,000.00.");
    EXPECT_EQ(kept.state, state);
    EXPECT_EQ(kept.note, "credit note on its way");
    EXPECT_EQ(kept.sequence, 2u);
  }
  ExceptionRecord updated = Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kUpdated, 30'000);
  updated.reason = "Billed USD 700.00 of USD 1,000.00.";
  books.Apply(updated);
  EXPECT_EQ(books.open().at("acme:UNDER_BILLED:D-1:1")->reason, updated.reason);
}

TEST(Books, DrainWritesTouchedKeysAndDeletesWhatIsGone) {
  Books books;
  books.Apply(Change("D-1", std::nullopt, Figures(0, 100'000, 0, 0), Day(0)));
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kOpen, 40'000));
  std::vector<BooksChange> first;
  books.DrainChanges(first);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].first, "books/count/acme/UNDER_BILLED/billing");
  EXPECT_EQ(first[1].first, "books/day/acme/USD/2026-03-02");
  EXPECT_EQ(first[2].first, "books/open/acme:UNDER_BILLED:D-1:1");
  for (const auto& c : first) EXPECT_TRUE(c.second.has_value()) << c.first;

  std::vector<BooksChange> none;
  books.DrainChanges(none);
  EXPECT_TRUE(none.empty());

  books.Apply(
      Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kResolved, 0, 0, Resolution::kWithdrawn));
  std::vector<BooksChange> second;
  books.DrainChanges(second);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[1].first, "books/open/acme:UNDER_BILLED:D-1:1");
  EXPECT_FALSE(second[1].second.has_value());
}

TEST(Books, LoadRestoresWhatDrainWrote) {
  Books books;
  books.Apply(Change("D-1", std::nullopt, Figures(0, 100'000, 20'000, 5'000), Day(0)));
  books.Apply(Change("D-2", std::nullopt, Figures(0, 0, 7'000, 0), Day(1)));
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kOpen, 40'000));
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kEscalated, 30'000, 10'000));
  books.Apply(Record("acme:UNDER_BILLED:D-3:1", ExceptionState::kOpen, 9'000));
  books.Apply(
      Record("acme:UNDER_BILLED:D-3:1", ExceptionState::kResolved, 0, 0, Resolution::kDismissed));
  std::vector<BooksChange> changes;
  books.DrainChanges(changes);

  Books restored;
  for (const auto& [key, bytes] : changes) {
    if (!bytes) continue;
    ASSERT_TRUE(restored.Load(key, *bytes).ok()) << key;
  }
  EXPECT_EQ(restored.days(), books.days());
  // The records, not the pointers to them.
  auto records = [](const Books& b) {
    std::map<std::string, ExceptionRecord> out;
    for (const auto& [id, r] : b.open()) out[id] = *r;
    return out;
  };
  EXPECT_EQ(records(restored), records(books));
  EXPECT_FALSE(records(books).empty());
  EXPECT_EQ(restored.recovered(), books.recovered());
  EXPECT_EQ(restored.recovered_highest(), books.recovered_highest());
  EXPECT_EQ(restored.counts(), books.counts());
  std::vector<BooksChange> nothing;
  restored.DrainChanges(nothing);
  EXPECT_TRUE(nothing.empty());
}

// An open exception's row is written without a json object; whatever its
// strings and numbers, it reads back as the same record.
TEST(Books, OpenRecordsWithAnyTextAndNumbersReadBack) {
  const std::string odd[] = {"",
                             "plain",
                             "quote \" and backslash \\ and slash /",
                             std::string("controls \x01\x1f\n\t\r\b\f and NUL ") + '\0' + "!",
                             "UTF-8: M\xc3\xbcller \xe2\x80\xa8 \xf0\x9f\x98\x80",
                             "{\"json\": [1, 2]}"};
  Books books;
  int n = 0;
  for (const std::string& text : odd) {
    ++n;
    // Extreme numbers only where the books add nothing up (recovered money
    // is summed per tenant, kind and currency).
    ExceptionRecord r = Record("acme:UNPAID:" + text + std::to_string(n), ExceptionState::kOpen,
                               INT64_MIN + n, 1'000 * n);
    r.time_weighted_loss = INT64_MAX - n;
    r.customer_name = r.owner = r.reason = r.note = r.superseded_by = r.topic = text;
    r.tenant.value = "acme";
    r.confidence = n % 2 ? 1.0 / 3 : 5e-324;
    r.sequence = UINT64_MAX - n;
    r.age_days = -n;
    r.deadline = EventTime(matcher::Duration(INT64_MIN / 2 + n));
    books.Apply(r);
  }
  std::vector<BooksChange> changes;
  books.DrainChanges(changes);
  Books restored;
  for (const auto& [key, bytes] : changes) {
    ASSERT_TRUE(bytes.has_value());
    ASSERT_TRUE(restored.Load(key, *bytes).ok()) << key << " " << *bytes;
  }
  ASSERT_EQ(restored.open().size(), std::size(odd));
  for (const auto& [id, r] : books.open()) {
    ASSERT_TRUE(restored.open().contains(id)) << id;
    EXPECT_EQ(*restored.open().at(id), *r) << id;
  }
}

TEST(Books, LoadRefusesForeignKeysAndBadBytes) {
  Books books;
  EXPECT_FALSE(books.Load("deal/acme/D-1", "{}").ok());
  EXPECT_FALSE(books.Load("books/day/acme/USD/2026-03-02", "not json").ok());
  EXPECT_FALSE(books.Load("books/day/acme/USD/2026-03-02", R"({"tenant":"acme"})").ok());
  // A record under another record's key.
  EXPECT_FALSE(books
                   .Load("books/day/acme/USD/2026-03-02",
                         R"({"tenant":"acme","currency":"EUR","day":20514,"booked_minor":1,)"
                         R"("billed_minor":0,"collected_minor":0,"deals":1})")
                   .ok());
  EXPECT_TRUE(books.days().empty());
}

// Recovered and count records stored before teams were kept (no team in
// their key or value) load with no team.
TEST(Books, RecordsStoredWithoutATeamLoad) {
  Books books;
  ASSERT_TRUE(books
                  .Load("books/recovered/acme/UNPAID/USD",
                        R"({"tenant":"acme","kind":"UNPAID","currency":"USD","recovered_minor":7})")
                  .ok());
  ASSERT_TRUE(books
                  .Load("books/count/acme/UNPAID",
                        R"({"tenant":"acme","kind":"UNPAID","opened":2,"resolved":{}})")
                  .ok());
  EXPECT_EQ(books.recovered().at({"acme", ExceptionKind::kUnpaid, "USD", ""}), 7);
  EXPECT_EQ(books.recovered_highest().at({"acme", ExceptionKind::kUnpaid, "USD", ""}), 7);
  EXPECT_EQ(books.counts().at({"acme", ExceptionKind::kUnpaid, ""}).opened, 2);
}

// Every kind of books record is refused under another record's key or with
// a value no code wrote (a corrupt or hand-edited store).
TEST(Books, LoadRefusesTamperedRecordsOfEveryKind) {
  Books books;
  books.Apply(Record("acme:UNDER_BILLED:D-1:1", ExceptionState::kOpen, 40'000, 5'000));
  books.Apply(
      Record("acme:UNDER_BILLED:D-2:1", ExceptionState::kResolved, 0, 0, Resolution::kDismissed));
  std::vector<BooksChange> changes;
  books.DrainChanges(changes);
  std::map<std::string, nlohmann::json> rows;
  for (const auto& [key, bytes] : changes) {
    if (bytes) rows[key] = nlohmann::json::parse(*bytes);
  }
  const std::string open_key = OpenRecordKey("acme:UNDER_BILLED:D-1:1");
  const std::string count_key = "books/count/acme/UNDER_BILLED/billing";
  const std::string recovered_key = "books/recovered/acme/UNDER_BILLED/USD/billing";
  ASSERT_TRUE(rows.contains(open_key) && rows.contains(count_key) && rows.contains(recovered_key));
  for (const auto& [key, row] : rows) ASSERT_TRUE(Books().Load(key, row.dump()).ok()) << key;

  Books restored;
  EXPECT_FALSE(restored.Load(OpenRecordKey("acme:UNDER_BILLED:D-9:1"), rows[open_key].dump()).ok());
  nlohmann::json bad = rows[open_key];
  bad["severity"] = 9;
  EXPECT_FALSE(restored.Load(open_key, bad.dump()).ok());
  bad = rows[count_key];
  bad["resolved"]["FORGOTTEN"] = 1;
  EXPECT_FALSE(restored.Load(count_key, bad.dump()).ok());
  EXPECT_FALSE(
      restored.Load("books/recovered/acme/UNDER_BILLED/EUR", rows[recovered_key].dump()).ok());
  EXPECT_FALSE(restored.Load("books/count/acme/UNPAID", rows[count_key].dump()).ok());
}

}  // namespace
}  // namespace closeloop::app
