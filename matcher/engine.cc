// The engine drives every slot of every subject through event time: it asks
// the slot's rule what should be open at each point where the answer can
// change, and turns the differences into lifecycle records (lifecycle.cc).
#include "matcher/engine.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <variant>

#include "matcher/lifecycle.h"
#include "matcher/rules.h"
#include "matcher/session.h"

namespace closeloop::matcher {

namespace {

constexpr Slot kDealSlots[] = {Slot::kNotBillable, Slot::kMissingOrder, Slot::kBilling};
constexpr Slot kInvoiceSlots[] = {Slot::kTerms, Slot::kUnpaid, Slot::kOrphanInvoice};
// The invoice slots that depend on what the invoice links to.
constexpr Slot kInvoiceLinkSlots[] = {Slot::kTerms, Slot::kOrphanInvoice};
// The deal slots that depend on the deal's invoices.
constexpr Slot kDealBillingSlots[] = {Slot::kNotBillable, Slot::kBilling};
constexpr Slot kAllSlots[] = {Slot::kNotBillable, Slot::kMissingOrder, Slot::kBilling,
                              Slot::kTerms,       Slot::kUnpaid,       Slot::kOrphanInvoice,
                              Slot::kOrphanOrder};

}  // namespace

// One Apply or Advance: the session of states it touches and where its
// records go.
class Engine::Call {
 public:
  Call(const TenantDirectory& tenants, Store& store, const WatermarkSet& watermarks,
       std::vector<ExceptionRecord>& out, std::vector<FiguresChange>& figures)
      : tenants_(tenants),
        store_(store),
        session_(store),
        watermarks_(watermarks),
        out_(out),
        figures_(figures) {}

  void Apply(const Deal& deal) {
    DealState& state = session_.Deal(deal.tenant, deal.id);
    Targets targets;
    for (Slot slot : kDealSlots) targets.push_back({&state, slot});
    for (const InvoiceId& id : CandidateInvoices(session_, state)) {
      AddAll(targets, &session_.Invoice(deal.tenant, id), kInvoiceLinkSlots);
    }
    for (const OrderId& id : state.orders) {
      targets.push_back({&session_.Order(deal.tenant, id), Slot::kOrphanOrder});
    }
    CatchUp(targets);
    if (!state.deal.Put(deal)) return;
    if (!deal.customer.empty()) store_.AddDealOfCustomer(deal.tenant, deal.customer, deal.id);
    Settle(targets, deal.event_time);
    Refigure(state, deal.event_time);
  }

  void Apply(const Order& order) {
    OrderState& state = session_.Order(order.tenant, order.id);
    Targets targets{{&state, Slot::kOrphanOrder}};
    const std::vector<DealState*> deals = DealsOf(state.order.versions, order);
    for (DealState* deal : deals) AddAll(targets, deal, kDealSlots);
    for (const InvoiceId& id : state.invoices) {
      AddAll(targets, &session_.Invoice(order.tenant, id), kInvoiceLinkSlots);
    }
    CatchUp(targets);
    if (!state.order.Put(order)) return;
    if (!order.deal.empty()) {
      InsertSorted(session_.Deal(order.tenant, order.deal).orders, order.id);
    } else if (!order.customer.empty()) {
      ArmFuzzyLink(state, Slot::kOrderFuzzyLink, order.event_time);
    }
    Settle(targets, order.event_time);
    for (DealState* deal : deals) Refigure(*deal, order.event_time);
  }

  void Apply(const Invoice& invoice) {
    InvoiceState& state = session_.Invoice(invoice.tenant, invoice.id);
    Targets targets;
    AddAll(targets, &state, kInvoiceSlots);
    const std::vector<DealState*> deals = DealsOf(state.invoice.versions, invoice);
    for (DealState* deal : deals) AddAll(targets, deal, kDealBillingSlots);
    CatchUp(targets);
    if (!state.invoice.Put(invoice)) return;
    if (!invoice.deal.empty()) {
      InsertSorted(session_.Deal(invoice.tenant, invoice.deal).invoices, invoice.id);
    } else if (!invoice.order.empty()) {
      InsertSorted(session_.Order(invoice.tenant, invoice.order).invoices, invoice.id);
    } else if (!invoice.customer.empty()) {
      ArmFuzzyLink(state, Slot::kFuzzyLink, invoice.event_time);
    }
    Settle(targets, invoice.event_time);
    for (DealState* deal : deals) Refigure(*deal, invoice.event_time);
  }

