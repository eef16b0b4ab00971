// Formatting money and dates for people. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "matcher/types.h"

namespace closeloop::matcher {

// Digits after the decimal point of an ISO 4217 currency (2 when unknown).
int MinorDigits(const std::string& currency);
// "USD 12,000.00"; "JPY 1,200"; "-EUR 5.00". Never goes through floating point.
std::string FormatMoney(int64_t minor, const std::string& currency);
// "2026-03-02" (UTC).
std::string FormatDate(EventTime t);
// Whole days from `from` to `to`, rounded down; negative when `to` is earlier.
int64_t DaysBetween(EventTime from, EventTime to);
// Calendar days (UTC dates) from `from`'s date to `to`'s: an invoice issued on
// the afternoon of 01-05 and due on 02-04 gives 30 days to pay.
int64_t CalendarDaysBetween(EventTime from, EventTime to);

}  // namespace closeloop::matcher
