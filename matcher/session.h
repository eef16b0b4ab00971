// The subject states one engine call touches, in place in the Store, and
// the end of the call. Internal to the matcher. Lives for one Engine call.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "matcher/store.h"

namespace closeloop::matcher {

class Session {
 public:
  explicit Session(Store& store) : store_(store) {}

  // The state under the key, created empty when the store has none.
  // References stay valid for the session's lifetime.
  DealState& Deal(const TenantId& tenant, const DealId& id) {
    return deals_.Get(store_, tenant, id);
  }
  OrderState& Order(const TenantId& tenant, const OrderId& id) {
    return orders_.Get(store_, tenant, id);
  }
  InvoiceState& Invoice(const TenantId& tenant, const InvoiceId& id) {
    return invoices_.Get(store_, tenant, id);
  }

  // Ends the call: the store keeps what changed and drops what stayed empty.
  void Flush() { store_.EndCall(); }

  // HasCreditMemo's answers for the deals asked last: UNPAID asks it of the
  // same deal several times per document. Whoever changes which invoices a
  // deal has, or their kind, forgets them (ForgetCredit).
  const bool* KnownCredit(const DealState& deal) const {
    for (const auto& [known, credit] : credit_) {
      if (known == &deal) return &credit;
    }
    return nullptr;
  }
  void RememberCredit(const DealState& deal, bool credit) {
    credit_[next_credit_++ % credit_.size()] = {&deal, credit};
  }
  void ForgetCredit() { credit_ = {}; }

 private:
  // The states looked up last: a call asks for the same few subjects many
  // times, and comparing a few short ids costs less than a store lookup.
  template <class State>
  class Recent {
   public:
    template <class IdT>
    State& Get(Store& store, const TenantId& tenant, const IdT& id) {
      // The one found last first: a call mostly asks again for it.
      if (State* s = states_[last_]; s != nullptr && Is(*s, tenant, id)) return *s;
      // Filled from the front: a call mostly touches fewer than the eight.
      const size_t filled = std::min(next_, states_.size());
      for (size_t i = 0; i < filled; ++i) {
        if (Is(*states_[i], tenant, id)) {
          last_ = i;
          return *states_[i];
        }
      }
      State* found = &Lookup(store, tenant, id);
      last_ = next_++ % states_.size();
      states_[last_] = found;
      return *found;
    }

   private:
    template <class IdT>
    static bool Is(const State& s, const TenantId& tenant, const IdT& id) {
      return s.id.value == id.value && s.tenant.value == tenant.value;
    }
    static DealState& Lookup(Store& store, const TenantId& t, const DealId& id) {
      return store.Deal(t, id);
    }
    static OrderState& Lookup(Store& store, const TenantId& t, const OrderId& id) {
      return store.Order(t, id);
    }
    static InvoiceState& Lookup(Store& store, const TenantId& t, const InvoiceId& id) {
      return store.Invoice(t, id);
    }
    std::array<State*, 8> states_{};
    size_t next_ = 0;
    size_t last_ = 0;
  };

  Store& store_;
  std::array<std::pair<const DealState*, bool>, 4> credit_{};
  size_t next_credit_ = 0;
  Recent<DealState> deals_;
  Recent<OrderState> orders_;
  Recent<InvoiceState> invoices_;
};

// How sure a fuzzy link is (SPEC §5: "confidence below 1, say 0.8").
constexpr double kFuzzyConfidence = 0.8;

// What a document version links to: a deal (empty: none) and how sure the
// link is (1.0 by reference, kFuzzyConfidence when fuzzy matching decided it).
// The deal id is the one in the document or state that names it, not a copy:
// links are asked for at every evaluation of billing. Valid while the
// document and the session's states are.
struct Link {
  const DealId& deal;
  double confidence = 1.0;
};
// The empty id of a link to no deal.
inline const DealId kNoDeal{};

// The deal an order version points at, at event time `t`: its deal_id, else
// the deal fuzzy matching linked the order to by then, if the version names
// a customer of that deal.
Link OrderLink(Session& session, const Order& order, EventTime t);
// The deal an invoice version points at, at event time `t`: its own deal_id,
// else its order's deal as of `t` (OrderLink), else (with no reference at
// all) the deal fuzzy matching linked it to, if the version names a customer
// of that deal (by `t`).
Link InvoiceLink(Session& session, const Invoice& invoice, EventTime t);
inline const DealId& LinkedDeal(Session& session, const Invoice& invoice, EventTime t) {
  return InvoiceLink(session, invoice, t).deal;
}

}  // namespace closeloop::matcher
