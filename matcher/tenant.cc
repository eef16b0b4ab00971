#include "matcher/tenant.h"

#include <algorithm>
#include <cstdint>

namespace closeloop::matcher {
namespace {

// Stage names compare case-insensitively in ASCII, as std::tolower does in
// the "C" locale, without a call per character, and without the blanks
// around them.
char FoldCase(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Without the spaces and tabs around it: a CRM column of fixed width
// (CHAR(n), through a CDC adapter) pads its stage names with spaces.
bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool HasBlankAround(std::string_view s) {
  return !s.empty() && (IsBlank(s.front()) || IsBlank(s.back()));
}
std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  // Stages mostly come spelled as configured: one comparison of words
  // decides those (memcmp's call cost more; IsClosedWon is asked at every
  // billing evaluation), and a stage of another size without blanks around
  // it is another stage.
  if (a.size() == b.size()) {
    if (SameText(a, b)) return true;
  } else if (!HasBlankAround(a) && !HasBlankAround(b)) {
    return false;
  }
  a = TrimBlanks(a);
  b = TrimBlanks(b);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (FoldCase(a[i]) != FoldCase(b[i])) return false;
  }
  return true;
}

bool ContainsIgnoreCase(const std::vector<std::string>& list, std::string_view s) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& x) { return EqualsIgnoreCase(x, s); });
}

}  // namespace

std::map<std::string, Route> TenantRules::DefaultRouting() {
  return {
      {"NOT_BILLABLE", {"sales", ""}},      {"MISSING_ORDER", {"revops", ""}},
      {"MISSING_INVOICE", {"billing", ""}}, {"UNDER_BILLED", {"billing", ""}},
      {"OVER_BILLED", {"billing", ""}},     {"TERMS_MISMATCH", {"billing", ""}},
      {"UNPAID", {"collections", ""}},      {"ORPHAN_ORDER", {"revops", ""}},
      {"ORPHAN_INVOICE", {"revops", ""}},
  };
}

int64_t TenantRules::Tolerance(int64_t expected_minor, std::string_view currency) const {
  // tolerance_ppm is at most 1'000'000, so e * tolerance_ppm overflows only
  // beyond 9.2e12 minor units; above that the product is split (the same
  // result: e = q * 1'000'000 + r gives q * ppm + r * ppm / 1'000'000 both ways).
  const int64_t e = expected_minor < 0 ? -expected_minor : expected_minor;
  constexpr int64_t kExact = INT64_MAX / 1'000'000;
  const int64_t scaled =
      e <= kExact ? e * tolerance_ppm / 1'000'000
                  : e / 1'000'000 * tolerance_ppm + e % 1'000'000 * tolerance_ppm / 1'000'000;
  int64_t absolute = tolerance_absolute_minor;
  if (!by_currency.empty()) {
    auto it = by_currency.find(currency);
    if (it != by_currency.end() && it->second.tolerance_absolute_minor) {
      absolute = *it->second.tolerance_absolute_minor;
    }
  }
  return std::max(scaled, absolute);
}

const std::vector<int64_t>& TenantRules::SeverityAmounts(std::string_view currency) const {
  auto it = by_currency.find(currency);
  if (it != by_currency.end() && it->second.severity_amounts_minor) {
    return *it->second.severity_amounts_minor;
  }
  return severity_amounts_minor;
}

bool TenantRules::IsClosedWon(std::string_view stage) const {
  return ContainsIgnoreCase(closed_won_stages, stage);
}

bool TenantRules::ContinuesStage(std::string_view from, std::string_view to) const {
  return SameStage(from, to) || (IsClosedWon(from) && IsClosedWon(to));
}

bool SameStage(std::string_view a, std::string_view b) { return EqualsIgnoreCase(a, b); }

bool IsDeletedStage(std::string_view stage) { return EqualsIgnoreCase(stage, kDeletedStage); }

bool TenantRules::IsLost(std::string_view stage) const {
  return ContainsIgnoreCase(lost_stages, stage) || IsDeletedStage(stage);
}

const Route& TenantRules::RouteFor(ExceptionKind kind) const {
  static const Route kUnrouted{"unrouted", ""};
  auto it = routing.find(KindName(kind));
  return it == routing.end() ? kUnrouted : it->second;
}

}  // namespace closeloop::matcher
