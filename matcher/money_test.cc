#include "matcher/money.h"

#include <gtest/gtest.h>

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

TEST(FormatDate, IsUtcCalendarDate) {
  EXPECT_EQ(FormatDate(EventTime(std::chrono::sys_days(std::chrono::year{2026} / 3 / 2))),
            "2026-03-02");
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

}  // namespace
}  // namespace closeloop::matcher
