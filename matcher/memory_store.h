// A Store held in memory: the fake for tests and the store of in-process runs
// until the RocksDB store replaces it. Not thread-safe.
#pragma once

#include <map>
#include <set>
#include <utility>

#include "matcher/store.h"

namespace closeloop::matcher {

class MemoryStore final : public Store {
 public:
  std::optional<DealState> GetDeal(const TenantId& tenant, const DealId& id) override {
    return Find(deals_, std::pair(tenant.value, id.value));
  }
  std::optional<OrderState> GetOrder(const TenantId& tenant, const OrderId& id) override {
    return Find(orders_, std::pair(tenant.value, id.value));
  }
  std::optional<InvoiceState> GetInvoice(const TenantId& tenant, const InvoiceId& id) override {
    return Find(invoices_, std::pair(tenant.value, id.value));
  }
  void Put(const DealState& s) override { deals_[{s.tenant.value, s.id.value}] = s; }
  void Put(const OrderState& s) override { orders_[{s.tenant.value, s.id.value}] = s; }
  void Put(const InvoiceState& s) override { invoices_[{s.tenant.value, s.id.value}] = s; }

  std::optional<InvoiceId> GetPaymentInvoice(const TenantId& tenant,
                                             const PaymentId& payment) override {
    return Find(payment_invoices_, std::pair(tenant.value, payment.value));
  }
  void PutPaymentInvoice(const TenantId& tenant, const PaymentId& payment,
                         const InvoiceId& invoice) override {
    payment_invoices_[{tenant.value, payment.value}] = invoice;
  }

  std::vector<DealId> DealsOfCustomer(const TenantId& tenant, const CustomerId& customer) override {
    auto it = customer_deals_.find({tenant.value, customer.value});
    return it == customer_deals_.end() ? std::vector<DealId>{} : it->second;
  }
  void AddDealOfCustomer(const TenantId& tenant, const CustomerId& customer,
                         const DealId& deal) override {
    InsertSorted(customer_deals_[{tenant.value, customer.value}], deal);
  }

  void AddTimer(const Timer& timer) override { timers_.insert(timer); }
  void RemoveTimer(const Timer& timer) override { timers_.erase(timer); }
  std::vector<Timer> DueTimers(Slot slot, EventTime upto) override {
    std::vector<Timer> due;
    for (auto it = timers_.lower_bound(Timer{slot, kMinTime, {}, {}});
         it != timers_.end() && it->slot == slot && it->due <= upto; ++it) {
      due.push_back(*it);
    }
    return due;
  }

  size_t deal_count() const { return deals_.size(); }
  size_t timer_count() const { return timers_.size(); }

 private:
  using Key = std::pair<std::string, std::string>;
  template <class Map>
  static std::optional<typename Map::mapped_type> Find(const Map& map, const Key& key) {
    auto it = map.find(key);
    if (it == map.end()) return std::nullopt;
    return it->second;
  }

  std::map<Key, DealState> deals_;
  std::map<Key, OrderState> orders_;
  std::map<Key, InvoiceState> invoices_;
  std::map<Key, InvoiceId> payment_invoices_;
  std::map<Key, std::vector<DealId>> customer_deals_;
  std::set<Timer> timers_;
};

}  // namespace closeloop::matcher
