// The matcher's seam to storage: subject states by key, and a timer index
// ordered by deadline. Implementations: MemoryStore (tests, in-process runs)
// and the RocksDB store in state/. Not thread-safe; one matcher task uses one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "matcher/state.h"

namespace closeloop::matcher {

// A timer named by views, to add or remove one: the matcher does so at most
// documents, and a Timer would copy both strings each time.
struct TimerRef {
  Slot slot;
  EventTime due;
  std::string_view tenant;
  std::string_view id;
};

// A timer: evaluate `slot` of subject `id` in `tenant` once the watermarks of
// the slot's sources reach `due`.
struct Timer {
  Slot slot;
  EventTime due;
  TenantId tenant;
  std::string id;  // the subject's id (deal, order or invoice id)
  auto operator<=>(const Timer&) const = default;
  operator TimerRef() const { return {slot, due, tenant.value, id}; }
  static Timer Of(const TimerRef& ref) {
    return {ref.slot, ref.due, TenantId{std::string(ref.tenant)}, std::string(ref.id)};
  }
};

class Store {
 public:
  virtual ~Store() = default;

  // The subject's state, in place: the matcher reads and changes it through
  // the reference. A state the store does not have is created empty (only
  // tenant and id set). References stay valid until EndCall.
  virtual DealState& Deal(const TenantId& tenant, const DealId& id) = 0;
  virtual OrderState& Order(const TenantId& tenant, const OrderId& id) = 0;
  virtual InvoiceState& Invoice(const TenantId& tenant, const InvoiceId& id) = 0;
  // The matcher is done with the states handed out since the last EndCall.
  // Each may have changed and is kept (a persistent store writes it with its
  // next commit); one created by the call and still empty is dropped.
  virtual void EndCall() = 0;

  // Copies in and out, for tests and tools: the state stored under the key
  // (nullopt when there is none), and a whole state stored under its own
  // tenant and id. Both end a call.
  std::optional<DealState> GetDeal(const TenantId& tenant, const DealId& id) {
    return Copy(Deal(tenant, id));
  }
  std::optional<OrderState> GetOrder(const TenantId& tenant, const OrderId& id) {
    return Copy(Order(tenant, id));
  }
  std::optional<InvoiceState> GetInvoice(const TenantId& tenant, const InvoiceId& id) {
    return Copy(Invoice(tenant, id));
  }
  void Put(const DealState& state) { Replace(Deal(state.tenant, state.id), state); }
  void Put(const OrderState& state) { Replace(Order(state.tenant, state.id), state); }
  void Put(const InvoiceState& state) { Replace(Invoice(state.tenant, state.id), state); }

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

  // The ids of `tenant`'s stored subjects of `type` in id order, only those
  // after `after` when given, at most `limit`.
  virtual std::vector<std::string> SubjectIds(SubjectType type, const TenantId& tenant,
                                              const std::optional<std::string>& after,
                                              size_t limit) = 0;

  virtual void AddTimer(const TimerRef& timer) = 0;
  virtual void RemoveTimer(const TimerRef& timer) = 0;
  // Timers of `slot` due at or before `upto`, in (due, tenant, id) order.
  // They stay in the index until removed.
  std::vector<Timer> DueTimers(Slot slot, EventTime upto) {
    return DueTimers(slot, upto, std::nullopt, SIZE_MAX);
  }
  // The same, only those ordered after `after` when given, at most `limit`.
  virtual std::vector<Timer> DueTimers(Slot slot, EventTime upto, const std::optional<Timer>& after,
                                       size_t limit) = 0;

 private:
  template <class State>
  std::optional<State> Copy(const State& state) {
    std::optional<State> copy;
    if (!IsEmpty(state)) copy = state;
    EndCall();
    return copy;
  }
  template <class State>
  void Replace(State& stored, const State& state) {
    stored = state;
    EndCall();
  }
};

}  // namespace closeloop::matcher
