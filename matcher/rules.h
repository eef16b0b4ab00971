// The rules of SPEC §5, one function pair per slot: what should be open at an
// event time, and the event times at which that answer can change. Pure: they
// read documents through the Session and never change them.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "matcher/money.h"
#include "matcher/session.h"
#include "matcher/tenant.h"

namespace closeloop::matcher {

// A fuzzy link made on a second look (FuzzyLink::linked_at) changes what its
// document links to from then on: a change point of every rule that reads
// the link.
inline void AddLinkedAt(const FuzzyLink& fuzzy, std::vector<EventTime>& points) {
  if (fuzzy.deal && fuzzy.linked_at != kMinTime) points.push_back(fuzzy.linked_at);
}
// Where a document linked to a deal changes what the deal's rules see: each
// of its versions, and its fuzzy link made on a second look.
inline void AddDocumentPoints(const OrderState& order, std::vector<EventTime>& points) {
  AddLinkedAt(order.fuzzy, points);
  for (const Order& v : order.order.versions) points.push_back(v.event_time);
}
inline void AddDocumentPoints(const InvoiceState& invoice, std::vector<EventTime>& points) {
  AddLinkedAt(invoice.fuzzy, points);
  for (const Invoice& v : invoice.invoice.versions) points.push_back(v.event_time);
}

// Whether a rule composes its finding's reason. Only a record needs one, and
// most evaluations make none.
enum class Words { kWith, kWithout };

// An exception a rule says should be open at some event time.
// Its text fields view the documents it was found in: a finding is used
// within the engine call that made it, while the session holds them.
struct Finding {
  ExceptionKind kind;
  int64_t amount_at_risk_minor = 0;
  std::string_view currency;
  EventTime deadline;  // the deadline (or event) that made it due
  double confidence = 1.0;
  std::string_view deal;
  std::string_view order;
  std::string_view invoice;
  std::string_view customer;
  std::string_view customer_name;
  std::string_view owner;
  std::string reason;  // one sentence a person can act on; empty with Words::kWithout
};

// A rule's answer at one event time: an exception that should be open, or
// none; `withdrawn` says the subject stopped qualifying (deal lost, invoice
// voided), which resolves an open exception as WITHDRAWN instead of RECOVERED.
struct Verdict {
  std::optional<Finding> finding;
  bool withdrawn = false;
  // Set by Engine::Resettle: the verdict comes from the tenant's rules as
  // changed between runs, not from a document, so an open exception it no
  // longer finds is withdrawn as such. (Beside `withdrawn`, in its padding.)
  bool rules_changed = false;
  // For rules about money: how much has arrived (billed for the billing
  // slot, collected for UNPAID). Recovery is what it grew by while the
  // exception was open, so a shrunken expectation is not counted as money
  // recovered.
  std::optional<int64_t> progress_minor;
  // progress_minor's currency (the deal's, the invoice's): progress in
  // another currency than an open exception's is no money recovered for it.
  std::string_view progress_currency;
  // With no finding: the lowest confidence of the links behind what arrived
  // (a fuzzily linked invoice or order), which a RECOVERED record states as
  // an OPEN one states its finding's (SPEC §5: the links that decided it).
  double resolved_confidence = 1.0;
};

// Quiet-until bounds, one per rule with a deadline: the earliest event time
// at which the rule can find anything, given the documents known now. Before
// it the rule's answer is "nothing" (perhaps withdrawn, perhaps with
// progress), which changes nothing in a slot with no exception open and no
// kind dismissed, so the engine need not evaluate there. kMinTime when the
// rule cannot tell.
EventTime BillingQuietUntil(Session& session, const DealState& deal, const TenantRules& rules);
EventTime NotBillableQuietUntil(const DealState& deal, const TenantRules& rules);
EventTime MissingOrderQuietUntil(const DealState& deal, const TenantRules& rules);
EventTime UnpaidQuietUntil(const InvoiceState& invoice, const TenantRules& rules);
EventTime OrphanInvoiceQuietUntil(const InvoiceState& invoice, const TenantRules& rules);
EventTime OrphanOrderQuietUntil(const OrderState& order, const TenantRules& rules);

// Deal slot kBilling: MISSING_INVOICE, UNDER_BILLED, OVER_BILLED.
Verdict EvaluateBilling(Session& session, const DealState& deal, const TenantRules& rules,
                        EventTime at, Words words = Words::kWith);
// Whether EvaluateBilling finds anything at `at`, without building the
// finding (EvaluateBilling with Words::kWithout still copies the deal's
// names into it: 2.7% more instructions in the 50k-deal replay).
bool BillingFinds(Session& session, const DealState& deal, const TenantRules& rules, EventTime at);
void BillingChangePoints(Session& session, const DealState& deal, const TenantRules& rules,
                         std::vector<EventTime>& points);

// What the invoice's payments in `currency` have collected at `at`.
struct Collected {
  // Successful payments minus refunds. A REFUNDED version of a payment that
  // had succeeded takes back the refunded amount from it; a refund with an id
  // of its own subtracts its amount.
  int64_t amount_minor = 0;
  // The event time of the first successful payment, among those that still
  // count something; nullopt when none does.
  std::optional<EventTime> first;
};
Collected CollectedAt(const InvoiceState& invoice, const Text& currency, EventTime at);

// Invoice slot kUnpaid: UNPAID, for what is owed net of the credit memos of
// the invoice's deal.
Verdict EvaluateUnpaid(Session& session, const InvoiceState& invoice, const TenantRules& rules,
                       EventTime at, Words words = Words::kWith);
void UnpaidChangePoints(Session& session, const InvoiceState& invoice, const TenantRules& rules,
                        std::vector<EventTime>& points);
// The deal an invoice version names by reference at `t`: its deal_id, else
// its order's deal_id; never a fuzzy link (UNPAID does not wait for the CRM
// that decides those). The empty id when it names none.
const DealId& ReferencedDeal(Session& session, const Invoice& invoice, EventTime t);
// Whether any version of any invoice that ever pointed at the deal is a
// credit memo (UNPAID then shares the deal's credit among its invoices).
bool HasCreditMemo(Session& session, const DealState& deal);
// Calls fn(deal_id) for every deal a version of the invoice named by
// reference at some time (ReferencedDeal): its deal_id, or that of any
// version of the order it names. Repeats are not left out.
template <class Fn>
void ForEachReferencedDeal(Session& session, const InvoiceState& invoice, Fn&& fn) {
  for (const Invoice& v : invoice.invoice.versions) {
    if (!v.deal.empty()) {
      fn(v.deal);
      continue;
    }
    if (v.order.empty()) continue;
    for (const Order& o : session.Order(invoice.tenant, v.order).order.versions) {
      if (!o.deal.empty()) fn(o.deal);
    }
  }
}

// The billing deadlines of a won deal with the amount expected by each
// (SPEC §5 "Billing deadlines").
struct BillingDeadline {
  EventTime deadline;
  int64_t amount_minor;
};
// Calls `f(BillingDeadline)` for each, in the plan's order, which is not
// always the deadlines' order: the rules need only sums, the earliest and
// the latest. Allocates nothing (it runs several times per document).
template <class F>
void ForEachBillingDeadline(const Deal& deal, const TenantRules& rules, F&& f) {
  switch (deal.billing_plan.kind) {
    case BillingPlan::Kind::kOneTime:
      f(BillingDeadline{deal.close_time + rules.invoice_window, deal.amount_minor});
      return;
    case BillingPlan::Kind::kMilestones:
      for (const Milestone& m : deal.billing_plan.milestones) {
        f(BillingDeadline{m.due_time + rules.milestone_grace, m.amount_minor});
      }
      return;
    case BillingPlan::Kind::kRecurring: {
      const int32_t periods = std::max(1, deal.billing_plan.periods);
      const int64_t share = deal.amount_minor / periods;
      for (int32_t k = 0; k < periods; ++k) {
        // The last period takes the remainder so the shares sum to the deal.
        const int64_t amount = k + 1 == periods ? deal.amount_minor - share * (periods - 1) : share;
        const EventTime start = deal.close_time + k * deal.billing_plan.period_days * kDay;
        f(BillingDeadline{start + rules.milestone_grace, amount});
      }
      return;
    }
  }
}

// What billing the deal's next installment takes, with `billed_minor` billed
// so far: the plan's installments in deadline order (the whole amount for a
// one-time plan), and from the first whose running sum exceeds what is
// billed, that sum minus what is billed. 0 when nothing is left to bill.
int64_t NextInstallment(const Deal& deal, const TenantRules& rules, int64_t billed_minor);

}  // namespace closeloop::matcher

