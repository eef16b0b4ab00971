// Reading a tenant's rules: the `defaults` section and each tenant's
// (SPEC §4). Part of the config reader (config.cc).
#include "app/config_rules.h"

#include <limits>
#include <optional>

#include "ingest/currency.h"

namespace closeloop::app::config_walk {

using matcher::Duration;
using matcher::TenantRules;

std::vector<std::pair<std::string, std::string>> TopicRoles(const TopicsConfig& t) {
  return {{"deals", t.deals.name},       {"orders", t.orders.name},
          {"invoices", t.invoices.name}, {"payments", t.payments.name},
          {"exceptions", t.exceptions},  {"dlq", t.dlq},
          {"commands", t.commands},      {"events", t.events}};
}

StringList RulesReader::Stages(const Field& f, bool allow_none) const {
  StringList out;
  for (const Field& item : Items(f)) out.push_back(Text(item, false));
  if (out.empty() && !allow_none) Fail(f, "must list at least one stage");
  return out;
}

void RulesReader::ReadRules(const Field& section, TenantRules& r,
                            const TopicsConfig& topics) const {
  std::optional<Field> stages;  // the last stage list given here, for the overlap check
  Apply(section,
        {{"closed_won_stages",
          [&](const Field& f) { r.closed_won_stages = Stages(f, false), stages = f; }},
         {"lost_stages", [&](const Field& f) { r.lost_stages = Stages(f, true), stages = f; }},
         {"order_window", DurTo(&r.order_window, false)},
         {"invoice_window", DurTo(&r.invoice_window, false)},
         {"milestone_grace", DurTo(&r.milestone_grace, true)},
         {"payment_grace", DurTo(&r.payment_grace, true)},
         {"orphan_window", DurTo(&r.orphan_window, false)},
         {"require_order", BoolTo(&r.require_order)},
         {"tolerance", [&](const Field& f) { ReadTolerance(f, r); }},
         {"required_fields", [&](const Field& f) { r.required_fields = RequiredFields(f); }},
         {"fuzzy_match", BoolTo(&r.fuzzy_match)},
         {"escalation_ages", [&](const Field& f) { r.escalation_ages = EscalationAges(f); }},
         {"severity_amounts_minor",
          [&](const Field& f) { r.severity_amounts_minor = SeverityAmounts(f); }},
         {"by_currency", [&](const Field& f) { ReadByCurrency(f, r); }},
         {"default_payment_terms_days", IntTo(&r.default_payment_terms_days, 0, 3650)},
         {"routing", [&](const Field& f) { ReadRouting(f, r.routing, topics); }}});
  if (stages) {
    for (const std::string& won : r.closed_won_stages) {
      if (!r.IsLost(won)) continue;
      Fail(*stages, "stage \"" + won + "\" is both won and lost" +
                        (matcher::IsDeletedStage(won)
                             ? " (source adapters give it to a deal its CRM deleted)"
                             : ""));
    }
  }
}

void RulesReader::ReadTolerance(const Field& section, TenantRules& r) const {
  Apply(section, {{"ratio",
                   [&](const Field& f) {
                     std::optional<int64_t> ppm =
                         ParseRatioPpm(f.value.IsScalar() ? f.value.Scalar() : "");
                     if (!ppm) {
                       Fail(f,
                            "expected a decimal from 0 to 1 with at most 6 decimal places "
                            "(e.g. 0.005 for 0.5%), got " +
                                Describe(f.value));
                     }
                     r.tolerance_ppm = *ppm;
                   }},
                  {"absolute_minor",
                   IntTo(&r.tolerance_absolute_minor, 0, std::numeric_limits<int64_t>::max())}});
}

StringList RulesReader::RequiredFields(const Field& f) const {
  const StringList known = {"po_number",     "vat_id", "billing_entity",     "customer_id",
                            "customer_name", "owner",  "payment_terms_days", "currency"};
  StringList out;
  for (const Field& item : Items(f)) {
    std::string name = OneOf(item, known);
    if (config_walk::Contains(out, name)) Fail(item, "\"" + name + "\" is listed twice");
    out.push_back(std::move(name));
  }
  return out;
}

std::vector<Duration> RulesReader::EscalationAges(const Field& f) const {
  std::vector<Duration> out;
  for (const Field& item : Items(f)) {
    Duration age = Dur(item, false);
    if (!out.empty() && age <= out.back()) {
      Fail(item, "ages must increase; this one is not longer than " + FormatDuration(out.back()));
    }
    out.push_back(age);
  }
  return out;
}

std::vector<int64_t> RulesReader::SeverityAmounts(const Field& f) const {
  std::vector<Field> items = Items(f);
  if (items.size() != 3) {
    Fail(f, "expected exactly 3 amounts (from P1, P2, P3), got " + std::to_string(items.size()));
  }
  std::vector<int64_t> out;
  for (const Field& item : items) {
    int64_t amount = Int(item, 1, std::numeric_limits<int64_t>::max());
    if (!out.empty() && amount >= out.back()) {
      Fail(item, "amounts must decrease (P1 highest); this one is not below " +
                     std::to_string(out.back()));
    }
    out.push_back(amount);
  }
  return out;
}

void RulesReader::ReadByCurrency(const Field& section, TenantRules& r) const {
  for (const Field& c : Entries(section, {}, "currency")) {
    if (!ingest::IsIsoCurrency(c.name)) {
      Fail(c, "\"" + c.name + "\" is not an ISO 4217 currency code (e.g. JPY)");
    }
    TenantRules::CurrencyAmounts& amounts = r.by_currency[c.name];
    amounts = {};
    Apply(c, {{"tolerance_absolute_minor",
               [&](const Field& f) {
                 amounts.tolerance_absolute_minor = Int(f, 0, std::numeric_limits<int64_t>::max());
               }},
              {"severity_amounts_minor",
               [&](const Field& f) { amounts.severity_amounts_minor = SeverityAmounts(f); }}});
  }
}

// A route's topic gets copies of exception records: one closeloop reads
// would feed it its own output, and the exceptions topic would get each
// record twice.
void RulesReader::ReadRouting(const Field& section, std::map<std::string, matcher::Route>& routing,
                              const TopicsConfig& topics) const {
  StringList kinds;
  for (const auto& [kind, route] : TenantRules::DefaultRouting()) kinds.push_back(kind);
  for (const Field& k : Entries(section, kinds, "exception kind")) {
    matcher::Route& route = routing[k.name];
    auto topic = [&](const Field& f) {
      route.topic = Topic(f, true);
      for (const auto& [role, name] : TopicRoles(topics)) {
        if (route.topic == name) {
          Fail(f, "topic \"" + name + "\" is topics." + role +
                      "; a route copies exception records to a topic of its own (empty: "
                      "only topics.exceptions)");
        }
      }
    };
    Apply(k, {{"team", TextTo(&route.team, false)}, {"topic", topic}});
  }
}

}  // namespace closeloop::app::config_walk
