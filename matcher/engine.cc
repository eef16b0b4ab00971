// The engine applies documents, commands and watermark advances: it finds the
// slots of every subject a change can affect (the document's own, those of
// the deals it links to, and the other way round), decides fuzzy links, and
// has each slot driven through event time (slot_driver.h).
#include "matcher/engine.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <variant>

#include "matcher/lifecycle.h"
#include "matcher/rules.h"
#include "matcher/session.h"
#include "matcher/slot_driver.h"
#include "matcher/targets.h"

namespace closeloop::matcher {

namespace {

// How PutDeal dates a deal sent without close_time, by the tenant's stages.
auto Continues(const TenantRules& rules) {
  return [&rules](std::string_view from, std::string_view to) {
    return rules.ContinuesStage(from, to);
  };
}

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

// Scratch space kept across calls: most calls fill the same few vectors, and
// allocating them anew at every document cost 6% of the matcher's
// instructions (bench/README.md, "Allocations and state size").
struct Engine::Buffers {
  SlotDriver::Buffers driver;
  std::vector<std::vector<Target>> spare_targets;  // cleared, capacity kept
  std::vector<DealState*> deals;                   // Call::DealsOf's answer
};

// One Apply or Advance: the session of states it touches and where its
// records go.
class Engine::Call {
 public:
  Call(const TenantDirectory& tenants, Store& store, const WatermarkSet& watermarks,
       std::vector<ExceptionRecord>& out, std::vector<FiguresChange>& figures,
       EventTime& fuzzy_drained_to, Buffers& buffers)
      : store_(store),
        fuzzy_drained_to_(fuzzy_drained_to),
        session_(store),
        watermarks_(watermarks),
        out_(out),
        figures_(figures),
        buffers_(buffers),
        slots_(tenants, store, session_, watermarks, out, buffers.driver) {}

  void Apply(const Deal& deal) {
    DealState& state = session_.Deal(deal.tenant, deal.id);
    Targets targets = NewTargets();
    for (Slot slot : kDealSlots) targets.push_back({&state, slot});
    for (const InvoiceId& id : CandidateInvoices(session_, state)) {
      AddAll(targets, &session_.Invoice(deal.tenant, id), kInvoiceLinkSlots);
    }
    for (const OrderId& id : state.orders) {
      targets.push_back({&session_.Order(deal.tenant, id), Slot::kOrphanOrder});
    }
    CatchUp(targets);
    // The store keeps the deals of each customer: a version naming a customer
    // an earlier version named adds nothing.
    const bool named = std::any_of(state.deal.versions.begin(), state.deal.versions.end(),
                                   [&](const Deal& v) { return v.customer == deal.customer; });
    if (!PutDeal(state.deal, deal, Continues(slots_.Rules(deal.tenant)))) return;
    if (!deal.customer.empty() && !named) {
      store_.AddDealOfCustomer(deal.tenant, deal.customer, deal.id);
    }
    Settle(targets, deal.event_time);
    Refigure(state, deal.event_time);
  }

  void Apply(const Order& order) {
    OrderState& state = session_.Order(order.tenant, order.id);
    Targets targets = NewTargets();
    targets.push_back({&state, Slot::kOrphanOrder});
    const std::vector<DealState*>& deals = DealsOf(state.order.versions, order);
    for (DealState* deal : deals) AddAll(targets, deal, kDealSlots);
    for (const InvoiceId& id : state.invoices) {
      AddAll(targets, &session_.Invoice(order.tenant, id), kInvoiceLinkSlots);
    }
    // The invoices naming the order change deal with it, and so the credit
    // memos they share.
    if (std::any_of(deals.begin(), deals.end(),
                    [&](DealState* deal) { return HasCreditMemo(session_, *deal); })) {
      for (DealState* deal : deals) AddCreditSharers(targets, *deal, nullptr, true);
      for (const InvoiceId& id : state.invoices) {
        targets.push_back({&session_.Invoice(order.tenant, id), Slot::kUnpaid});
      }
    }
    CatchUp(targets);
    if (!state.order.Put(order)) return;
    session_.ForgetCredit();
    if (!order.deal.empty()) {
      InsertSorted(session_.Deal(order.tenant, order.deal).orders, order.id);
    } else if (!order.customer.empty()) {
      ArmFuzzyLink(state, Slot::kOrderFuzzyLink, order.event_time);
    }
    Settle(targets, order.event_time);
    // An order counts in the books only through the invoices that name it.
    if (!state.invoices.empty()) {
      for (DealState* deal : deals) Refigure(*deal, order.event_time);
    }
  }

