// The engine applies documents, commands and watermark advances: it finds the
// slots of every subject a change can affect (the document's own, those of
// the deals it links to, and the other way round) and has each slot driven
// through event time (slot_driver.h). Fuzzy links: engine_fuzzy.cc.
#include "matcher/engine.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <variant>

#include "matcher/engine_call.h"
#include "matcher/lifecycle.h"
#include "matcher/rules.h"

namespace closeloop::matcher {

namespace {

// How PutDeal dates a deal sent without close_time, by the tenant's stages.
auto Continues(const TenantRules& rules) {
  return [&rules](std::string_view from, std::string_view to) {
    return rules.ContinuesStage(from, to);
  };
}

constexpr Slot kAllSlots[] = {Slot::kNotBillable, Slot::kMissingOrder, Slot::kBilling,
                              Slot::kTerms,       Slot::kUnpaid,       Slot::kOrphanInvoice,
                              Slot::kOrphanOrder};

}  // namespace

void Engine::Call::Apply(const Deal& deal) {
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

void Engine::Call::Apply(const Order& order) {
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
    ArmFuzzyLink(state, Slot::kOrderFuzzyLink, order.event_time, /*arriving=*/true);
  }
  Settle(targets, order.event_time);
  // An order counts in the books only through the invoices that name it.
  if (!state.invoices.empty()) {
    for (DealState* deal : deals) Refigure(*deal, order.event_time);
  }
}

void Engine::Call::Apply(const Invoice& invoice) {
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
    ArmFuzzyLink(state, Slot::kFuzzyLink, invoice.event_time, /*arriving=*/true);
  }
  Settle(targets, invoice.event_time);
  for (DealState* deal : deals) Refigure(*deal, invoice.event_time);
}

void Engine::Call::Apply(const Payment& payment) {
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

void Engine::Call::Fire(const Timer& timer) {
  std::visit(
      [&](auto* state) { slots_.CatchUpAndRearm(*state, timer.slot, slots_.Rules(timer.tenant)); },
      Subject(timer.slot, timer.tenant, timer.id));
}

CommandRejection Engine::Call::NeverRaised(const Command& command) {
  return {CommandRejection::Why::kUnknownException,
          "no exception " + command.exception_id + " was ever raised"};
}

std::optional<CommandRejection> Engine::Call::Apply(const Command& command) {
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

void Engine::Call::Resettle(SubjectType type, const TenantId& tenant, const std::string& id,
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

void Engine::Call::Resettle(DealState& state, const TenantRules& rules) {
  // Versions sent without close_time are dated by the stages as they are
  // counted now, as a rebuild of the state would date them.
  RedateDeal(state.deal, kMinTime, Continues(rules));
  for (Slot slot : kDealSlots) slots_.Resettle(state, slot, rules);
  Refigure(state, watermarks_.AsOf(DepsOf(Slot::kBilling)));
}

void Engine::Call::Resettle(OrderState& state, const TenantRules& rules) {
  ResettleFuzzyLink(state, Slot::kOrderFuzzyLink, state.order.versions, rules);
  slots_.Resettle(state, Slot::kOrphanOrder, rules);
}

void Engine::Call::Resettle(InvoiceState& state, const TenantRules& rules) {
  ResettleFuzzyLink(state, Slot::kFuzzyLink, state.invoice.versions, rules);
  for (Slot slot : kInvoiceSlots) slots_.Resettle(state, slot, rules);
}

void Engine::Call::Refigure(DealState& deal, EventTime at) {
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

void Engine::Call::RefigureDealOf(InvoiceState& invoice, EventTime at) {
  const Invoice* inv = invoice.invoice.Latest();
  if (inv == nullptr) return;
  const DealId& id = LinkedDeal(session_, *inv, kMaxTime);
  if (!id.empty()) Refigure(session_.Deal(invoice.tenant, id), at);
}

std::variant<DealState*, OrderState*, InvoiceState*> Engine::Call::Subject(Slot slot,
                                                                           const TenantId& tenant,
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

void Engine::Call::AddCreditSharers(Targets& targets, DealState& deal, const InvoiceState* skip,
                                    bool credit) {
  if (!credit && !HasCreditMemo(session_, deal)) return;
  ForEachCandidateInvoice(session_, deal, [&](const InvoiceId& id) {
    InvoiceState* other = &session_.Invoice(deal.tenant, id);
    if (other != skip) targets.push_back({other, Slot::kUnpaid});
  });
}

void Engine::Call::CatchUp(const Targets& targets) {
  for (const Target& t : targets)
    std::visit([&](auto* s) { slots_.CatchUpSlot(*s, t.slot); }, t.state);
}

void Engine::Call::Settle(const Targets& targets, EventTime doc_time) {
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

template <class Doc>
const std::vector<DealState*>& Engine::Call::DealsOf(const std::vector<Doc>& versions,
                                                     const Doc& next) {
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

Engine::Engine(const TenantDirectory& tenants, Store& store, EngineOptions options)
    : tenants_(tenants), store_(store), options_(options), buffers_(std::make_unique<Buffers>()) {
  drained_to_.fill(kMinTime);
}

Engine::~Engine() = default;

void Engine::Apply(const Document& doc, const WatermarkSet& watermarks,
                   std::vector<ExceptionRecord>& out) {
  Call call(tenants_, store_, watermarks, out, figures_changes_, fuzzy_drained_to_, *buffers_,
            options_);
  call.DecideFuzzyLinks();
  std::visit([&](const auto& d) { call.Apply(d); }, doc);
  call.Finish();
}

std::optional<CommandRejection> Engine::ApplyCommand(const Command& command,
                                                     const WatermarkSet& watermarks,
                                                     std::vector<ExceptionRecord>& out) {
  Call call(tenants_, store_, watermarks, out, figures_changes_, fuzzy_drained_to_, *buffers_,
            options_);
  call.DecideFuzzyLinks();
  std::optional<CommandRejection> rejection = call.Apply(command);
  call.Finish();
  return rejection;
}

bool Engine::Advance(const WatermarkSet& watermarks, std::vector<ExceptionRecord>& out,
                     size_t max_timers) {
  static_assert(std::size(kAllSlots) == std::tuple_size_v<decltype(drained_to_)>);
  Call call(tenants_, store_, watermarks, out, figures_changes_, fuzzy_drained_to_, *buffers_,
            options_);
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
  Call call(tenants_, store_, watermarks, out, figures_changes_, fuzzy_drained_to_, *buffers_,
            options_);
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
