#include "matcher/session.h"

namespace closeloop::matcher {

namespace {

// A fuzzy link holds from its `linked_at` for the versions of its document
// that name a customer of its deal (SPEC §5: the deal of the same
// customer): one corrected to another customer bills or orders nothing for
// the deal.
Link FuzzyLinkOf(Session& session, const TenantId& tenant, const FuzzyLink& fuzzy,
                 const CustomerId& customer, EventTime t) {
  if (!fuzzy.deal || t < fuzzy.linked_at) return {kNoDeal};
  const std::vector<matcher::Deal>& versions = session.Deal(tenant, *fuzzy.deal).deal.versions;
  const bool same = std::any_of(versions.begin(), versions.end(),
                                [&](const matcher::Deal& d) { return d.customer == customer; });
  return same ? Link{*fuzzy.deal, kFuzzyConfidence} : Link{kNoDeal};
}

}  // namespace

Link OrderLink(Session& session, const matcher::Order& order, EventTime t) {
  if (!order.deal.empty()) return {order.deal};
  return FuzzyLinkOf(session, order.tenant, session.Order(order.tenant, order.id).fuzzy,
                     order.customer, t);
}

Link InvoiceLink(Session& session, const matcher::Invoice& invoice, EventTime t) {
  if (!invoice.deal.empty()) return {invoice.deal};
  if (invoice.order.empty()) {
    return FuzzyLinkOf(session, invoice.tenant, session.Invoice(invoice.tenant, invoice.id).fuzzy,
                       invoice.customer, t);
  }
  const matcher::Order* order = session.Order(invoice.tenant, invoice.order).order.AsOf(t);
  return order == nullptr ? Link{kNoDeal} : OrderLink(session, *order, t);
}

}  // namespace closeloop::matcher
