#include "matcher/tenant.h"

#include <algorithm>
#include <cstdint>
#include <locale>
#include <stdexcept>

namespace closeloop::matcher {
namespace {

// Stage names compare case-insensitively (SPEC §4), without the blanks
// around them: ASCII without a call per character; other letters ("GAGNÉ"
// and "Gagné") by Unicode's simple case mapping, as towlower does in the
// C.UTF-8 locale (built into glibc). Without that locale they compare in
// ASCII only.
char FoldCase(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

const std::ctype<wchar_t>* UnicodeCase() {
  static const std::ctype<wchar_t>* const facet = []() -> const std::ctype<wchar_t>* {
    try {
      static const std::locale utf8("C.UTF-8");
      return &std::use_facet<std::ctype<wchar_t>>(utf8);
    } catch (const std::runtime_error&) {
      return nullptr;
    }
  }();
  return facet;
}

// In words, as SameText compares: IsClosedWon asks it of most stages it
// compares, which costs 0.6% of the matcher's instructions (1.2% as a byte
// loop; callgrind, bench_matcher's 50k-deal replay).
bool IsAscii(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t bits = 0;
  if (n >= 8) {
    for (size_t i = 0; i + 8 <= n; i += 8) bits |= Load<uint64_t>(p + i);
    bits |= Load<uint64_t>(p + n - 8);
  } else if (n >= 4) {
    bits = Load<uint32_t>(p) | Load<uint32_t>(p + n - 4);
  } else {
    for (size_t i = 0; i < n; ++i) bits |= static_cast<unsigned char>(p[i]);
  }
  return (bits & 0x8080808080808080ULL) == 0;
}

// The code point of UTF-8 text at `i`, moving `i` past it. Input text is
// valid UTF-8 (ingest refuses other as invalid_utf8); a byte that starts no
// whole sequence stands for itself all the same.
char32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  const size_t length = lead < 0x80    ? 1
                        : lead >= 0xf0 ? 4
                        : lead >= 0xe0 ? 3
                        : lead >= 0xc0 ? 2
                                       : 1;
  if (length == 1 || i + length > s.size()) return byte(i++);
  char32_t c = lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) c = c << 6 | (byte(i + k) & 0x3f);
  i += length;
  return c;
}

// Both texts, blanks around them already trimmed, the same but for case.
bool EqualsFolded(std::string_view a, std::string_view b) {
  const std::ctype<wchar_t>* unicode = UnicodeCase();
  if (unicode == nullptr || (IsAscii(a) && IsAscii(b))) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return FoldCase(x) == FoldCase(y);
           });
  }
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (unicode->tolower(static_cast<wchar_t>(NextCodePoint(a, i))) !=
        unicode->tolower(static_cast<wchar_t>(NextCodePoint(b, j)))) {
      return false;
    }
  }
  return i == a.size() && j == b.size();
}

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
  // billing evaluation), and a stage of another size, in ASCII without
  // blanks around it, is another stage.
  // Letters outside ASCII may change their length in UTF-8 with their case.
  if (a.size() == b.size()) {
    if (SameText(a, b)) return true;
  } else if (!HasBlankAround(a) && !HasBlankAround(b) && IsAscii(a) && IsAscii(b)) {
    return false;
  }
  return EqualsFolded(TrimBlanks(a), TrimBlanks(b));
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