  void Apply(const Payment& payment) {
    InvoiceState& state = session_.Invoice(payment.tenant, payment.invoice);
    Targets targets{{&state, Slot::kUnpaid}};
    // A payment that now names another invoice stops counting for the old one.
    const std::optional<InvoiceId> before = store_.GetPaymentInvoice(payment.tenant, payment.id);
    InvoiceState* left = nullptr;
    if (before && !(*before == payment.invoice)) {
      left = &session_.Invoice(payment.tenant, *before);
      targets.push_back({left, Slot::kUnpaid});
    }
    CatchUp(targets);
    if (!state.payments[payment.id].Put(payment)) return;
    if (left != nullptr) {
      Payment moved = payment;
      moved.invoice = *before;
      moved.status = Payment::Status::kMoved;
      left->payments[payment.id].Put(moved);
    }
    store_.PutPaymentInvoice(payment.tenant, payment.id, payment.invoice);
    Settle(targets, payment.event_time);
    RefigureDealOf(state, payment.event_time);
    if (left != nullptr) RefigureDealOf(*left, payment.event_time);
  }

  void Fire(const Timer& timer) {
    std::visit([&](auto* state) { CatchUpAndRearm(*state, timer.slot); },
               Subject(timer.slot, timer.tenant, timer.id));
  }

  std::optional<CommandRejection> Apply(const Command& command) {
    const std::optional<ExceptionIdParts> parts = ParseExceptionId(command.exception_id);
    if (!parts || !(parts->tenant == command.tenant)) {
      return CommandRejection{
          CommandRejection::Why::kUnknownException,
          "no exception " + command.exception_id + " exists for tenant " + command.tenant.value};
    }
    const Slot slot = SlotOf(parts->kind);
    return std::visit(
        [&](auto* state) -> std::optional<CommandRejection> {
          const RulePoints& rp = PointsOf(*state, slot);
          CatchUpSlot(*state, slot, rp);
          SlotState& ss = state->slots[slot];
          if (std::find(ss.commands.begin(), ss.commands.end(), command.id) != ss.commands.end()) {
            return CommandRejection{CommandRejection::Why::kReplayedCommand,
                                    "command " + command.id + " was applied before"};
          }
          if (!ss.open || ss.open->last.exception_id != command.exception_id) {
            if (parts->generation == 0 || parts->generation > ss.generation) {
              return CommandRejection{CommandRejection::Why::kUnknownException,
                                      "no exception " + command.exception_id + " was ever raised"};
            }
            return CommandRejection{CommandRejection::Why::kExceptionNotOpen,
                                    "exception " + command.exception_id + " is already resolved"};
          }
          Lifecycle{tenants_.For(state->tenant), out_}.Apply(ss, command);
          Rearm(*state, slot, rp);
          return std::nullopt;
        },
        Subject(slot, parts->tenant, parts->subject_id));
  }

  // Decides the fuzzy links of invoices and orders the watermarks allow, in
  // event-time order (an order's link can change an invoice's candidates and
  // the other way round), before anything else in this call evaluates up to
  // them.
  void DecideFuzzyLinks() {
    // Both kinds of decision wait for the same sources (DepsOf).
    const EventTime as_of = watermarks_.AsOf(DepsOf(Slot::kFuzzyLink));
    std::vector<Timer> due = store_.DueTimers(Slot::kFuzzyLink, as_of);
    const std::vector<Timer> orders = store_.DueTimers(Slot::kOrderFuzzyLink, as_of);
    if (due.empty() && orders.empty()) return;
    due.insert(due.end(), orders.begin(), orders.end());
    std::sort(due.begin(), due.end(), [](const Timer& a, const Timer& b) {
      return std::tie(a.due, a.tenant, a.slot, a.id) < std::tie(b.due, b.tenant, b.slot, b.id);
    });
    for (const Timer& timer : due) {
      if (timer.slot == Slot::kFuzzyLink) {
        DecideFuzzyLink(session_.Invoice(timer.tenant, InvoiceId{timer.id}));
      } else {
        DecideFuzzyLink(session_.Order(timer.tenant, OrderId{timer.id}));
      }
    }
  }

