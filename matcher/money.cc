#include "matcher/money.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace closeloop::matcher {

int MinorDigits(std::string_view currency) {
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

void AppendTo(std::string& out, int64_t n) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

void AppendTo(std::string& out, Money m) {
  const bool negative = m.minor < 0;
  // Work in unsigned so that INT64_MIN has a magnitude.
  uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(m.minor) : static_cast<uint64_t>(m.minor);
  const int digits = MinorDigits(m.currency);
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
  if (negative) out += '-';
  if (!m.currency.empty()) {
    out += m.currency;
    out += ' ';
  }
  out.append(p, buf + sizeof buf);
}

void AppendTo(std::string& out, Date d) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(d.t)};
  const int year = static_cast<int>(ymd.year());
  const auto month = static_cast<unsigned>(ymd.month());
  const auto day = static_cast<unsigned>(ymd.day());
  if (year < 0 || year > 9999) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", year, month, day);
    out.append(buf, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
    return;
  }
  char buf[10] = {'0', '0', '0', '0', '-', '0', '0', '-', '0', '0'};
  for (int i = 3, y = year; i >= 0; --i, y /= 10) buf[i] = static_cast<char>('0' + y % 10);
  buf[5] = static_cast<char>('0' + month / 10);
  buf[6] = static_cast<char>('0' + month % 10);
  buf[8] = static_cast<char>('0' + day / 10);
  buf[9] = static_cast<char>('0' + day % 10);
  out.append(buf, sizeof buf);
}

std::string FormatMoney(int64_t minor, std::string_view currency) {
  return Sentence(Money{minor, currency});
}

std::string FormatDate(EventTime t) { return Sentence(Date{t}); }

int64_t DaysBetween(EventTime from, EventTime to) {
  return std::chrono::floor<std::chrono::days>(to - from).count();
}

int64_t CalendarDaysBetween(EventTime from, EventTime to) {
  return (std::chrono::floor<std::chrono::days>(to) - std::chrono::floor<std::chrono::days>(from))
      .count();
}

}  // namespace closeloop::matcher