namespace closeloop::matcher {

// Deal slot kNotBillable: NOT_BILLABLE while a won deal lacks a required
// billing field and nothing has been invoiced.
Verdict EvaluateNotBillable(Session& session, const DealState& deal, const TenantRules& rules,
                            EventTime at, Words words = Words::kWith);
// Deal slot kMissingOrder: MISSING_ORDER when no order is linked
// `order_window` after close (if the tenant requires orders).
Verdict EvaluateMissingOrder(Session& session, const DealState& deal, const TenantRules& rules,
                             EventTime at, Words words = Words::kWith);
// Event times at which a deal's NOT_BILLABLE or MISSING_ORDER answer can change.
void DealChangePoints(Session& session, const DealState& deal, const TenantRules& rules, Slot slot,
                      std::vector<EventTime>& points);

// Order slot kOrphanOrder: an order linked to no CRM deal `orphan_window`
// after it first appeared.
Verdict EvaluateOrphanOrder(Session& session, const OrderState& order, const TenantRules& rules,
                            EventTime at, Words words = Words::kWith);
void OrphanOrderChangePoints(Session& session, const OrderState& order, const TenantRules& rules,
                             std::vector<EventTime>& points);

// Invoice slot kOrphanInvoice: an invoice linked to no order or deal
// `orphan_window` after issue.
Verdict EvaluateOrphanInvoice(Session& session, const InvoiceState& invoice,
                              const TenantRules& rules, EventTime at, Words words = Words::kWith);
// Invoice slot kTerms: an invoice whose payment terms or currency differ from
// its deal's; withdrawn while the deal is lost.
Verdict EvaluateTerms(Session& session, const InvoiceState& invoice, const TenantRules& rules,
                      EventTime at, Words words = Words::kWith);
// Event times at which an invoice's link-dependent answers (kTerms) can
// change: its versions and the versions of what it references.
void InvoiceLinkChangePoints(Session& session, const InvoiceState& invoice,
                             std::vector<EventTime>& points);
// kOrphanInvoice's: the same and each version's orphan deadline.
void OrphanInvoiceChangePoints(Session& session, const InvoiceState& invoice,
                               const TenantRules& rules, std::vector<EventTime>& points);

// Every invoice that ever pointed at the deal, directly or through an order,
// in id order.
std::vector<InvoiceId> CandidateInvoices(Session& session, const DealState& deal);
// Calls fn(invoice_id) once for each of CandidateInvoices, in no particular
// order, without building the list.
template <class Fn>
void ForEachCandidateInvoice(Session& session, const DealState& deal, Fn&& fn) {
  auto in = [](const SmallVector<InvoiceId>& ids, const InvoiceId& id) {
    return std::binary_search(ids.begin(), ids.end(), id);
  };
  for (const InvoiceId& id : deal.invoices) fn(id);
  for (size_t i = 0; i < deal.orders.size(); ++i) {
    for (const InvoiceId& id : session.Order(deal.tenant, deal.orders[i]).invoices) {
      if (in(deal.invoices, id)) continue;
      bool seen = false;  // through an earlier order
      for (size_t j = 0; j < i && !seen; ++j) {
        seen = in(session.Order(deal.tenant, deal.orders[j]).invoices, id);
      }
      if (!seen) fn(id);
    }
  }
}

struct Billed {
  int64_t amount_minor = 0;  // invoices minus credit memos
  int invoices = 0;          // issued invoices counted
  double confidence = 1.0;   // the lowest confidence of the links counted
};
// What is billed to the deal at `at`: invoices linked to it then, in the
// deal's currency, not voided.
Billed BilledAt(Session& session, const DealState& state, const Deal& deal, EventTime at);
// Calls `fn(invoice_state, invoice_version, confidence)` for every invoice or
// credit memo linked to the deal at `at` and not voided, in `currency` unless
// that is null, with its version at `at` and the confidence of its link, in
// no particular order.
template <class Fn>
void ForEachLinked(Session& session, const DealState& state, const Text* currency, EventTime at,
                   Fn&& fn) {
  ForEachCandidateInvoice(session, state, [&](const InvoiceId& id) {
    const InvoiceState& invoice = session.Invoice(state.tenant, id);
    const Invoice* inv = invoice.invoice.AsOf(at);
    if (inv == nullptr || inv->status == Invoice::Status::kVoid) return;
    if (currency != nullptr && inv->currency != *currency) return;
    const Link link = InvoiceLink(session, *inv, at);
    if (!(link.deal == state.id)) return;
    fn(invoice, *inv, link.confidence);
  });
}
// ForEachLinked for what BilledAt counts: amounts in two currencies never add
// up, so only the deal's currency (a deal that states none, allowed only
// without an amount, counts no invoice).
template <class Fn>
void ForEachBilled(Session& session, const DealState& state, const Deal& deal, EventTime at,
                   Fn&& fn) {
  ForEachLinked(session, state, &deal.currency, at, std::forward<Fn>(fn));
}

// The deal's books figures (SPEC §2) as every document known so far has it:
// its latest version, the invoices linked to it now and their payments.
// nullopt while no version of the deal is known.
std::optional<DealFigures> FiguresOf(Session& session, const DealState& state,
                                     const TenantRules& rules);

// Shared by the rules, a Sentence piece (money.h): "Deal D-17 for Acme Corp,
// closed 2026-03-02 for USD 12,000.00" (no amount when it states no currency).
struct DealPhrase {
  const Deal& deal;
};
size_t SizeOf(const DealPhrase& phrase);
void AppendTo(std::string& out, const DealPhrase& phrase);
// The end of a reason naming the documents of another currency that count
// nothing toward it: " Payment P-1 of EUR 10.00 is not counted: it is not in
// USD." or " Invoice I-1 and 2 more are not counted: they are not in USD."
// (`noun` "Payment" or "Invoice"; `count` >= 1).
std::string NotCounted(std::string_view noun, std::string_view first_id, Money first, int64_t count,
                       std::string_view currency);
// A Finding about `deal`, with its customer, owner and currency filled in.
Finding DealFinding(ExceptionKind kind, const Deal& deal);

}  // namespace closeloop::matcher
