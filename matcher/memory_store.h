// A Store held in memory: the fake for tests and the store of benchmarks and
// in-process runs. States live in StateTables, where they never move, so
// the matcher changes them in place. Not thread-safe.
#pragma once

#include <algorithm>
#include <vector>

#include "matcher/state_table.h"
#include "matcher/store.h"
#include "matcher/timer_index.h"

namespace closeloop::matcher {

class MemoryStore final : public Store {
 public:
  DealState& Deal(const TenantId& tenant, const DealId& id) override {
    return Touch(deals_, created_deals_, tenant, id);
  }
  OrderState& Order(const TenantId& tenant, const OrderId& id) override {
    return Touch(orders_, created_orders_, tenant, id);
  }
  InvoiceState& Invoice(const TenantId& tenant, const InvoiceId& id) override {
    return Touch(invoices_, created_invoices_, tenant, id);
  }
  void EndCall() override {
    DropEmpty(deals_, created_deals_);
    DropEmpty(orders_, created_orders_);
    DropEmpty(invoices_, created_invoices_);
  }

  std::optional<InvoiceId> GetPaymentInvoice(const TenantId& tenant,
                                             const PaymentId& payment) override {
    const PaymentInvoice* found = payment_invoices_.Find(tenant.value, payment.value);
    if (found == nullptr) return std::nullopt;
    return found->invoice;
  }
  void PutPaymentInvoice(const TenantId& tenant, const PaymentId& payment,
                         const InvoiceId& invoice) override {
    payment_invoices_.FindOrCreate(tenant, payment).first->invoice = invoice;
  }

  // Deals are appended as added and put in order, once, when asked for: a
  // deal is added once per customer (the engine adds nothing a deal's earlier
  // version added), a customer's deals are asked for only to match a document
  // without references, and a large customer has thousands of deals.
  std::vector<DealId> DealsOfCustomer(const TenantId& tenant, const CustomerId& customer) override {
    CustomerDeals* deals = customer_deals_.Find(tenant.value, customer.value);
    if (deals == nullptr) return {};
    if (deals->sorted < deals->ids.size()) {
      std::sort(deals->ids.begin(), deals->ids.end());
      deals->ids.erase(std::unique(deals->ids.begin(), deals->ids.end()), deals->ids.end());
      deals->sorted = deals->ids.size();
    }
    return deals->ids;
  }
  void AddDealOfCustomer(const TenantId& tenant, const CustomerId& customer,
                         const DealId& deal) override {
    customer_deals_.FindOrCreate(tenant, customer).first->ids.push_back(deal);
  }

  // Sorts the tenant's ids at every call: it serves tests and in-process
  // runs, which never resettle many subjects.
  std::vector<std::string> SubjectIds(SubjectType type, const TenantId& tenant,
                                      const std::optional<std::string>& after,
                                      size_t limit) override {
    std::vector<std::string> ids;
    auto add = [&](const auto& state) {
      if (state.tenant == tenant && (!after || *after < state.id.value)) {
        ids.push_back(state.id.value);
      }
    };
    switch (type) {
      case SubjectType::kDeal:
        deals_.ForEach(add);
        break;
      case SubjectType::kOrder:
        orders_.ForEach(add);
        break;
      case SubjectType::kInvoice:
        invoices_.ForEach(add);
        break;
    }
    std::sort(ids.begin(), ids.end());
    if (ids.size() > limit) ids.resize(limit);
    return ids;
  }

  void AddTimer(const TimerRef& timer) override { timers_.Add(timer); }
  void RemoveTimer(const TimerRef& timer) override { timers_.Remove(timer); }
  using Store::DueTimers;
  std::vector<Timer> DueTimers(Slot slot, EventTime upto, const std::optional<Timer>& after,
                               size_t limit) override {
    return timers_.Due(slot, upto, after, limit);
  }

  size_t deal_count() const { return deals_.size(); }
  size_t timer_count() const { return timers_.size(); }

 private:
  // The payment index and the customer index are keyed like subject states,
  // so they live in StateTables too: a lookup is a probe and the entry, not a
  // node-based map's bucket, node before and node.
  struct PaymentInvoice {
    TenantId tenant;
    PaymentId id;
    InvoiceId invoice;  // the invoice the payment's latest version names
  };
  struct CustomerDeals {
    TenantId tenant;
    CustomerId id;
    std::vector<DealId> ids;  // in order up to `sorted`, then as added
    size_t sorted = 0;
  };

  // The state under the key, created empty (and remembered as created by
  // this call) when absent.
  template <class State, class IdT>
  static State& Touch(StateTable<State>& table, std::vector<State*>& created,
                      const TenantId& tenant, const IdT& id) {
    auto [state, fresh] = table.FindOrCreate(tenant, id);
    if (fresh) created.push_back(state);
    return *state;
  }
  // Only states created in this call can be empty: nothing empties a state.
  template <class State>
  static void DropEmpty(StateTable<State>& table, std::vector<State*>& created) {
    for (State* state : created) {
      if (IsEmpty(*state)) table.Erase(state);
    }
    created.clear();
  }

  StateTable<DealState> deals_;
  StateTable<OrderState> orders_;
  StateTable<InvoiceState> invoices_;
  std::vector<DealState*> created_deals_;
  std::vector<OrderState*> created_orders_;
  std::vector<InvoiceState*> created_invoices_;
  StateTable<PaymentInvoice> payment_invoices_;
  StateTable<CustomerDeals> customer_deals_;
  TimerIndex timers_;
};

}  // namespace closeloop::matcher
