#include "matcher/session.h"

namespace closeloop::matcher {

Link OrderLink(Session& session, const matcher::Order& order) {
  if (!order.deal.empty()) return {order.deal};
  const auto& fuzzy = session.Order(order.tenant, order.id).fuzzy.deal;
  return fuzzy ? Link{*fuzzy, kFuzzyConfidence} : Link{kNoDeal};
}

Link InvoiceLink(Session& session, const matcher::Invoice& invoice, EventTime t) {
  if (!invoice.deal.empty()) return {invoice.deal};
  if (invoice.order.empty()) {
    const auto& fuzzy = session.Invoice(invoice.tenant, invoice.id).fuzzy.deal;
    return fuzzy ? Link{*fuzzy, kFuzzyConfidence} : Link{kNoDeal};
  }
  const matcher::Order* order = session.Order(invoice.tenant, invoice.order).order.AsOf(t);
  return order == nullptr ? Link{kNoDeal} : OrderLink(session, *order);
}

}  // namespace closeloop::matcher
