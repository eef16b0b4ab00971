// The subject states one engine call touches: loaded from the Store on first
// use, changed in place, written back by Flush. Internal to the matcher.
// Not thread-safe; lives for one Engine call.
#pragma once

#include <map>
#include <utility>

#include "matcher/store.h"

namespace closeloop::matcher {

class Session {
 public:
  explicit Session(Store& store) : store_(store) {}

  // The state under the key, created empty when the store has none.
  // References stay valid for the session's lifetime.
  DealState& Deal(const TenantId& tenant, const DealId& id);
  OrderState& Order(const TenantId& tenant, const OrderId& id);
  InvoiceState& Invoice(const TenantId& tenant, const InvoiceId& id);

  // Writes back every state that changed.
  void Flush();

 private:
  template <class State>
  struct Entry {
    State state;
    std::optional<State> original;  // as loaded; nullopt when created here
  };
  using Key = std::pair<std::string, std::string>;

  Store& store_;
  std::map<Key, Entry<DealState>> deals_;
  std::map<Key, Entry<OrderState>> orders_;
  std::map<Key, Entry<InvoiceState>> invoices_;
};

// The deal an invoice version points at, at event time `t`: its own deal_id,
// else its order's deal_id as of `t`, else (with no reference at all) the
// deal fuzzy matching linked it to. Empty when it points nowhere.
DealId LinkedDeal(Session& session, const Invoice& invoice, EventTime t);

}  // namespace closeloop::matcher