  void Finish() { session_.Flush(); }

 private:
  // A document without a usable reference: look for its deal once every
  // source it reads has passed it (once per document, at its first such
  // version), if its tenant matches fuzzily.
  template <class State>
  void ArmFuzzyLink(State& state, Slot slot, EventTime at) {
    if (state.fuzzy.decided || state.fuzzy.timer || !tenants_.For(state.tenant).fuzzy_match) return;
    state.fuzzy.timer = at;
    store_.AddTimer({slot, at, state.tenant, state.id.value});
    DecideFuzzyLinks();
  }

  // The only open deal of `customer` whose unbilled remainder matches
  // `amount` within tolerance, as things stood at `at`; nullptr when there is
  // none or there are several.
  DealState* FuzzyCandidate(const TenantId& tenant, const CustomerId& customer,
                            const std::string& currency, int64_t amount, EventTime at) {
    const TenantRules& rules = tenants_.For(tenant);
    DealState* match = nullptr;
    for (const DealId& id : store_.DealsOfCustomer(tenant, customer)) {
      DealState& candidate = session_.Deal(tenant, id);
      const Deal* deal = candidate.deal.AsOf(at);
      if (deal == nullptr || !rules.IsClosedWon(deal->stage) || deal->currency != currency) {
        continue;
      }
      const int64_t remainder =
          deal->amount_minor - BilledAt(session_, candidate, *deal, at).amount_minor;
      if (remainder > 0 && std::abs(amount - remainder) <= rules.Tolerance(remainder)) {
        if (match != nullptr) return nullptr;
        match = &candidate;
      }
    }
    return match;
  }

  // Takes the document's fuzzy-link timer off; returns its event time.
  template <class State>
  EventTime Decided(State& state, Slot slot) {
    const EventTime at = *state.fuzzy.timer;
    store_.RemoveTimer({slot, at, state.tenant, state.id.value});
    state.fuzzy.timer.reset();
    state.fuzzy.decided = true;
    return at;
  }

  // Links an invoice without references to its FuzzyCandidate. A credit
  // memo credits billing already done, so an unbilled remainder says nothing
  // of which deal it belongs to: it is never linked fuzzily.
  void DecideFuzzyLink(InvoiceState& state) {
    const EventTime at = Decided(state, Slot::kFuzzyLink);
    const Invoice* inv = state.invoice.AsOf(at);
    if (inv == nullptr || !inv->deal.empty() || !inv->order.empty() ||
        inv->kind == Invoice::Kind::kCreditMemo) {
      return;
    }
    DealState* deal =
        FuzzyCandidate(state.tenant, inv->customer, inv->currency, inv->amount_minor, at);
    if (deal == nullptr) return;
    state.fuzzy.deal = deal->id;
    Targets targets;
    AddAll(targets, deal, kDealBillingSlots);
    AddAll(targets, &state, kInvoiceLinkSlots);
    // No catching up first: decisions come before anything in this call
    // evaluates past them, so the link counts from the invoice's own time.
    InsertSorted(deal->invoices, state.id);
    Settle(targets, at);
    Refigure(*deal, at);
  }

  // Links an order without a deal reference to its FuzzyCandidate; the
  // invoices naming the order follow it to the deal.
  void DecideFuzzyLink(OrderState& state) {
    const EventTime at = Decided(state, Slot::kOrderFuzzyLink);
    const Order* order = state.order.AsOf(at);
    if (order == nullptr || !order->deal.empty()) return;
    DealState* deal =
        FuzzyCandidate(state.tenant, order->customer, order->currency, order->amount_minor, at);
    if (deal == nullptr) return;
    state.fuzzy.deal = deal->id;
    Targets targets{{&state, Slot::kOrphanOrder}};
    AddAll(targets, deal, kDealSlots);
    for (const InvoiceId& id : state.invoices) {
      AddAll(targets, &session_.Invoice(state.tenant, id), kInvoiceLinkSlots);
    }
    InsertSorted(deal->orders, state.id);  // as in the invoice's case: no catching up
    Settle(targets, at);
    Refigure(*deal, at);
  }

