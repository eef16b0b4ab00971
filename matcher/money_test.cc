#include "matcher/money.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "matcher/lifecycle.h"

namespace closeloop::matcher {
namespace {

TEST(FormatMoney, GroupsThousandsAndKeepsMinorDigits) {
  EXPECT_EQ(FormatMoney(1'200'000, "USD"), "USD 12,000.00");
  EXPECT_EQ(FormatMoney(5, "EUR"), "EUR 0.05");
  EXPECT_EQ(FormatMoney(-150, "GBP"), "-GBP 1.50");
  EXPECT_EQ(FormatMoney(1200, "JPY"), "JPY 1,200");
  EXPECT_EQ(FormatMoney(1234, "KWD"), "KWD 1.234");
  EXPECT_EQ(FormatMoney(INT64_MIN, "USD"), "-USD 92,233,720,368,547,758.08");
}

// FormatMoney and FormatDate write digits by hand (they run for every
// record); these compare them with plain std::to_string and snprintf.
std::string ReferenceMoney(int64_t minor, const std::string& currency) {
  const bool negative = minor < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  uint64_t scale = 1;
  for (int i = 0; i < MinorDigits(currency); ++i) scale *= 10;
  const std::string whole = std::to_string(magnitude / scale);
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  std::string out = negative ? "-" : "";
  if (!currency.empty()) out += currency + ' ';
  out += grouped;
  if (scale > 1) {
    const std::string frac = std::to_string(magnitude % scale);
    out += '.' + std::string(std::to_string(scale).size() - 1 - frac.size(), '0') + frac;
  }
  return out;
}

// ISO 4217's minor units for every currency that does not use two.
TEST(MinorDigits, FollowsIso4217) {
  for (const char* c : {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                        "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}) {
    EXPECT_EQ(MinorDigits(c), 0) << c;
  }
  for (const char* c : {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}) {
    EXPECT_EQ(MinorDigits(c), 3) << c;
  }
  for (const char* c : {"CLF", "UYW"}) EXPECT_EQ(MinorDigits(c), 4) << c;
  for (const char* c : {"USD", "EUR", "GBP", "CHF", "jpy", "JP", "JPYX", ""}) {
    EXPECT_EQ(MinorDigits(c), 2) << c;
  }
}

TEST(FormatMoney, MatchesAPlainFormattingForManyAmounts) {
  std::mt19937_64 rng(11);
  for (const std::string currency : {"USD", "JPY", "KWD", "CLF", "", "usd", "EURO"}) {
    for (int i = 0; i < 20'000; ++i) {
      // Every magnitude: a random number of random digits.
      const int64_t minor = static_cast<int64_t>(rng()) >> (rng() % 64);
      ASSERT_EQ(FormatMoney(minor, currency), ReferenceMoney(minor, currency))
          << minor << " " << currency;
    }
    for (int64_t minor : {int64_t{0}, int64_t{-1}, INT64_MAX, INT64_MIN}) {
      ASSERT_EQ(FormatMoney(minor, currency), ReferenceMoney(minor, currency)) << minor;
      // Sentence reserves SizeOf: the longest amounts fit in it.
      ASSERT_LE(FormatMoney(minor, currency).size(), SizeOf(Money{minor, currency})) << minor;
    }
  }
  EXPECT_EQ(MinorDigits("JPY"), 0);
  EXPECT_EQ(MinorDigits("jpy"), 2);
  EXPECT_EQ(MinorDigits("JP"), 2);
}

TEST(FormatDate, IsUtcCalendarDate) {
  EXPECT_EQ(FormatDate(EventTime(std::chrono::sys_days(std::chrono::year{2026} / 3 / 2))),
            "2026-03-02");
  // Every day from year 1 to 9999 at noon, and some days outside.
  for (auto day = std::chrono::sys_days(std::chrono::year{-20} / 1 / 1);
       day <= std::chrono::sys_days(std::chrono::year{10020} / 12 / 31);
       day += std::chrono::days(1)) {
    const std::chrono::year_month_day ymd{day};
    char want[32];
    std::snprintf(want, sizeof want, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    ASSERT_EQ(FormatDate(EventTime(day) + std::chrono::hours(12)), want);
  }
}

TEST(Sentence, WritesItsPiecesInOrder) {
  const EventTime day = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 3 / 2));
  EXPECT_EQ(Sentence("Invoice ", std::string("I-7"), " for ", Money{123456, "USD"}, ", due ",
                     Date{day}, ", is ", int64_t{-3}, " days late", std::string_view(".")),
            "Invoice I-7 for USD 1,234.56, due 2026-03-02, is -3 days late.");
  EXPECT_EQ(Sentence(INT64_MIN, " ", INT64_MAX), "-9223372036854775808 9223372036854775807");
  // The widest dates fit in what Sentence reserves for one.
  const EventTime far = EventTime(std::chrono::sys_days(std::chrono::year{-32767} / 1 / 1));
  EXPECT_LE(FormatDate(far).size(), SizeOf(Date{far}));
}

TEST(CalendarDaysBetween, CountsDatesNotHours) {
  const EventTime issued =
      EventTime(std::chrono::sys_days(std::chrono::year{2026} / 1 / 5)) + std::chrono::hours(14);
  const EventTime due = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 2 / 4));
  EXPECT_EQ(DaysBetween(issued, due), 29);
  EXPECT_EQ(CalendarDaysBetween(issued, due), 30);
  EXPECT_EQ(CalendarDaysBetween(due + std::chrono::hours(23), due), 0);
  EXPECT_EQ(CalendarDaysBetween(due, due - std::chrono::hours(1)), -1);
}

TEST(DaysBetween, RoundsDown) {
  const EventTime t0{};
  EXPECT_EQ(DaysBetween(t0, t0 + 41 * kDay + std::chrono::hours(23)), 41);
  EXPECT_EQ(DaysBetween(t0, t0 - std::chrono::hours(1)), -1);
}

// time_weighted_loss (amount x days) stops at the int64 limit instead of
// wrapping negative, where the report would rank it last.
TEST(TimeWeightedLossAt, SaturatesAtTheInt64Limit) {
  ExceptionRecord r;
  r.amount_at_risk_minor = kMaxAmountMinor;
  r.opened_at = EventTime(std::chrono::milliseconds(1772409600000LL));
  EXPECT_EQ(TimeWeightedLossAt(r, r.opened_at + 1000 * kDay), kMaxAmountMinor * 1000);
  EXPECT_EQ(TimeWeightedLossAt(r, r.opened_at + 1100 * kDay), INT64_MAX);
  r.age_days = 1000;
  r.time_weighted_loss = kMaxAmountMinor * 1000;
  EXPECT_EQ(TimeWeightedLossAt(r, r.opened_at + 1100 * kDay), INT64_MAX);
}

}  // namespace
}  // namespace closeloop::matcher
