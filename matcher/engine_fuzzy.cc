// Fuzzy links (SPEC §5): a document without a usable reference linked to
// the only open deal of its customer whose unbilled remainder, or next
// installment, matches its amount; decided when the watermarks pass the
// document, and once more at its orphan deadline if that found none.
#include <algorithm>
#include <cstdlib>
#include <tuple>
#include <utility>

#include "matcher/engine_call.h"
#include "matcher/rules.h"

namespace closeloop::matcher {

void Engine::Call::DecideFuzzyLinks() {
  // Both kinds of decision wait for the same sources (DepsOf).
  const EventTime as_of = watermarks_.AsOf(DepsOf(Slot::kFuzzyLink));
  if (as_of <= fuzzy_drained_to_) return;
  fuzzy_drained_to_ = as_of;
  std::vector<Timer> due = store_.DueTimers(Slot::kFuzzyLink, as_of);
  const std::vector<Timer> orders = store_.DueTimers(Slot::kOrderFuzzyLink, as_of);
  if (due.empty() && orders.empty()) return;
  due.insert(due.end(), orders.begin(), orders.end());
  auto before = [](const Timer& a, const Timer& b) {
    const bool a_invoice = a.slot == Slot::kFuzzyLink, b_invoice = b.slot == Slot::kFuzzyLink;
    return std::tie(a.due, a.tenant, a_invoice, a.id) < std::tie(b.due, b.tenant, b_invoice, b.id);
  };
  std::sort(due.begin(), due.end(), before);
  // Every link first, then the slots each changes: settling a deal
  // evaluates it up to the watermarks, past the links decided after it
  // here, which it must see as it would had the watermarks passed them one
  // at a time. A first look that finds nothing sets the second (Decide),
  // which joins the due ones in its place when the watermarks passed it.
  std::vector<Timer> linked;
  // Whether the document linked, and its next look, if any.
  auto decide = [this](auto& state) {
    const bool link = DecideFuzzyLink(state);
    return std::pair(link, state.fuzzy.timer);
  };
  for (size_t i = 0; i < due.size(); ++i) {
    const Timer timer = due[i];
    const auto [link, again] = timer.slot == Slot::kFuzzyLink
                                   ? decide(session_.Invoice(timer.tenant, InvoiceId{timer.id}))
                                   : decide(session_.Order(timer.tenant, OrderId{timer.id}));
    if (link) linked.push_back(timer);
    if (again && *again <= as_of) {
      Timer next = timer;
      next.due = *again;
      due.insert(
          std::upper_bound(due.begin() + static_cast<ptrdiff_t>(i) + 1, due.end(), next, before),
          std::move(next));
    }
  }
  for (const Timer& timer : linked) {
    if (timer.slot == Slot::kFuzzyLink) {
      SettleFuzzyLink(session_.Invoice(timer.tenant, InvoiceId{timer.id}), timer.due);
    } else {
      SettleFuzzyLink(session_.Order(timer.tenant, OrderId{timer.id}), timer.due);
    }
  }
}

template <class State>
void Engine::Call::ArmFuzzyLink(State& state, Slot slot, EventTime at, bool arriving) {
  if (state.fuzzy.decided || state.fuzzy.looking_again || !slots_.Rules(state.tenant).fuzzy_match) {
    return;
  }
  // As of the first such version in event time, whatever order the
  // versions arrive in: an earlier one delivered later moves the timer.
  if (state.fuzzy.timer) {
    if (*state.fuzzy.timer <= at) return;
    store_.RemoveTimer({slot, *state.fuzzy.timer, state.tenant.value, state.id.value});
  }
  state.fuzzy.timer = at;
  store_.AddTimer({slot, at, state.tenant.value, state.id.value});
  fuzzy_drained_to_ = kMinTime;  // this one may be due already
  // Every other look due was decided as the call began: this drain decides
  // only this document's.
  arriving_ = arriving ? &state : nullptr;
  DecideFuzzyLinks();
  arriving_ = nullptr;
}

template <class State, class Doc>
void Engine::Call::ResettleFuzzyLink(State& state, Slot slot, const std::vector<Doc>& versions,
                                     const TenantRules& rules) {
  if (state.fuzzy.decided) return;
  if (!rules.fuzzy_match) {
    // Stops looking; turned on again, it starts from its first look.
    state.fuzzy.looking_again = false;
    if (!state.fuzzy.timer) return;
    store_.RemoveTimer({slot, *state.fuzzy.timer, state.tenant.value, state.id.value});
    state.fuzzy.timer.reset();
    return;
  }
  if (state.fuzzy.looking_again) return;
  for (const Doc& v : versions) {
    bool unreferenced = v.deal.empty() && !v.customer.empty();
    if constexpr (std::is_same_v<Doc, Invoice>) unreferenced = unreferenced && v.order.empty();
    if (unreferenced) return ArmFuzzyLink(state, slot, v.event_time);
  }
}

DealState* Engine::Call::FuzzyCandidate(const TenantId& tenant, const CustomerId& customer,
                                        std::string_view currency, int64_t amount, EventTime at) {
  const TenantRules& rules = slots_.Rules(tenant);
  DealState* match = nullptr;
  for (const DealId& id : store_.DealsOfCustomer(tenant, customer)) {
    DealState& candidate = session_.Deal(tenant, id);
    const Deal* deal = candidate.deal.AsOf(at);
    // The index keeps every deal that ever named the customer; one since
    // moved to another customer is not this customer's.
    if (deal == nullptr || !rules.IsClosedWon(deal->stage) || deal->currency != currency ||
        deal->customer != customer) {
      continue;
    }
    const int64_t billed = BilledAt(session_, candidate, *deal, at).amount_minor;
    const int64_t remainder = deal->amount_minor - billed;
    if (remainder <= 0) continue;
    auto matches = [&](int64_t expected) {
      return std::abs(amount - expected) <= rules.Tolerance(expected, currency);
    };
    if (matches(remainder) || matches(NextInstallment(*deal, rules, billed))) {
      if (match != nullptr) return nullptr;
      match = &candidate;
    }
  }
  return match;
}

template <class State>
EventTime Engine::Call::TakeFuzzyTimer(State& state, Slot slot) {
  const EventTime at = *state.fuzzy.timer;
  store_.RemoveTimer({slot, at, state.tenant.value, state.id.value});
  state.fuzzy.timer.reset();
  return at;
}

template <class State>
void Engine::Call::Decided(State& state) {
  state.fuzzy.decided = true;
  state.fuzzy.looking_again = false;
}

template <class State>
void Engine::Call::Decide(State& state, Slot slot, EventTime at, DealState* deal,
                          EventTime orphan_deadline) {
  if (deal == nullptr && !state.fuzzy.looking_again && at < orphan_deadline) {
    state.fuzzy.looking_again = true;
    state.fuzzy.timer = orphan_deadline;
    store_.AddTimer({slot, orphan_deadline, state.tenant.value, state.id.value});
    return;
  }
  if (deal != nullptr && &state == arriving_) {
    Targets targets = NewTargets();
    AddLinkTargets(targets, state, *deal);
    CatchUp(targets);
  }
  if (deal != nullptr) {
    state.fuzzy.deal = deal->id;
    if (state.fuzzy.looking_again) state.fuzzy.linked_at = at;
  }
  Decided(state);
}

bool Engine::Call::DecideFuzzyLink(InvoiceState& state) {
  const EventTime at = TakeFuzzyTimer(state, Slot::kFuzzyLink);
  const Invoice* inv = state.invoice.AsOf(at);
  if (inv == nullptr || !inv->deal.empty() || !inv->order.empty() ||
      inv->kind == Invoice::Kind::kCreditMemo) {
    Decided(state);
    return false;
  }
  DealState* deal =
      FuzzyCandidate(state.tenant, inv->customer, inv->currency, inv->amount_minor, at);
  Decide(state, Slot::kFuzzyLink, at, deal, inv->issue_time + Rules(state.tenant).orphan_window);
  if (deal == nullptr) return false;
  InsertSorted(deal->invoices, state.id);
  Refigure(*deal, at);
  return true;
}

void Engine::Call::AddLinkTargets(Targets& targets, InvoiceState& state, DealState& deal) {
  AddAll(targets, &deal, kDealBillingSlots);
  AddAll(targets, &state, kInvoiceLinkSlots);
}

bool Engine::Call::DecideFuzzyLink(OrderState& state) {
  const EventTime at = TakeFuzzyTimer(state, Slot::kOrderFuzzyLink);
  const Order* order = state.order.AsOf(at);
  if (order == nullptr || !order->deal.empty()) {
    Decided(state);
    return false;
  }
  DealState* deal =
      FuzzyCandidate(state.tenant, order->customer, order->currency, order->amount_minor, at);
  Decide(state, Slot::kOrderFuzzyLink, at, deal, OrphanOrderQuietUntil(state, Rules(state.tenant)));
  if (deal == nullptr) return false;
  InsertSorted(deal->orders, state.id);
  session_.ForgetCredit();
  Refigure(*deal, at);
  return true;
}

void Engine::Call::AddLinkTargets(Targets& targets, OrderState& state, DealState& deal) {
  targets.push_back({&state, Slot::kOrphanOrder});
  AddAll(targets, &deal, kDealSlots);
  for (const InvoiceId& id : state.invoices) {
    AddAll(targets, &session_.Invoice(state.tenant, id), kInvoiceLinkSlots);
  }
}

template <class State>
void Engine::Call::SettleFuzzyLink(State& state, EventTime at) {
  Targets targets = NewTargets();
  AddLinkTargets(targets, state, session_.Deal(state.tenant, *state.fuzzy.deal));
  Settle(targets, at);
}

// Apply and Resettle (engine.cc) arm and resettle both kinds of document.
template void Engine::Call::ArmFuzzyLink(OrderState&, Slot, EventTime, bool);
template void Engine::Call::ArmFuzzyLink(InvoiceState&, Slot, EventTime, bool);
template void Engine::Call::ResettleFuzzyLink(OrderState&, Slot, const std::vector<Order>&,
                                              const TenantRules&);
template void Engine::Call::ResettleFuzzyLink(InvoiceState&, Slot, const std::vector<Invoice>&,
                                              const TenantRules&);

}  // namespace closeloop::matcher
