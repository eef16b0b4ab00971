#include "matcher/session.h"

namespace closeloop::matcher {
namespace {

template <class Map, class Load>
auto& GetOrCreate(Map& map, const TenantId& tenant, const std::string& id, Load load) {
  auto key = std::pair(tenant.value, id);
  auto it = map.find(key);
  if (it != map.end()) return it->second.state;
  auto& entry = map[key];
  entry.original = load();
  if (entry.original) {
    entry.state = *entry.original;
  } else {
    entry.state.tenant = tenant;
    entry.state.id.value = id;
  }
  return entry.state;
}

template <class Map>
void FlushAll(Map& map, Store& store) {
  for (auto& [key, entry] : map) {
    using State = std::decay_t<decltype(entry.state)>;
    State fresh;
    fresh.tenant = entry.state.tenant;
    fresh.id = entry.state.id;
    // A state looked up but never filled is not worth storing.
    const bool untouched = entry.original ? *entry.original == entry.state : entry.state == fresh;
    if (!untouched) {
      store.Put(entry.state);
      entry.original = entry.state;
    }
  }
}

}  // namespace

DealState& Session::Deal(const TenantId& tenant, const DealId& id) {
  return GetOrCreate(deals_, tenant, id.value, [&] { return store_.GetDeal(tenant, id); });
}

OrderState& Session::Order(const TenantId& tenant, const OrderId& id) {
  return GetOrCreate(orders_, tenant, id.value, [&] { return store_.GetOrder(tenant, id); });
}

InvoiceState& Session::Invoice(const TenantId& tenant, const InvoiceId& id) {
  return GetOrCreate(invoices_, tenant, id.value, [&] { return store_.GetInvoice(tenant, id); });
}

void Session::Flush() {
  FlushAll(deals_, store_);
  FlushAll(orders_, store_);
  FlushAll(invoices_, store_);
}

Link OrderLink(Session& session, const matcher::Order& order) {
  if (!order.deal.empty()) return {order.deal};
  const auto& fuzzy = session.Order(order.tenant, order.id).fuzzy.deal;
  return fuzzy ? Link{*fuzzy, kFuzzyConfidence} : Link{};
}

Link InvoiceLink(Session& session, const matcher::Invoice& invoice, EventTime t) {
  if (!invoice.deal.empty()) return {invoice.deal};
  if (invoice.order.empty()) {
    const auto& fuzzy = session.Invoice(invoice.tenant, invoice.id).fuzzy.deal;
    return fuzzy ? Link{*fuzzy, kFuzzyConfidence} : Link{};
  }
  const matcher::Order* order = session.Order(invoice.tenant, invoice.order).order.AsOf(t);
  return order == nullptr ? Link{} : OrderLink(session, *order);
}

}  // namespace closeloop::matcher
