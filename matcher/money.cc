#include "matcher/money.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace closeloop::matcher {

int MinorDigits(const std::string& currency) {
  static constexpr std::array<std::string_view, 17> kZero = {
      "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
      "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::array<std::string_view, 7> kThree = {"BHD", "IQD", "JOD", "KWD",
                                                             "LYD", "OMR", "TND"};
  static constexpr std::array<std::string_view, 2> kFour = {"CLF", "UYW"};
  auto in = [&](const auto& list) {
    return std::find(list.begin(), list.end(), currency) != list.end();
  };
  if (in(kZero)) return 0;
  if (in(kThree)) return 3;
  if (in(kFour)) return 4;
  return 2;
}

std::string FormatMoney(int64_t minor, const std::string& currency) {
  const bool negative = minor < 0;
  // Work in unsigned so that INT64_MIN has a magnitude.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  const int digits = MinorDigits(currency);
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string whole = std::to_string(magnitude / scale);
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  std::string out;
  if (negative) out += '-';
  if (!currency.empty()) out += currency + ' ';
  out += grouped;
  if (digits > 0) {
    std::string frac = std::to_string(magnitude % scale);
    out += '.' + std::string(digits - frac.size(), '0') + frac;
  }
  return out;
}

std::string FormatDate(EventTime t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

int64_t DaysBetween(EventTime from, EventTime to) {
  return std::chrono::floor<std::chrono::days>(to - from).count();
}

int64_t CalendarDaysBetween(EventTime from, EventTime to) {
  return (std::chrono::floor<std::chrono::days>(to) - std::chrono::floor<std::chrono::days>(from))
      .count();
}

}  // namespace closeloop::matcher
