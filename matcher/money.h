// Formatting money and dates for people. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "matcher/types.h"

namespace closeloop::matcher {

// The largest amount_minor a document may carry: 2^53 - 1, the largest
// integer a JSON reader that uses doubles keeps exactly (ingest refuses more
// as invalid_value). Sums of up to 1,024 such amounts fit an int64.
constexpr int64_t kMaxAmountMinor = (int64_t{1} << 53) - 1;

// Digits after the decimal point of an ISO 4217 currency (2 when unknown).
int MinorDigits(std::string_view currency);
// "USD 12,000.00"; "JPY 1,200"; "-EUR 5.00". Never goes through floating point.
std::string FormatMoney(int64_t minor, std::string_view currency);
// "2026-03-02" (UTC).
std::string FormatDate(EventTime t);
// Whole days from `from` to `to`, rounded down; negative when `to` is earlier.
int64_t DaysBetween(EventTime from, EventTime to);
// Calendar days (UTC dates) from `from`'s date to `to`'s: an invoice issued on
// the afternoon of 01-05 and due on 02-04 gives 30 days to pay.
int64_t CalendarDaysBetween(EventTime from, EventTime to);

// Pieces of a Sentence: an amount as FormatMoney writes it, a date as
// FormatDate does.
struct Money {
  int64_t minor;
  std::string_view currency;
};
struct Date {
  EventTime t;
};

// The most bytes AppendTo writes for a piece.
inline size_t SizeOf(std::string_view text) { return text.size(); }
inline size_t SizeOf(int64_t) { return 20; }
inline size_t SizeOf(Money m) { return 28 + m.currency.size(); }  // sign, digits, commas, point
inline size_t SizeOf(Date) { return 24; }
inline void AppendTo(std::string& out, std::string_view text) { out.append(text); }
void AppendTo(std::string& out, int64_t n);
void AppendTo(std::string& out, Money m);
void AppendTo(std::string& out, Date d);

// The pieces written one after the other into one string, allocated once:
// Sentence("Deal ", id, " is ", days, " days late by ", Money{...}).
// Reasons are composed at every record; concatenating temporary strings,
// reallocating as they grew, cost 2.1% more of the matcher's instructions
// (bench/README.md, "Reasons in one allocation"). Other pieces (DealPhrase)
// define their own SizeOf and AppendTo.
template <class... Pieces>
std::string Sentence(const Pieces&... pieces) {
  std::string out;
  out.reserve((SizeOf(pieces) + ...));
  (AppendTo(out, pieces), ...);
  return out;
}

}  // namespace closeloop::matcher