  // Reports the deal's figures if they differ from what was last reported.
  void Refigure(DealState& deal, EventTime at) {
    std::optional<DealFigures> now = FiguresOf(session_, deal, tenants_.For(deal.tenant));
    if (!now || now == deal.figures) return;
    figures_.push_back({.before = deal.figures, .after = *now, .at = at});
    deal.figures = std::move(now);
  }
  // The same for the deal an invoice is linked to now, if any.
  void RefigureDealOf(InvoiceState& invoice, EventTime at) {
    const Invoice* inv = invoice.invoice.Latest();
    if (inv == nullptr) return;
    const DealId id = LinkedDeal(session_, *inv, kMaxTime);
    if (!id.empty()) Refigure(session_.Deal(invoice.tenant, id), at);
  }

  // A slot of a subject that a document may change.
  struct Target {
    std::variant<DealState*, OrderState*, InvoiceState*> state;
    Slot slot;
  };
  using Targets = std::vector<Target>;

  std::variant<DealState*, OrderState*, InvoiceState*> Subject(Slot slot, const TenantId& tenant,
                                                               const std::string& id) {
    switch (SubjectOf(slot)) {
      case SubjectType::kDeal:
        return &session_.Deal(tenant, DealId{id});
      case SubjectType::kOrder:
        return &session_.Order(tenant, OrderId{id});
      case SubjectType::kInvoice:
        break;
    }
    return &session_.Invoice(tenant, InvoiceId{id});
  }

  template <class State, size_t N>
  static void AddAll(Targets& targets, State* state, const Slot (&slots)[N]) {
    for (Slot slot : slots) targets.push_back({state, slot});
  }

  void CatchUp(const Targets& targets) {
    for (const Target& t : targets) std::visit([&](auto* s) { CatchUpSlot(*s, t.slot); }, t.state);
  }
  void Settle(const Targets& targets, EventTime doc_time) {
    for (const Target& t : targets) {
      std::visit([&](auto* s) { SettleSlot(*s, t.slot, doc_time); }, t.state);
    }
  }

  // The deals that versions of a document (and its new version) point at.
  template <class Doc>
  std::vector<DealState*> DealsOf(const std::vector<Doc>& versions, const Doc& next) {
    std::vector<DealId> ids;
    auto add = [&](const Doc& doc) {
      DealId id;
      if constexpr (std::is_same_v<Doc, Invoice>) {
        id = LinkedDeal(session_, doc, kMaxTime);
      } else {
        id = OrderLink(session_, doc).deal;
      }
      if (!id.empty()) InsertSorted(ids, id);
    };
    for (const Doc& v : versions) add(v);
    add(next);
    std::vector<DealState*> deals;
    for (const DealId& id : ids) deals.push_back(&session_.Deal(next.tenant, id));
    return deals;
  }

  Verdict Evaluate(const DealState& state, Slot slot, EventTime at) {
    const TenantRules& rules = tenants_.For(state.tenant);
    switch (slot) {
      case Slot::kNotBillable:
        return EvaluateNotBillable(session_, state, rules, at);
      case Slot::kMissingOrder:
        return EvaluateMissingOrder(session_, state, rules, at);
      case Slot::kBilling:
        return EvaluateBilling(session_, state, rules, at);
      default:
        return {};
    }
  }
  Verdict Evaluate(const InvoiceState& state, Slot slot, EventTime at) {
    const TenantRules& rules = tenants_.For(state.tenant);
    switch (slot) {
      case Slot::kTerms:
        return EvaluateTerms(session_, state, rules, at);
      case Slot::kUnpaid:
        return EvaluateUnpaid(state, rules, at);
      case Slot::kOrphanInvoice:
        return EvaluateOrphanInvoice(session_, state, rules, at);
      default:
        return {};
    }
  }
  Verdict Evaluate(const OrderState& state, Slot slot, EventTime at) {
    if (slot != Slot::kOrphanOrder) return {};
    return EvaluateOrphanOrder(session_, state, tenants_.For(state.tenant), at);
  }

