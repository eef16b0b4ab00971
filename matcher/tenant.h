// A tenant's definitions (SPEC §4): its words for "won" and "lost", its
// windows, tolerance, escalation and routing. Plain values, copied freely.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "matcher/types.h"

namespace closeloop::matcher {

// Where an exception kind goes and who owns it.
struct Route {
  std::string team;   // e.g. "billing"
  std::string topic;  // extra topic the record is copied to; empty: none
};

// The stage of a deal its CRM deleted (a source adapter's delete, or a
// producer saying so): a lost deal to every tenant, whatever its
// lost_stages (a config counting it as won is refused).
inline constexpr char kDeletedStage[] = "Deleted";
// Whether `stage` is kDeletedStage, compared as SameStage does.
bool IsDeletedStage(std::string_view stage);
// Whether two stage names are the same stage: case-insensitively (SPEC §4),
// ignoring spaces and tabs around either.
bool SameStage(std::string_view a, std::string_view b);

struct TenantRules {
  // Stage names counted as closed-won, compared as SameStage does.
  // Default: ["Closed Won"]
  std::vector<std::string> closed_won_stages{"Closed Won"};
  // Stage names that withdraw a deal's expectations (kDeletedStage is always
  // one). Default: ["Closed Lost"]
  std::vector<std::string> lost_stages{"Closed Lost"};
  // No order linked this long after close opens MISSING_ORDER. Default: 3d
  Duration order_window = 3 * kDay;
  // One-time plans must be billed this long after close. Default: 30d
  Duration invoice_window = 30 * kDay;
  // Milestones and recurring periods must be billed this long after they are
  // due. Default: 7d
  Duration milestone_grace = 7 * kDay;
  // An invoice must be paid this long after its due date. Default: 5d
  Duration payment_grace = 5 * kDay;
  // An order or invoice linked to nothing this long becomes an orphan.
  // Default: 7d
  Duration orphan_window = 7 * kDay;
  // Whether a won deal must get an ERP order (MISSING_ORDER). Default: true
  bool require_order = true;
  // Amounts within max(ratio x expected, absolute) count as equal. The ratio
  // is kept in parts per million so that money never meets floating point.
  // Default: 5000 ppm (0.005)
  int64_t tolerance_ppm = 5000;
  // Default: 100 (minor units)
  int64_t tolerance_absolute_minor = 100;
  // Deal fields that must be present before billing, e.g. po_number, vat_id.
  // Default: []
  std::vector<std::string> required_fields;
  // Link documents that carry no reference to the only matching open deal.
  // Default: true
  bool fuzzy_match = true;
  // Ages at which an open exception escalates. Default: 7d, 30d, 90d
  std::vector<Duration> escalation_ages{7 * kDay, 30 * kDay, 90 * kDay};
  // Amount at risk (minor units) from which an exception is P1, P2, P3;
  // below the last it is P4. Default: 10000000, 1000000, 100000
  std::vector<int64_t> severity_amounts_minor{10'000'000, 1'000'000, 100'000};
  // Per currency (ISO code): the tolerance's absolute part and the severity
  // amounts in that currency's minor units, for a currency whose unit is
  // worth far from the one the general ones are set in (JPY, IDR). A field
  // an entry leaves out is the general one. Default: none
  struct CurrencyAmounts {
    std::optional<int64_t> tolerance_absolute_minor;
    std::optional<std::vector<int64_t>> severity_amounts_minor;
    bool operator==(const CurrencyAmounts&) const = default;
  };
  std::map<std::string, CurrencyAmounts, std::less<>> by_currency;
  // Team and topic per exception kind name (e.g. "UNPAID"). Default: SPEC §5
  // teams (sales, revops, billing, collections), no extra topic.
  std::map<std::string, Route> routing = DefaultRouting();
  // Payment terms of an invoice with neither due date nor terms of its own
  // (UNPAID does not wait for the CRM, so it does not read the deal's terms).
  // Default: 30
  int32_t default_payment_terms_days = 30;

  static std::map<std::string, Route> DefaultRouting();

  // max(ratio x expected, absolute), in minor units of `currency`.
  int64_t Tolerance(int64_t expected_minor, std::string_view currency) const;
  // The severity amounts in minor units of `currency`.
  const std::vector<int64_t>& SeverityAmounts(std::string_view currency) const;
  bool IsClosedWon(std::string_view stage) const;
  // Whether a deal going from stage `from` to stage `to` stays in the stage
  // it entered, for dating a deal sent without close_time (PutDeal): the same
  // stage, or from one closed-won stage to another (SPEC §2: a deal is booked
  // when it enters a closed-won stage).
  bool ContinuesStage(std::string_view from, std::string_view to) const;
  // In lost_stages, or kDeletedStage.
  bool IsLost(std::string_view stage) const;
  const Route& RouteFor(ExceptionKind kind) const;
};

}  // namespace closeloop::matcher

namespace closeloop::matcher {

// Every tenant's rules: the defaults, and the tenants configured apart.
struct TenantDirectory {
  TenantRules defaults;
  std::map<std::string, TenantRules, std::less<>> tenants;

  const TenantRules& For(const TenantId& tenant) const {
    auto it = tenants.find(std::string_view(tenant.value));
    return it == tenants.end() ? defaults : it->second;
  }
};

}  // namespace closeloop::matcher
