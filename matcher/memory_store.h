// A Store held in memory: the fake for tests and the store of benchmarks and
// in-process runs. States live in hash maps, whose elements never move, so
// the matcher changes them in place. Not thread-safe.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "matcher/store.h"

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
    auto it = payment_invoices_.find(KeyView{tenant.value, payment.value});
    if (it == payment_invoices_.end()) return std::nullopt;
    return it->second;
  }
  void PutPaymentInvoice(const TenantId& tenant, const PaymentId& payment,
                         const InvoiceId& invoice) override {
    payment_invoices_[{tenant.value, payment.value}] = invoice;
  }

  std::vector<DealId> DealsOfCustomer(const TenantId& tenant, const CustomerId& customer) override {
    auto it = customer_deals_.find(KeyView{tenant.value, customer.value});
    return it == customer_deals_.end() ? std::vector<DealId>{} : it->second;
  }
  void AddDealOfCustomer(const TenantId& tenant, const CustomerId& customer,
                         const DealId& deal) override {
    InsertSorted(customer_deals_[{tenant.value, customer.value}], deal);
  }

  void AddTimer(const Timer& timer) override { timers_.insert(timer); }
  void RemoveTimer(const Timer& timer) override { timers_.erase(timer); }
  using Store::DueTimers;
  std::vector<Timer> DueTimers(Slot slot, EventTime upto, const std::optional<Timer>& after,
                               size_t limit) override {
    std::vector<Timer> due;
    for (auto it = after ? timers_.upper_bound(*after)
                         : timers_.lower_bound({slot, kMinTime, {}, {}});
         it != timers_.end() && it->slot == slot && it->due <= upto && due.size() < limit; ++it) {
      due.push_back(*it);
    }
    return due;
  }

  size_t deal_count() const { return deals_.size(); }
  size_t timer_count() const { return timers_.size(); }

 private:
  // (tenant, id), looked up without copying either string.
  using Key = std::pair<std::string, std::string>;
  using KeyView = std::pair<std::string_view, std::string_view>;
  // A Key converts to a KeyView, so one overload serves both.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(KeyView k) const {
      const size_t h = std::hash<std::string_view>{}(k.first);
      return h ^ (std::hash<std::string_view>{}(k.second) + 0x9e3779b97f4a7c15ULL + (h << 6) +
                  (h >> 2));
    }
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(KeyView a, KeyView b) const { return a == b; }
  };
  template <class T>
  using Map = std::unordered_map<Key, T, KeyHash, KeyEqual>;

  // The state under the key, created empty (and remembered as created by
  // this call) when absent.
  template <class State, class IdT>
  static State& Touch(Map<State>& map, std::vector<const Key*>& created, const TenantId& tenant,
                      const IdT& id) {
    if (auto it = map.find(KeyView{tenant.value, id.value}); it != map.end()) return it->second;
    auto [it, fresh] = map.try_emplace(Key{tenant.value, id.value});
    it->second.tenant = tenant;
    it->second.id = id;
    created.push_back(&it->first);
    return it->second;
  }
  // Only states created in this call can be empty: nothing empties a state.
  template <class State>
  static void DropEmpty(Map<State>& map, std::vector<const Key*>& created) {
    for (const Key* key : created) {
      auto it = map.find(*key);
      if (IsEmpty(it->second)) map.erase(it);
    }
    created.clear();
  }

  Map<DealState> deals_;
  Map<OrderState> orders_;
  Map<InvoiceState> invoices_;
  std::vector<const Key*> created_deals_, created_orders_, created_invoices_;
  Map<InvoiceId> payment_invoices_;
  Map<std::vector<DealId>> customer_deals_;
  std::set<Timer> timers_;
};

}  // namespace closeloop::matcher
