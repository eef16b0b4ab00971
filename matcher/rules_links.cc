// ORPHAN_ORDER, ORPHAN_INVOICE and TERMS_MISMATCH: documents judged by what
// they link to.
#include "matcher/money.h"
#include "matcher/rules.h"

namespace closeloop::matcher {
namespace {

// A Sentence piece: " of USD 1,200.00", or nothing for an order that gives
// no amount (the contract makes it optional, with its currency).
struct OfAmount {
  Money money;
};
size_t SizeOf(OfAmount a) { return 4 + SizeOf(a.money); }
void AppendTo(std::string& out, OfAmount a) {
  if (a.money.currency.empty()) return;
  out.append(" of ");
  AppendTo(out, a.money);
}

bool DealExists(Session& session, const TenantId& tenant, const DealId& id, EventTime at) {
  return !id.empty() && session.Deal(tenant, id).deal.AsOf(at) != nullptr;
}

// When a document first appeared: its earliest version's event time.
template <class Doc>
EventTime FirstSeen(const History<Doc>& history) {
  return history.versions.front().event_time;
}

// The invoice's payment terms in days, if it states them one way or another:
// from the issue date to the due date (times of day do not count), else its
// payment_terms_days. The due date comes first, as for UNPAID (DueTime): it
// is the date the customer is asked to pay by, whatever days it also states.
std::optional<int64_t> InvoiceTerms(const Invoice& inv) {
  if (inv.due_time) return CalendarDaysBetween(inv.issue_time, *inv.due_time);
  if (inv.payment_terms_days) return *inv.payment_terms_days;
  return std::nullopt;
}

}  // namespace

Verdict EvaluateOrphanOrder(Session& session, const OrderState& state, const TenantRules& rules,
                            EventTime at, Words words) {
  const Order* order = state.order.AsOf(at);
  if (order == nullptr) return {};
  if (order->status == Order::Status::kCancelled) return {.withdrawn = true};
  const EventTime deadline = FirstSeen(state.order) + rules.orphan_window;
  // Before the deadline, fixed at the first version, no exception is open to
  // resolve: whether the order is linked does not matter yet.
  if (at < deadline) return {};
  const Link link = OrderLink(session, *order, at);
  if (DealExists(session, state.tenant, link.deal, at)) {
    return {.resolved_confidence = link.confidence};
  }
  Finding f{.kind = ExceptionKind::kOrphanOrder,
            .amount_at_risk_minor = order->amount_minor,
            .currency = order->currency,
            .deadline = deadline,
            .deal = order->deal.value,
            .order = order->id.value,
            .customer = order->customer.value};
  if (words == Words::kWith) {
    const bool named = !order->deal.empty();
    f.reason =
        Sentence("Order ", order->id.value, order->customer.empty() ? "" : " for customer ",
                 order->customer.value, OfAmount{{order->amount_minor, order->currency}},
                 named ? " names CRM deal " : " names no CRM deal", order->deal.value,
                 named ? ", which does not exist " : " ", DaysBetween(FirstSeen(state.order), at),
                 " days after it was entered; link it to its deal or record the deal in the CRM.");
  }
  return {.finding = std::move(f)};
}

EventTime OrphanOrderQuietUntil(const OrderState& state, const TenantRules& rules) {
  return state.order.versions.empty() ? kMaxTime : FirstSeen(state.order) + rules.orphan_window;
}

EventTime OrphanInvoiceQuietUntil(const InvoiceState& state, const TenantRules& rules) {
  EventTime quiet = kMaxTime;
  for (const Invoice& v : state.invoice.versions) {
    quiet = std::min(quiet, v.issue_time + rules.orphan_window);
  }
  return quiet;
}

void OrphanOrderChangePoints(Session& session, const OrderState& state, const TenantRules& rules,
                             std::vector<EventTime>& points) {
  if (state.order.versions.empty()) return;
  points.push_back(FirstSeen(state.order) + rules.orphan_window);
  AddLinkedAt(state.fuzzy, points);
  for (const Order& v : state.order.versions) {
    points.push_back(v.event_time);
    const DealId& deal = OrderLink(session, v, kMaxTime).deal;
    if (deal.empty()) continue;
    for (const Deal& d : session.Deal(state.tenant, deal).deal.versions)
      points.push_back(d.event_time);
  }
}

Verdict EvaluateOrphanInvoice(Session& session, const InvoiceState& state, const TenantRules& rules,
                              EventTime at, Words words) {
  const Invoice* inv = state.invoice.AsOf(at);
  if (inv == nullptr) return {};
  if (inv->status == Invoice::Status::kVoid) return {.withdrawn = true};
  // Linked through a known order, it is that order's to be an orphan
  // (ORPHAN_ORDER). Not when it names a deal: the deal reference decides its
  // link (SPEC §5), so one naming a deal that does not exist bills nothing.
  const bool order_known = inv->deal.empty() && !inv->order.empty() &&
                           session.Order(inv->tenant, inv->order).order.AsOf(at);
  if (order_known) return {};
  if (const Link link = InvoiceLink(session, *inv, at);
      DealExists(session, inv->tenant, link.deal, at)) {
    return {.resolved_confidence = link.confidence};
  }
  // Before the deadline it is no orphan yet: an exception open since an
  // earlier issue time is withdrawn, not recovered (nothing was linked).
  const EventTime deadline = inv->issue_time + rules.orphan_window;
  if (at < deadline) return {.withdrawn = true};
  Finding f{.kind = ExceptionKind::kOrphanInvoice,
            .amount_at_risk_minor = inv->amount_minor,
            .currency = inv->currency,
            .deadline = deadline,
            .deal = inv->deal.value,
            .order = inv->order.value,
            .invoice = inv->id.value,
            .customer = inv->customer.value};
  if (words == Words::kWith) {
    const bool named = !inv->deal.empty();
    f.reason =
        Sentence("Invoice ", inv->id.value, inv->customer.empty() ? "" : " to customer ",
                 inv->customer.value, " for ", Money{inv->amount_minor, inv->currency}, ", issued ",
                 Date{inv->issue_time}, named ? ", names CRM deal " : ", matches no order or deal",
                 inv->deal.value, named ? ", which does not exist" : "",
                 "; find the deal it bills or correct its references.");
  }
  return {.finding = std::move(f)};
}

Verdict EvaluateTerms(Session& session, const InvoiceState& state, const TenantRules& rules,
                      EventTime at, Words words) {
  const Invoice* inv = state.invoice.AsOf(at);
  if (inv == nullptr) return {};
  if (inv->status == Invoice::Status::kVoid) return {.withdrawn = true};
  const Link link = InvoiceLink(session, *inv, at);
  if (link.deal.empty()) return {};
  const Deal* deal = session.Deal(inv->tenant, link.deal).deal.AsOf(at);
  if (deal == nullptr) return {};
  // A lost deal expects nothing to be reissued on its terms: withdrawn, as
  // its other exceptions are (what was billed on it is OVER_BILLED).
  if (rules.IsLost(deal->stage)) return {.withdrawn = true};
  // A credit memo in another currency credits nothing billed on the deal
  // (amounts in two currencies never add up): raised like an invoice, or it
  // would leave no trace. It has no terms to pay in.
  const bool credit_memo = inv->kind == Invoice::Kind::kCreditMemo;
  std::string what;
  if (inv->currency != deal->currency) {
    what = "is in " + inv->currency +
           (deal->currency.empty() ? " but the deal states no currency"
                                   : " but the deal is in " + deal->currency);
  } else if (const auto terms = InvoiceTerms(*inv); !credit_memo && terms &&
                                                    deal->payment_terms_days &&
                                                    *terms != *deal->payment_terms_days) {
    what = "gives " + std::to_string(*terms) + " days to pay but the deal agreed " +
           std::to_string(*deal->payment_terms_days);
  }
  if (what.empty()) return {.resolved_confidence = link.confidence};
  Finding f = DealFinding(ExceptionKind::kTermsMismatch, *deal);
  f.amount_at_risk_minor = inv->amount_minor;
  f.currency = inv->currency;
  // No deadline but the event time it fires at (SPEC §5): where the invoice
  // and its deal first disagree, which may be the deal's change. Later
  // records keep the OPEN record's (Lifecycle), as OVER_BILLED's do.
  f.deadline = at;
  f.confidence = link.confidence;
  f.invoice = inv->id.value;
  f.order = inv->order.value;
  if (words == Words::kWith) {
    f.reason = Sentence(credit_memo ? "Credit memo " : "Invoice ", inv->id.value, " for ",
                        Money{inv->amount_minor, inv->currency}, " ", what, " (", DealPhrase{*deal},
                        "); reissue it on the deal's terms.");
  }
  return {.finding = std::move(f)};
}

void InvoiceLinkChangePoints(Session& session, const InvoiceState& state,
                             std::vector<EventTime>& points) {
  AddLinkedAt(state.fuzzy, points);
  for (const Invoice& v : state.invoice.versions) {
    points.push_back(v.event_time);
    if (!v.order.empty()) {
      const OrderState& order = session.Order(v.tenant, v.order);
      AddLinkedAt(order.fuzzy, points);
      for (const Order& o : order.order.versions) {
        points.push_back(o.event_time);
        const DealId& deal = OrderLink(session, o, kMaxTime).deal;
        if (deal.empty()) continue;
        for (const Deal& d : session.Deal(v.tenant, deal).deal.versions)
          points.push_back(d.event_time);
      }
    }
    // Without references, the deal fuzzy matching linked it to (InvoiceLink).
    const DealId& deal =
        v.deal.empty() && v.order.empty() ? LinkedDeal(session, v, kMaxTime) : v.deal;
    if (!deal.empty()) {
      for (const Deal& d : session.Deal(v.tenant, deal).deal.versions)
        points.push_back(d.event_time);
    }
  }
}

void OrphanInvoiceChangePoints(Session& session, const InvoiceState& state,
                               const TenantRules& rules, std::vector<EventTime>& points) {
  InvoiceLinkChangePoints(session, state, points);
  for (const Invoice& v : state.invoice.versions)
    points.push_back(v.issue_time + rules.orphan_window);
}

}  // namespace closeloop::matcher