  void Apply(const Invoice& invoice) {
    InvoiceState& state = session_.Invoice(invoice.tenant, invoice.id);
    Targets targets = NewTargets();
    AddAll(targets, &state, kInvoiceSlots);
    const std::vector<DealState*>& deals = DealsOf(state.invoice.versions, invoice);
    for (DealState* deal : deals) {
      AddAll(targets, deal, kDealBillingSlots);
      AddCreditSharers(targets, *deal, &state, invoice.kind == Invoice::Kind::kCreditMemo);
    }
    CatchUp(targets);
    if (!state.invoice.Put(invoice)) return;
    session_.ForgetCredit();
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
    Targets targets = NewTargets();
    targets.push_back({&state, Slot::kUnpaid});
    // A payment that now names another invoice stops counting for the old one.
    const std::optional<InvoiceId> before = store_.GetPaymentInvoice(payment.tenant, payment.id);
    InvoiceState* left = nullptr;
    if (before && !(*before == payment.invoice)) {
      left = &session_.Invoice(payment.tenant, *before);
      targets.push_back({left, Slot::kUnpaid});
    }
    for (InvoiceState* paid : {&state, left}) {
      if (paid == nullptr) continue;
      ForEachReferencedDeal(session_, *paid, [&](const DealId& deal) {
        AddCreditSharers(targets, session_.Deal(payment.tenant, deal), paid, false);
      });
    }
    CatchUp(targets);
    History<Payment>& history = state.payments[payment.id];
    if (!history.Put(payment)) return;
    if (left != nullptr) MirrorMove(payment, history, *before, left->payments[payment.id]);
    // The index names the invoice of the payment's latest version (an older
    // version delivered late leaves it).
    if (left == nullptr || history.Latest()->status != Payment::Status::kMoved) {
      store_.PutPaymentInvoice(payment.tenant, payment.id, payment.invoice);
    }
    Settle(targets, payment.event_time);
    RefigureDealOf(state, payment.event_time);
    if (left != nullptr) RefigureDealOf(*left, payment.event_time);
  }

  void Fire(const Timer& timer) {
    std::visit(
        [&](auto* state) {
          slots_.CatchUpAndRearm(*state, timer.slot, slots_.Rules(timer.tenant));
        },
        Subject(timer.slot, timer.tenant, timer.id));
  }

  static CommandRejection NeverRaised(const Command& command) {
    return {CommandRejection::Why::kUnknownException,
            "no exception " + command.exception_id + " was ever raised"};
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
          // A slot never used raised nothing, and touching it would keep a
          // state for a command that changes nothing.
          if (state->slots.Find(slot) == nullptr) return NeverRaised(command);
          const SlotDriver::RulePoints& rp =
              slots_.PointsOf(*state, slot, slots_.Rules(state->tenant));
          slots_.CatchUpSlot(*state, slot, rp);
          SlotState& ss = state->slots[slot];
          if (ss.commands && std::find(ss.commands->ids.begin(), ss.commands->ids.end(),
                                       command.id) != ss.commands->ids.end()) {
            return CommandRejection{CommandRejection::Why::kReplayedCommand,
                                    "command " + command.id + " was applied before"};
          }
          if (!ss.open || ss.open->last.exception_id != command.exception_id) {
            // The open generation's id under another kind (of the same slot)
            // was never raised either.
            if (parts->generation == 0 || parts->generation > ss.generation ||
                (ss.open && parts->generation == ss.generation)) {
              return NeverRaised(command);
            }
            return CommandRejection{CommandRejection::Why::kExceptionNotOpen,
                                    "exception " + command.exception_id + " is already resolved"};
          }
          if (ss.commands && ss.commands->ids.size() >= kMaxCommandsPerSlot) {
            return CommandRejection{
                CommandRejection::Why::kTooManyCommands,
                "exception " + command.exception_id + " has had " +
                    std::to_string(kMaxCommandsPerSlot) +
                    " commands applied, the most one takes; look for a client sending "
                    "commands in a loop"};
          }
          Lifecycle{*rp.rules, out_}.Apply(ss, command);
          slots_.Rearm(*state, slot, rp);
          return std::nullopt;
        },
        Subject(slot, parts->tenant, parts->subject_id));
  }