  void Points(const DealState& state, Slot slot, std::vector<EventTime>& points) {
    const TenantRules& rules = tenants_.For(state.tenant);
    if (slot == Slot::kBilling) {
      BillingChangePoints(session_, state, rules, points);
    } else {
      DealChangePoints(session_, state, rules, slot, points);
    }
  }
  void Points(const InvoiceState& state, Slot slot, std::vector<EventTime>& points) {
    const TenantRules& rules = tenants_.For(state.tenant);
    if (slot == Slot::kUnpaid) {
      UnpaidChangePoints(state, rules, points);
    } else {
      InvoiceLinkChangePoints(session_, state, rules, points);
    }
  }
  void Points(const OrderState& state, Slot, std::vector<EventTime>& points) {
    OrphanOrderChangePoints(session_, state, tenants_.For(state.tenant), points);
  }

  EventTime QuietUntil(const DealState& state, Slot slot) {
    const TenantRules& rules = tenants_.For(state.tenant);
    if (slot == Slot::kBilling) return BillingQuietUntil(session_, state, rules);
    if (slot == Slot::kMissingOrder) return MissingOrderQuietUntil(state, rules);
    return kMinTime;
  }
  EventTime QuietUntil(const InvoiceState& state, Slot slot) {
    const TenantRules& rules = tenants_.For(state.tenant);
    if (slot == Slot::kUnpaid) return UnpaidQuietUntil(state, rules);
    if (slot == Slot::kOrphanInvoice) return OrphanInvoiceQuietUntil(state, rules);
    return kMinTime;
  }
  EventTime QuietUntil(const OrderState& state, Slot) {
    return OrphanOrderQuietUntil(state, tenants_.For(state.tenant));
  }

  // Where a slot's answer can change as far as its subject's documents go:
  // the rule's change points (sorted) and its quiet-until bound. Evaluating
  // and re-arming the slot change neither, so a catch-up and the re-arm after
  // it share one computation; a document changes them, so each document
  // computes them anew.
  struct RulePoints {
    std::vector<EventTime> points;
    EventTime quiet = kMinTime;
  };
  template <class State>
  const RulePoints& PointsOf(const State& state, Slot slot) {
    RulePoints& rp = rule_points_;  // reused: no allocation per call
    rp.points.clear();
    Points(state, slot, rp.points);
    std::sort(rp.points.begin(), rp.points.end());
    rp.quiet = QuietUntil(state, slot);
    return rp;
  }

  // The first event time after `after` at which the slot's answer can change:
  // a point of the rule or, with an exception open, an escalation age. With
  // nothing open or dismissed in the slot, points before the rule's
  // quiet-until bound are skipped: evaluating there changes nothing.
  template <class State>
  std::optional<EventTime> NextPoint(const State& state, Slot slot, EventTime after,
                                     const RulePoints& rp) {
    std::optional<EventTime> next;
    const SlotState* ss = state.slots.Find(slot);
    if (ss != nullptr && ss->open) {
      escalation_points_.clear();
      EscalationPoints(*ss->open, tenants_.For(state.tenant), escalation_points_);
      for (EventTime p : escalation_points_) {
        if (p > after && (!next || p < *next)) next = p;
      }
    } else if (!(ss != nullptr && ss->dismissed) && rp.quiet > after) {
      after = rp.quiet - Duration(1);
    }
    const auto it = std::upper_bound(rp.points.begin(), rp.points.end(), after);
    if (it != rp.points.end() && (!next || *it < *next)) next = *it;
    return next;
  }

  void Step(auto& state, Slot slot, EventTime at) {
    Lifecycle lifecycle{tenants_.For(state.tenant), out_};
    lifecycle.Transition(state.slots[slot], state.tenant, state.id.value, Evaluate(state, slot, at),
                         at);
  }

