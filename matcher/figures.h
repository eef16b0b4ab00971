// What one deal contributes to its tenant's books (SPEC §2), the figures a
// CFO report sums: booked, billed and collected. The engine reports a deal's
// figures whenever they change, with what it reported before, so a consumer
// can keep running totals exactly (and bucket them by close date, for
// "realization over deals closed in a trailing period"). The change names
// the deal, not the figures: the engine keeps the last figures in the deal's
// state, whose key names it, and copying three strings per figures was 4% of
// the matcher's instructions (bench/README.md, "Profile-guided
// optimization").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "matcher/types.h"

namespace closeloop::matcher {

struct DealFigures {
  Text currency;                // the deal's currency; all three amounts are in it
  EventTime closed_at;          // the latest version's close time (booked or not)
  bool booked = false;          // closed-won and not since lost or deleted
  int64_t booked_minor = 0;     // the deal amount while booked, else 0
  int64_t billed_minor = 0;     // linked invoices minus credit memos, voids excluded
  int64_t collected_minor = 0;  // successful payments minus refunds on those invoices
  // Event times of the first invoice and the first successful payment linked
  // to the deal, for the close-to-invoice and invoice-to-payment latencies.
  std::optional<EventTime> first_billed_at;
  std::optional<EventTime> first_collected_at;
  bool operator==(const DealFigures&) const = default;
};

// One change of a deal's figures. `before` is what was last reported for the
// deal (nullopt the first time); a consumer subtracts it and adds `after`.
struct FiguresChange {
  TenantId tenant;  // the deal's
  DealId deal;
  std::optional<DealFigures> before;
  DealFigures after;
  EventTime at;  // event time of the document (or timer) that changed them
  bool operator==(const FiguresChange&) const = default;
};

}  // namespace closeloop::matcher
