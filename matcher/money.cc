#include "matcher/money.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace closeloop::matcher {

int MinorDigits(const std::string& currency) {
  // ISO 4217 codes are three letters: switched on as one integer (asked for
  // at every amount a reason sentence formats).
  if (currency.size() != 3) return 2;
  constexpr auto code = [](const char* c) {
    return static_cast<uint32_t>(static_cast<unsigned char>(c[0])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(c[1])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(c[2]));
  };
  switch (code(currency.data())) {
    case code("BIF"):
    case code("CLP"):
    case code("DJF"):
    case code("GNF"):
    case code("ISK"):
    case code("JPY"):
    case code("KMF"):
    case code("KRW"):
    case code("PYG"):
    case code("RWF"):
    case code("UGX"):
    case code("UYI"):
    case code("VND"):
    case code("VUV"):
    case code("XAF"):
    case code("XOF"):
    case code("XPF"):
      return 0;
    case code("BHD"):
    case code("IQD"):
    case code("JOD"):
    case code("KWD"):
    case code("LYD"):
    case code("OMR"):
    case code("TND"):
      return 3;
    case code("CLF"):
    case code("UYW"):
      return 4;
    default:
      return 2;
  }
}

std::string FormatMoney(int64_t minor, const std::string& currency) {
  const bool negative = minor < 0;
  // Work in unsigned so that INT64_MIN has a magnitude.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  const int digits = MinorDigits(currency);
  // Written backwards from the end of `buf`: minor digits, point, the whole
  // part grouped by thousands.
  char buf[48];
  char* p = buf + sizeof buf;
  for (int i = 0; i < digits; ++i, magnitude /= 10) *--p = static_cast<char>('0' + magnitude % 10);
  if (digits > 0) *--p = '.';
  int written = 0;
  do {
    if (written > 0 && written % 3 == 0) *--p = ',';
    *--p = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
    ++written;
  } while (magnitude > 0);
  std::string out;
  out.reserve(1 + currency.size() + 1 + static_cast<size_t>(buf + sizeof buf - p));
  if (negative) out += '-';
  if (!currency.empty()) {
    out += currency;
    out += ' ';
  }
  out.append(p, buf + sizeof buf);
  return out;
}

std::string FormatDate(EventTime t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  const int year = static_cast<int>(ymd.year());
  const auto month = static_cast<unsigned>(ymd.month());
  const auto day = static_cast<unsigned>(ymd.day());
  if (year < 0 || year > 9999) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", year, month, day);
    return buf;
  }
  std::string out = "0000-00-00";
  for (int i = 3, y = year; i >= 0; --i, y /= 10) out[i] = static_cast<char>('0' + y % 10);
  out[5] = static_cast<char>('0' + month / 10);
  out[6] = static_cast<char>('0' + month % 10);
  out[8] = static_cast<char>('0' + day / 10);
  out[9] = static_cast<char>('0' + day % 10);
  return out;
}

int64_t DaysBetween(EventTime from, EventTime to) {
  return std::chrono::floor<std::chrono::days>(to - from).count();
}

int64_t CalendarDaysBetween(EventTime from, EventTime to) {
  return (std::chrono::floor<std::chrono::days>(to) - std::chrono::floor<std::chrono::days>(from))
      .count();
}

}  // namespace closeloop::matcher
