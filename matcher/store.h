// The matcher's seam to storage: subject states by key, and a timer index
// ordered by deadline. Implementations: MemoryStore (tests, in-process runs)
// and the RocksDB store in state/. Not thread-safe; one matcher task uses one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "matcher/state.h"

namespace closeloop::matcher {

// A timer: evaluate `slot` of subject `id` in `tenant` once the watermarks of
// the slot's sources reach `due`.
struct Timer {
  Slot slot;
  EventTime due;
  TenantId tenant;
  std::string id;  // the subject's id (deal, order or invoice id)
  auto operator<=>(const Timer&) const = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // Returns the state stored under the key, or nullopt.
  virtual std::optional<DealState> GetDeal(const TenantId& tenant, const DealId& id) = 0;
  virtual std::optional<OrderState> GetOrder(const TenantId& tenant, const OrderId& id) = 0;
  virtual std::optional<InvoiceState> GetInvoice(const TenantId& tenant, const InvoiceId& id) = 0;
  // Stores the state under its own tenant and id, replacing what was there.
  virtual void Put(const DealState& state) = 0;
  virtual void Put(const OrderState& state) = 0;
  virtual void Put(const InvoiceState& state) = 0;

  // The invoice a payment was last recorded against, if any.
  virtual std::optional<InvoiceId> GetPaymentInvoice(const TenantId& tenant,
                                                     const PaymentId& payment) = 0;
  virtual void PutPaymentInvoice(const TenantId& tenant, const PaymentId& payment,
                                 const InvoiceId& invoice) = 0;

  // The deals that ever named `customer`, for fuzzy matching.
  virtual std::vector<DealId> DealsOfCustomer(const TenantId& tenant,
                                              const CustomerId& customer) = 0;
  virtual void AddDealOfCustomer(const TenantId& tenant, const CustomerId& customer,
                                 const DealId& deal) = 0;

  virtual void AddTimer(const Timer& timer) = 0;
  virtual void RemoveTimer(const Timer& timer) = 0;
  // Timers of `slot` due at or before `upto`, in (due, tenant, id) order.
  // They stay in the index until removed.
  virtual std::vector<Timer> DueTimers(Slot slot, EventTime upto) = 0;
};

}  // namespace closeloop::matcher
