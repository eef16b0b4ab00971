// ISO 4217 currency codes accepted on input. Pure; thread-safe.
#pragma once

#include <string_view>

namespace closeloop::ingest {

// True when `code` is an ISO 4217 alphabetic code of something amounts can be
// counted in (see currency.cc for which codes that is).
bool IsIsoCurrency(std::string_view code);

}  // namespace closeloop::ingest
