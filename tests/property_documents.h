// The documents the property test (property_test.cc) adds to every generated
// sample company. For tests only.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "matcher/types.h"

namespace closeloop::property {

// The wall-clock time the generated companies are made at.
constexpr matcher::EventTime kNow =
    matcher::EventTime(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23));

// Documents added to every generated company, in each of its tenants under
// the same ids, for what the sample company does not show (or shows only in
// some seeds): recurring plans, deal amount changes, won deals lost later,
// cancelled orders, credit memos, voids and re-issues, partial, failed,
// refunded and moved payments, fuzzy links of invoices and orders with one
// and two candidates, documents older than their deal's first version, and
// every exception kind. Their ids start with "X-"; their times vary by seed.
std::vector<matcher::Document> ExtraDocuments(uint32_t seed);

}  // namespace closeloop::property
