// The subject states one engine call touches, in place in the Store, and
// the end of the call. Internal to the matcher. Lives for one Engine call.
#pragma once

#include "matcher/store.h"

namespace closeloop::matcher {

class Session {
 public:
  explicit Session(Store& store) : store_(store) {}

  // The state under the key, created empty when the store has none.
  // References stay valid for the session's lifetime.
  DealState& Deal(const TenantId& tenant, const DealId& id) { return store_.Deal(tenant, id); }
  OrderState& Order(const TenantId& tenant, const OrderId& id) { return store_.Order(tenant, id); }
  InvoiceState& Invoice(const TenantId& tenant, const InvoiceId& id) {
    return store_.Invoice(tenant, id);
  }

  // Ends the call: the store keeps what changed and drops what stayed empty.
  void Flush() { store_.EndCall(); }

 private:
  Store& store_;
};

// How sure a fuzzy link is (SPEC §5: "confidence below 1, say 0.8").
constexpr double kFuzzyConfidence = 0.8;

// What a document version links to: a deal (empty: none) and how sure the
// link is (1.0 by reference, kFuzzyConfidence when fuzzy matching decided it).
struct Link {
  DealId deal;
  double confidence = 1.0;
};

// The deal an order version points at: its deal_id, else the deal fuzzy
// matching linked the order to.
Link OrderLink(Session& session, const Order& order);
// The deal an invoice version points at, at event time `t`: its own deal_id,
// else its order's deal as of `t` (OrderLink), else (with no reference at
// all) the deal fuzzy matching linked it to.
Link InvoiceLink(Session& session, const Invoice& invoice, EventTime t);
inline DealId LinkedDeal(Session& session, const Invoice& invoice, EventTime t) {
  return InvoiceLink(session, invoice, t).deal;
}

}  // namespace closeloop::matcher