  // Decides the fuzzy links of invoices and orders the watermarks allow, in
  // event-time order (an order's link can change an invoice's candidates and
  // the other way round), before anything else in this call evaluates up to
  // them. At one event time orders come first: an order precedes the invoice
  // that bills it, and one matched after it would find the deal's remainder
  // billed (an ERP stamping both with the same date).
  void DecideFuzzyLinks() {
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
      return std::tie(a.due, a.tenant, a_invoice, a.id) <
             std::tie(b.due, b.tenant, b_invoice, b.id);
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

  void Resettle(SubjectType type, const TenantId& tenant, const std::string& id,
                const TenantRules& rules) {
    switch (type) {
      case SubjectType::kDeal:
        return Resettle(session_.Deal(tenant, DealId{id}), rules);
      case SubjectType::kOrder:
        return Resettle(session_.Order(tenant, OrderId{id}), rules);
      case SubjectType::kInvoice:
        return Resettle(session_.Invoice(tenant, InvoiceId{id}), rules);
    }
  }
  void Resettle(DealState& state, const TenantRules& rules) {
    // Versions sent without close_time are dated by the stages as they are
    // counted now, as a rebuild of the state would date them.
    RedateDeal(state.deal, kMinTime, Continues(rules));
    for (Slot slot : kDealSlots) slots_.Resettle(state, slot, rules);
    Refigure(state, watermarks_.AsOf(DepsOf(Slot::kBilling)));
  }
  void Resettle(OrderState& state, const TenantRules& rules) {
    ResettleFuzzyLink(state, Slot::kOrderFuzzyLink, state.order.versions, rules);
    slots_.Resettle(state, Slot::kOrphanOrder, rules);
  }
  void Resettle(InvoiceState& state, const TenantRules& rules) {
    ResettleFuzzyLink(state, Slot::kFuzzyLink, state.invoice.versions, rules);
    for (Slot slot : kInvoiceSlots) slots_.Resettle(state, slot, rules);
  }

  const TenantRules& Rules(const TenantId& tenant) { return slots_.Rules(tenant); }

  void Finish() { session_.Flush(); }

 private:
  // A document without a usable reference: look for its deal once every
  // source it reads has passed it (at its first such version; if that finds
  // none, once more at its orphan deadline: Decide), if its tenant
  // matches fuzzily.
  template <class State>
  void ArmFuzzyLink(State& state, Slot slot, EventTime at) {
    if (state.fuzzy.decided || state.fuzzy.looking_again ||
        !slots_.Rules(state.tenant).fuzzy_match) {
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
    DecideFuzzyLinks();
  }

  // With fuzzy_match now on, a document none of whose versions looked for
  // its deal does, from its first version without references (as Apply
  // would have armed it); with it now off, one still waiting stops.
  template <class State, class Doc>
  void ResettleFuzzyLink(State& state, Slot slot, const std::vector<Doc>& versions,
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

  // The only open deal of `customer` whose unbilled remainder, or next
  // installment (a milestone or period of its plan not yet billed), matches
  // `amount` within tolerance, as things stood at `at`; nullptr when there is
  // none or there are several.
  DealState* FuzzyCandidate(const TenantId& tenant, const CustomerId& customer,
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

  // Takes the document's fuzzy-link timer off; returns its event time.
  template <class State>
  EventTime TakeFuzzyTimer(State& state, Slot slot) {
    const EventTime at = *state.fuzzy.timer;
    store_.RemoveTimer({slot, at, state.tenant.value, state.id.value});
    state.fuzzy.timer.reset();
    return at;
  }

  // No more looks: the link, or its absence, is final.
  template <class State>
  static void Decided(State& state) {
    state.fuzzy.decided = true;
    state.fuzzy.looking_again = false;
  }

  // The look at `at` decided: links to `deal` (nullptr: found none). A first
  // look that found none looks again at the document's orphan deadline, when
  // that is later: a deal marked won in the CRM after the document was
  // billed or ordered is found then, before the document becomes an orphan.
  // A link made then holds from then on (FuzzyLink::linked_at).
  template <class State>
  void Decide(State& state, Slot slot, EventTime at, DealState* deal, EventTime orphan_deadline) {
    if (deal == nullptr && !state.fuzzy.looking_again && at < orphan_deadline) {
      state.fuzzy.looking_again = true;
      state.fuzzy.timer = orphan_deadline;
      store_.AddTimer({slot, orphan_deadline, state.tenant.value, state.id.value});
      return;
    }
    if (deal != nullptr) {
      state.fuzzy.deal = deal->id;
      if (state.fuzzy.looking_again) state.fuzzy.linked_at = at;
    }
    Decided(state);
  }

  // Links an invoice without references to its FuzzyCandidate; returns
  // whether it did. A credit memo credits billing already done, so an
  // unbilled remainder says nothing of which deal it belongs to: it is never
  // linked fuzzily.
  bool DecideFuzzyLink(InvoiceState& state) {
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
  // The slots the invoice's link, decided at `at`, changes. No catching up
  // first: decisions come before anything in this call evaluates past them,
  // so the link counts from the invoice's own time.
  void SettleFuzzyLink(InvoiceState& state, EventTime at) {
    Targets targets = NewTargets();
    AddAll(targets, &session_.Deal(state.tenant, *state.fuzzy.deal), kDealBillingSlots);
    AddAll(targets, &state, kInvoiceLinkSlots);
    Settle(targets, at);
  }

  // Links an order without a deal reference to its FuzzyCandidate (the
  // invoices naming the order follow it to the deal); returns whether it did.
  bool DecideFuzzyLink(OrderState& state) {
    const EventTime at = TakeFuzzyTimer(state, Slot::kOrderFuzzyLink);
    const Order* order = state.order.AsOf(at);
    if (order == nullptr || !order->deal.empty()) {
      Decided(state);
      return false;
    }
    DealState* deal =
        FuzzyCandidate(state.tenant, order->customer, order->currency, order->amount_minor, at);
    Decide(state, Slot::kOrderFuzzyLink, at, deal,
           OrphanOrderQuietUntil(state, Rules(state.tenant)));
    if (deal == nullptr) return false;
    InsertSorted(deal->orders, state.id);
    session_.ForgetCredit();
    Refigure(*deal, at);
    return true;
  }
  // The slots the order's link, decided at `at`, changes (as the invoice's).
  void SettleFuzzyLink(OrderState& state, EventTime at) {
    Targets targets = NewTargets();
    targets.push_back({&state, Slot::kOrphanOrder});
    AddAll(targets, &session_.Deal(state.tenant, *state.fuzzy.deal), kDealSlots);
    for (const InvoiceId& id : state.invoices) {
      AddAll(targets, &session_.Invoice(state.tenant, id), kInvoiceLinkSlots);
    }
    Settle(targets, at);
  }

  // Reports the deal's figures if they differ from what was last reported.
  void Refigure(DealState& deal, EventTime at) {
    std::optional<DealFigures> now = FiguresOf(session_, deal, slots_.Rules(deal.tenant));
    if (!now || now == deal.figures) return;
    // Built in place; emplace_back(before, after, at) would save 0.6% of the
    // instructions but needs parenthesized aggregate initialization, which
    // the fuzz build's clang 14 lacks.
    FiguresChange& change = figures_.emplace_back();
    change.tenant = deal.tenant;
    change.deal = deal.id;
    change.before = std::move(deal.figures);
    change.after = *now;
    change.at = at;
    deal.figures = std::move(now);
  }
  // The same for the deal an invoice is linked to now, if any.
  void RefigureDealOf(InvoiceState& invoice, EventTime at) {
    const Invoice* inv = invoice.invoice.Latest();
    if (inv == nullptr) return;
    const DealId& id = LinkedDeal(session_, *inv, kMaxTime);
    if (!id.empty()) Refigure(session_.Deal(invoice.tenant, id), at);
  }

  Targets NewTargets() { return Targets(buffers_.spare_targets); }

  std::variant<DealState*, OrderState*, InvoiceState*> Subject(Slot slot, const TenantId& tenant,
                                                               std::string_view id) {
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

  // UNPAID of the invoices that share the credit memos of `deal`
  // (EvaluateUnpaid), but `skip`, when it has any or `credit` says one is
  // coming: what one of them owes changes what the others are credited.
  void AddCreditSharers(Targets& targets, DealState& deal, const InvoiceState* skip, bool credit) {
    if (!credit && !HasCreditMemo(session_, deal)) return;
    ForEachCandidateInvoice(session_, deal, [&](const InvoiceId& id) {
      InvoiceState* other = &session_.Invoice(deal.tenant, id);
      if (other != skip) targets.push_back({other, Slot::kUnpaid});
    });
  }

  void CatchUp(const Targets& targets) {
    for (const Target& t : targets)
      std::visit([&](auto* s) { slots_.CatchUpSlot(*s, t.slot); }, t.state);
  }
  // The targets of one document are all in its tenant: its rules are looked
  // up once, not at every slot (1.2M lookups cost 2% of the instructions).
  void Settle(const Targets& targets, EventTime doc_time) {
    const TenantRules* rules = nullptr;
    for (const Target& t : targets) {
      std::visit(
          [&](auto* s) {
            if (rules == nullptr) rules = &slots_.Rules(s->tenant);
            slots_.SettleSlot(*s, t.slot, doc_time, *rules);
          },
          t.state);
    }
  }

  // The deals that versions of a document (and its new version) point at,
  // in the engine's buffer: valid until the next DealsOf (one per Apply). An
  // invoice naming an order points at the deal of every version of the
  // order: it billed each while the order named it, and a relink read
  // before the invoice must not keep the first deal from seeing it.
  template <class Doc>
  const std::vector<DealState*>& DealsOf(const std::vector<Doc>& versions, const Doc& next) {
    std::vector<DealState*>& deals = buffers_.deals;
    deals.clear();
    auto add_deal = [&](const DealId& id) {
      if (id.empty()) return;
      DealState* deal = &session_.Deal(next.tenant, id);
      if (std::find(deals.begin(), deals.end(), deal) == deals.end()) deals.push_back(deal);
    };
    auto add = [&](const Doc& doc) {
      if constexpr (std::is_same_v<Doc, Invoice>) {
        if (doc.deal.empty() && !doc.order.empty()) {
          for (const Order& o : session_.Order(doc.tenant, doc.order).order.versions) {
            add_deal(OrderLink(session_, o, kMaxTime).deal);
          }
          return;
        }
        add_deal(LinkedDeal(session_, doc, kMaxTime));
      } else {
        add_deal(OrderLink(session_, doc, kMaxTime).deal);
      }
    };
    for (const Doc& v : versions) add(v);
    add(next);
    // In id order, as every other list of subjects the engine walks.
    std::sort(deals.begin(), deals.end(),
              [](const DealState* a, const DealState* b) { return a->id < b->id; });
    return deals;
  }

  Store& store_;
  EventTime& fuzzy_drained_to_;
  Session session_;
  const WatermarkSet& watermarks_;
  std::vector<ExceptionRecord>& out_;
  std::vector<FiguresChange>& figures_;
  Buffers& buffers_;
  SlotDriver slots_;
};

Engine::Engine(const TenantDirectory& tenants, Store& store)
    : tenants_(tenants), store_(store), buffers_(std::make_unique<Buffers>()) {
  drained_to_.fill(kMinTime);
}

Engine::~Engine() = default;

void Engine::Apply(const Document& doc, const WatermarkSet& watermarks,
                   std::vector<ExceptionRecord>& out) {
  Call call(tenants_, store_, watermarks, out, figures_changes_, fuzzy_drained_to_, *buffers_);
  call.DecideFuzzyLinks();
  std::visit([&](const auto& d) { call.Apply(d); }, doc);
  call.Finish();
}

std::optional<CommandRejection> Engine::ApplyCommand(const Command& command,
                                                     const WatermarkSet& watermarks,
                                                     std::vector<ExceptionRecord>& out) {
  Call call(tenants_, store_, watermarks, out, figures_changes_, fuzzy_drained_to_, *buffers_);
  call.DecideFuzzyLinks();
  std::optional<CommandRejection> rejection = call.Apply(command);
  call.Finish();
  return rejection;
}

bool Engine::Advance(const WatermarkSet& watermarks, std::vector<ExceptionRecord>& out,
                     size_t max_timers) {
  static_assert(std::size(kAllSlots) == std::tuple_size_v<decltype(drained_to_)>);
  Call call(tenants_, store_, watermarks, out, figures_changes_, fuzzy_drained_to_, *buffers_);
  call.DecideFuzzyLinks();
  size_t fired = 0;
  auto drained = [&] {
    for (size_t i = 0; i < std::size(kAllSlots); ++i) {
      if (drained_to_[i] < watermarks.AsOf(DepsOf(kAllSlots[i]))) return false;
    }
    return true;
  };
  // Slots passed before the watermarks moved (in an earlier piece) get
  // another pass.
  bool done = false;
  while (!done && fired < max_timers) {
    for (; resume_slot_ < std::size(kAllSlots); ++resume_slot_) {
      const Slot slot = kAllSlots[resume_slot_];
      const EventTime as_of = watermarks.AsOf(DepsOf(slot));
      for (const Timer& timer : store_.DueTimers(slot, as_of, resume_after_, max_timers - fired)) {
        call.Fire(timer);
        resume_after_ = timer;
        ++fired;
      }
      if (fired == max_timers) break;
      resume_after_.reset();
      drained_to_[resume_slot_] = as_of;
    }
    if (resume_slot_ < std::size(kAllSlots)) break;
    resume_slot_ = 0;
    done = drained();
  }
  call.Finish();
  return done;
}

bool Engine::Resettle(const TenantId& tenant, const WatermarkSet& watermarks,
                      std::vector<ExceptionRecord>& out, ResettleCursor& cursor,
                      size_t max_subjects) {
  Call call(tenants_, store_, watermarks, out, figures_changes_, fuzzy_drained_to_, *buffers_);
  call.DecideFuzzyLinks();
  const TenantRules& rules = call.Rules(tenant);
  bool done = false;
  while (max_subjects > 0) {
    const std::vector<std::string> ids =
        store_.SubjectIds(cursor.type, tenant, cursor.after, max_subjects);
    for (const std::string& id : ids) {
      call.Resettle(cursor.type, tenant, id, rules);
    }
    max_subjects -= ids.size();
    if (!ids.empty()) cursor.after = ids.back();
    if (max_subjects == 0) break;
    if (cursor.type == SubjectType::kDeal) {
      done = true;
      break;
    }
    cursor = {cursor.type == SubjectType::kOrder ? SubjectType::kInvoice : SubjectType::kDeal,
              std::nullopt};
  }
  call.Finish();
  return done;
}

void Engine::TakeFiguresChanges(std::vector<FiguresChange>& into) {
  into.clear();
  std::swap(into, figures_changes_);
}

std::vector<FiguresChange> Engine::TakeFiguresChanges() {
  std::vector<FiguresChange> taken;
  TakeFiguresChanges(taken);
  return taken;
}

}  // namespace closeloop::matcher
