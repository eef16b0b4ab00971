// One engine call (Engine::Call): the states an Apply, Advance or Resettle
// touches, where its records go, and the steps they share. Internal to the
// matcher: engine.cc applies documents, commands and timers, and
// engine_fuzzy.cc decides fuzzy links.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "matcher/engine.h"
#include "matcher/session.h"
#include "matcher/slot_driver.h"
#include "matcher/targets.h"

namespace closeloop::matcher {

inline constexpr Slot kDealSlots[] = {Slot::kNotBillable, Slot::kMissingOrder, Slot::kBilling};
inline constexpr Slot kInvoiceSlots[] = {Slot::kTerms, Slot::kUnpaid, Slot::kOrphanInvoice};
// The invoice slots that depend on what the invoice links to.
inline constexpr Slot kInvoiceLinkSlots[] = {Slot::kTerms, Slot::kOrphanInvoice};
// The deal slots that depend on the deal's invoices.
inline constexpr Slot kDealBillingSlots[] = {Slot::kNotBillable, Slot::kBilling};

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
       EventTime& fuzzy_drained_to, Buffers& buffers, const EngineOptions& options)
      : store_(store),
        fuzzy_drained_to_(fuzzy_drained_to),
        session_(store),
        watermarks_(watermarks),
        out_(out),
        figures_(figures),
        buffers_(buffers),
        slots_(tenants, store, session_, watermarks, out, buffers.driver, options.quiet_bounds) {}

  // engine.cc: a document, a command or a timer, and the slots it changes.
  void Apply(const Deal& deal);
  void Apply(const Order& order);
  void Apply(const Invoice& invoice);
  void Apply(const Payment& payment);
  std::optional<CommandRejection> Apply(const Command& command);
  void Fire(const Timer& timer);

  // Decides the fuzzy links of invoices and orders the watermarks allow, in
  // event-time order (an order's link can change an invoice's candidates and
  // the other way round), before anything else in this call evaluates up to
  // them. At one event time orders come first: an order precedes the invoice
  // that bills it, and one matched after it would find the deal's remainder
  // billed (an ERP stamping both with the same date). In engine_fuzzy.cc.
  void DecideFuzzyLinks();

  // engine.cc: a subject evaluated anew under its tenant's changed rules.
  void Resettle(SubjectType type, const TenantId& tenant, const std::string& id,
                const TenantRules& rules);
  void Resettle(DealState& state, const TenantRules& rules);
  void Resettle(OrderState& state, const TenantRules& rules);
  void Resettle(InvoiceState& state, const TenantRules& rules);

  const TenantRules& Rules(const TenantId& tenant) { return slots_.Rules(tenant); }

  void Finish() { session_.Flush(); }

 private:
  static CommandRejection NeverRaised(const Command& command);

  // engine_fuzzy.cc: fuzzy links.

  // A document without a usable reference: look for its deal once every
  // source it reads has passed it (at its first such version; if that finds
  // none, once more at its orphan deadline: Decide), if its tenant
  // matches fuzzily. `arriving`: the document Apply has just put, whose
  // look is decided at once when it came after the watermarks passed it.
  template <class State>
  void ArmFuzzyLink(State& state, Slot slot, EventTime at, bool arriving = false);

  // With fuzzy_match now on, a document none of whose versions looked for
  // its deal does, from its first version without references (as Apply
  // would have armed it); with it now off, one still waiting stops.
  template <class State, class Doc>
  void ResettleFuzzyLink(State& state, Slot slot, const std::vector<Doc>& versions,
                         const TenantRules& rules);

  // The only open deal of `customer` whose unbilled remainder, or next
  // installment (a milestone or period of its plan not yet billed), matches
  // `amount` within tolerance, as things stood at `at`; nullptr when there is
  // none or there are several.
  DealState* FuzzyCandidate(const TenantId& tenant, const CustomerId& customer,
                            std::string_view currency, int64_t amount, EventTime at);

  // Takes the document's fuzzy-link timer off; returns its event time.
  template <class State>
  EventTime TakeFuzzyTimer(State& state, Slot slot);

  // No more looks: the link, or its absence, is final.
  template <class State>
  static void Decided(State& state);

  // The look at `at` decided: links to `deal` (nullptr: found none). A first
  // look that found none looks again at the document's orphan deadline, when
  // that is later: a deal marked won in the CRM after the document was
  // billed or ordered is found then, before the document becomes an orphan.
  // A link made then holds from then on (FuzzyLink::linked_at). The link of
  // a document decided as it arrives (late: the watermarks passed it before
  // it came) first catches up the slots it changes, as Apply does for a
  // document naming its deal: it counts from where they stand, whether or
  // not a timer happened to take them there.
  template <class State>
  void Decide(State& state, Slot slot, EventTime at, DealState* deal, EventTime orphan_deadline);

  // Links an invoice without references to its FuzzyCandidate; returns
  // whether it did. A credit memo credits billing already done, so an
  // unbilled remainder says nothing of which deal it belongs to: it is never
  // linked fuzzily.
  bool DecideFuzzyLink(InvoiceState& state);
  // Links an order without a deal reference to its FuzzyCandidate (the
  // invoices naming the order follow it to the deal); returns whether it did.
  bool DecideFuzzyLink(OrderState& state);
  // The slots a document's link to `deal` changes.
  void AddLinkTargets(Targets& targets, InvoiceState& state, DealState& deal);
  void AddLinkTargets(Targets& targets, OrderState& state, DealState& deal);
  // Settles the slots the document's link, decided at `at`, changes.
  // Decisions come before anything in this call evaluates past them (and a
  // late one's slots were caught up: Decide), so the link counts from the
  // document's own time where nothing was published since.
  template <class State>
  void SettleFuzzyLink(State& state, EventTime at);

  // engine.cc: steps every kind of change takes.

  // Reports the deal's figures if they differ from what was last reported.
  void Refigure(DealState& deal, EventTime at);
  // The same for the deal an invoice is linked to now, if any.
  void RefigureDealOf(InvoiceState& invoice, EventTime at);

  Targets NewTargets() { return Targets(buffers_.spare_targets); }

  std::variant<DealState*, OrderState*, InvoiceState*> Subject(Slot slot, const TenantId& tenant,
                                                               std::string_view id);

  template <class State, size_t N>
  static void AddAll(Targets& targets, State* state, const Slot (&slots)[N]) {
    for (Slot slot : slots) targets.push_back({state, slot});
  }

  // UNPAID of the invoices that share the credit memos of `deal`
  // (EvaluateUnpaid), but `skip`, when it has any or `credit` says one is
  // coming: what one of them owes changes what the others are credited.
  void AddCreditSharers(Targets& targets, DealState& deal, const InvoiceState* skip, bool credit);

  void CatchUp(const Targets& targets);
  // The targets of one document are all in its tenant: its rules are looked
  // up once, not at every slot (1.2M lookups cost 2% of the instructions).
  void Settle(const Targets& targets, EventTime doc_time);

  // The deals that versions of a document (and its new version) point at,
  // in the engine's buffer: valid until the next DealsOf (one per Apply). An
  // invoice naming an order points at the deal of every version of the
  // order: it billed each while the order named it, and a relink read
  // before the invoice must not keep the first deal from seeing it.
  template <class Doc>
  const std::vector<DealState*>& DealsOf(const std::vector<Doc>& versions, const Doc& next);

  Store& store_;
  EventTime& fuzzy_drained_to_;
  // The document being armed by Apply (ArmFuzzyLink's `arriving`) while its
  // own look is decided; nullptr otherwise.
  const void* arriving_ = nullptr;
  Session session_;
  const WatermarkSet& watermarks_;
  std::vector<ExceptionRecord>& out_;
  std::vector<FiguresChange>& figures_;
  Buffers& buffers_;
  SlotDriver slots_;
};

}  // namespace closeloop::matcher
