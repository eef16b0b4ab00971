#include "matcher/slot_driver.h"

namespace closeloop::matcher {

Verdict SlotDriver::Evaluate(const DealState& state, Slot slot, EventTime at, Words words,
                             const TenantRules& rules) {
  switch (slot) {
    case Slot::kNotBillable:
      return EvaluateNotBillable(session_, state, rules, at, words);
    case Slot::kMissingOrder:
      return EvaluateMissingOrder(session_, state, rules, at, words);
    case Slot::kBilling:
      return EvaluateBilling(session_, state, rules, at, words);
    default:
      return {};
  }
}

bool SlotDriver::Finds(const DealState& state, Slot slot, EventTime at, const TenantRules& rules) {
  if (slot == Slot::kBilling) return BillingFinds(session_, state, rules, at);
  return Evaluate(state, slot, at, Words::kWithout, rules).finding.has_value();
}

Verdict SlotDriver::Evaluate(const InvoiceState& state, Slot slot, EventTime at, Words words,
                             const TenantRules& rules) {
  switch (slot) {
    case Slot::kTerms:
      return EvaluateTerms(session_, state, rules, at, words);
    case Slot::kUnpaid:
      return EvaluateUnpaid(session_, state, rules, at, words);
    case Slot::kOrphanInvoice:
      return EvaluateOrphanInvoice(session_, state, rules, at, words);
    default:
      return {};
  }
}

Verdict SlotDriver::Evaluate(const OrderState& state, Slot slot, EventTime at, Words words,
                             const TenantRules& rules) {
  if (slot != Slot::kOrphanOrder) return {};
  return EvaluateOrphanOrder(session_, state, rules, at, words);
}

void SlotDriver::Points(const DealState& state, Slot slot, const TenantRules& rules,
                        std::vector<EventTime>& points) {
  if (slot == Slot::kBilling) {
    BillingChangePoints(session_, state, rules, points);
  } else {
    DealChangePoints(session_, state, rules, slot, points);
  }
}

void SlotDriver::Points(const InvoiceState& state, Slot slot, const TenantRules& rules,
                        std::vector<EventTime>& points) {
  if (slot == Slot::kUnpaid) {
    UnpaidChangePoints(session_, state, rules, points);
  } else if (slot == Slot::kOrphanInvoice) {
    OrphanInvoiceChangePoints(session_, state, rules, points);
  } else {
    InvoiceLinkChangePoints(session_, state, points);
  }
}

void SlotDriver::Points(const OrderState& state, Slot, const TenantRules& rules,
                        std::vector<EventTime>& points) {
  OrphanOrderChangePoints(session_, state, rules, points);
}

EventTime SlotDriver::QuietUntil(const DealState& state, Slot slot, const TenantRules& rules) {
  if (slot == Slot::kBilling) return BillingQuietUntil(session_, state, rules);
  if (slot == Slot::kMissingOrder) return MissingOrderQuietUntil(state, rules);
  return NotBillableQuietUntil(state, rules);
}

EventTime SlotDriver::QuietUntil(const InvoiceState& state, Slot slot, const TenantRules& rules) {
  if (slot == Slot::kUnpaid) return UnpaidQuietUntil(state, rules);
  if (slot == Slot::kOrphanInvoice) return OrphanInvoiceQuietUntil(state, rules);
  return kMinTime;
}

EventTime SlotDriver::QuietUntil(const OrderState& state, Slot, const TenantRules& rules) {
  return OrphanOrderQuietUntil(state, rules);
}

}  // namespace closeloop::matcher