  // Evaluates the slot at every change point up to its sources' watermark.
  template <class State>
  void CatchUpSlot(State& state, Slot slot) {
    CatchUpSlot(state, slot, PointsOf(state, slot));
  }
  template <class State>
  void CatchUpSlot(State& state, Slot slot, const RulePoints& rp) {
    SlotState& ss = state.slots[slot];
    const EventTime as_of = watermarks_.AsOf(DepsOf(slot));
    while (true) {
      std::optional<EventTime> next = NextPoint(state, slot, ss.evaluated_until, rp);
      if (!next || *next > as_of) break;
      Step(state, slot, *next);
      ss.evaluated_until = *next;
    }
    ss.evaluated_until = std::max(ss.evaluated_until, as_of);
  }

  // After a document changed the subject: a document at or before what was
  // already evaluated is late. Where the slot has published nothing yet there
  // is no history to contradict, so it is evaluated from the document's event
  // time as a replay would; otherwise the document counts from now and does
  // not rewrite what was published. Then catch up and re-arm.
  template <class State>
  void SettleSlot(State& state, Slot slot, EventTime doc_time) {
    SlotState& ss = state.slots[slot];
    if (doc_time <= ss.evaluated_until) {
      if (ss.generation == 0) {
        ss.evaluated_until = doc_time - Duration(1);
      } else {
        Step(state, slot, ss.evaluated_until);
      }
    }
    CatchUpAndRearm(state, slot);
  }

  template <class State>
  void CatchUpAndRearm(State& state, Slot slot) {
    const RulePoints& rp = PointsOf(state, slot);
    CatchUpSlot(state, slot, rp);
    Rearm(state, slot, rp);
  }

  template <class State>
  void Rearm(State& state, Slot slot, const RulePoints& rp) {
    SlotState& ss = state.slots[slot];
    const std::optional<EventTime> next = NextPoint(state, slot, ss.evaluated_until, rp);
    if (next == ss.timer) return;
    if (ss.timer) store_.RemoveTimer({slot, *ss.timer, state.tenant, state.id.value});
    if (next) store_.AddTimer({slot, *next, state.tenant, state.id.value});
    ss.timer = next;
  }

  const TenantDirectory& tenants_;
  Store& store_;
  Session session_;
  const WatermarkSet& watermarks_;
  std::vector<ExceptionRecord>& out_;
  std::vector<FiguresChange>& figures_;
  RulePoints rule_points_;                    // PointsOf's scratch
  std::vector<EventTime> escalation_points_;  // NextPoint's scratch
};

Engine::Engine(const TenantDirectory& tenants, Store& store) : tenants_(tenants), store_(store) {}

void Engine::Apply(const Document& doc, const WatermarkSet& watermarks,
                   std::vector<ExceptionRecord>& out) {
  Call call(tenants_, store_, watermarks, out, figures_changes_);
  call.DecideFuzzyLinks();
  std::visit([&](const auto& d) { call.Apply(d); }, doc);
  call.Finish();
}

std::optional<CommandRejection> Engine::ApplyCommand(const Command& command,
                                                     const WatermarkSet& watermarks,
                                                     std::vector<ExceptionRecord>& out) {
  Call call(tenants_, store_, watermarks, out, figures_changes_);
  call.DecideFuzzyLinks();
  std::optional<CommandRejection> rejection = call.Apply(command);
  call.Finish();
  return rejection;
}

bool Engine::Advance(const WatermarkSet& watermarks, std::vector<ExceptionRecord>& out,
                     size_t max_timers) {
  Call call(tenants_, store_, watermarks, out, figures_changes_);
  call.DecideFuzzyLinks();
  size_t fired = 0;
  for (; resume_slot_ < std::size(kAllSlots); ++resume_slot_) {
    const Slot slot = kAllSlots[resume_slot_];
    for (const Timer& timer :
         store_.DueTimers(slot, watermarks.AsOf(DepsOf(slot)), resume_after_, max_timers - fired)) {
      call.Fire(timer);
      resume_after_ = timer;
      ++fired;
    }
    if (fired == max_timers) break;
    resume_after_.reset();
  }
  const bool done = resume_slot_ == std::size(kAllSlots);
  if (done) resume_slot_ = 0;
  call.Finish();
  return done;
}

std::vector<FiguresChange> Engine::TakeFiguresChanges() {
  return std::exchange(figures_changes_, {});
}

}  // namespace closeloop::matcher
