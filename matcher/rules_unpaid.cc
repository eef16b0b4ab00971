// UNPAID: an invoice not fully paid `payment_grace` after its due date, net of
// the credit memos of its deal.
#include <algorithm>
#include <limits>

#include "matcher/money.h"
#include "matcher/rules.h"

namespace closeloop::matcher {
namespace {

EventTime DueTime(const Invoice& inv, const TenantRules& rules) {
  if (inv.due_time) return *inv.due_time;
  return inv.issue_time + inv.payment_terms_days.value_or(rules.default_payment_terms_days) * kDay;
}

// What one payment contributes at `at` (see CollectedAt).
int64_t PaymentCollected(const History<Payment>& history, const Text& currency, EventTime at) {
  const Payment* latest = history.AsOf(at);
  if (latest == nullptr || latest->currency != currency) return 0;
  switch (latest->status) {
    case Payment::Status::kSucceeded:
      return latest->amount_minor;
    case Payment::Status::kFailed:
    case Payment::Status::kMoved:
      return 0;
    case Payment::Status::kRefunded: {
      // A refunded version takes back from its payment's last success; a
      // refund under its own id (no success) subtracts its amount. A
      // success in another currency never counted here, so its refund
      // takes nothing here either.
      const Payment* success = nullptr;
      for (const Payment& v : history.versions) {
        if (v.event_time > at) break;
        if (v.status == Payment::Status::kSucceeded) success = &v;
      }
      if (success == nullptr) return -latest->amount_minor;
      if (success->currency != currency) return 0;
      return success->amount_minor - latest->amount_minor;
    }
  }
  return 0;
}

// For an UNPAID reason: the payments whose latest version at `at` succeeded
// in another currency than the invoice's, which count nothing toward it, so
// that nobody takes the invoice for paid ("" when there are none).
std::string OtherCurrencyPayments(const InvoiceState& state, const Invoice& inv, EventTime at) {
  const Payment* first = nullptr;
  int64_t count = 0;
  for (const auto& [id, history] : state.payments) {
    const Payment* p = history.AsOf(at);
    if (p == nullptr || p->status != Payment::Status::kSucceeded || p->currency == inv.currency) {
      continue;
    }
    if (first == nullptr) first = p;
    ++count;
  }
  if (first == nullptr) return "";
  return NotCounted("Payment", first->id.value, Money{first->amount_minor, first->currency}, count,
                    inv.currency);
}

void AddPaymentPoints(const InvoiceState& state, std::vector<EventTime>& points) {
  for (const auto& [id, history] : state.payments) {
    for (const Payment& v : history.versions) points.push_back(v.event_time);
  }
}

// What the deal's credit memos take off what the invoice owes at `at`
// (SPEC §3: a credit memo's amount reduces billed, so also what is owed):
// the credit memos in the invoice's currency that name the deal, as the
// invoice does (ReferencedDeal), added up and applied to the deal's unpaid
// invoices in that currency in order of due date, then id, each up to what
// it owes. `owed` is what this invoice owes before credit.
struct Credit {
  int64_t applied_minor = 0;
  std::string_view currency;
  const DealId* deal = nullptr;
};
Credit CreditApplied(Session& session, const InvoiceState& state, const Invoice& inv,
                     const TenantRules& rules, EventTime at, int64_t owed) {
  const DealId& deal_id = ReferencedDeal(session, inv, at);
  if (deal_id.empty()) return {};
  const DealState& deal = session.Deal(inv.tenant, deal_id);
  if (!HasCreditMemo(session, deal)) return {};
  const EventTime due = DueTime(inv, rules);
  // One pass: the credit, and what the invoices due before this one owe,
  // which they take from it first (in whatever order they take it, what
  // they leave is the credit minus all they owe).
  int64_t credit = 0, owed_before = 0;
  ForEachCandidateInvoice(session, deal, [&](const InvoiceId& id) {
    const InvoiceState& other = session.Invoice(inv.tenant, id);
    if (&other == &state) return;
    const Invoice* v = other.invoice.AsOf(at);
    if (v == nullptr || v->status == Invoice::Status::kVoid || v->currency != inv.currency) return;
    if (!(ReferencedDeal(session, *v, at) == deal_id)) return;
    if (v->kind == Invoice::Kind::kCreditMemo) {
      credit += v->amount_minor;
      return;
    }
    const EventTime other_due = DueTime(*v, rules);
    if (other_due > due || (other_due == due && !(other.id < state.id))) return;
    owed_before +=
        std::max<int64_t>(0, v->amount_minor - CollectedAt(other, v->currency, at).amount_minor);
  });
  const int64_t left = credit - owed_before;
  if (left <= 0) return {};
  return {std::min(left, owed), inv.currency, &deal_id};
}

// A Sentence piece: ", after USD 1,000.00 of credit memos on deal D-1", or
// nothing when no credit was applied.
size_t SizeOf(const Credit& c) {
  return c.applied_minor == 0
             ? 0
             : 40 + SizeOf(Money{c.applied_minor, c.currency}) + c.deal->value.size();
}
void AppendTo(std::string& out, const Credit& c) {
  if (c.applied_minor == 0) return;
  out.append(", after ");
  AppendTo(out, Money{c.applied_minor, c.currency});
  out.append(" of credit memos on deal ");
  out.append(c.deal->value);
}

}  // namespace

const DealId& ReferencedDeal(Session& session, const Invoice& invoice, EventTime t) {
  if (!invoice.deal.empty() || invoice.order.empty()) return invoice.deal;
  const Order* order = session.Order(invoice.tenant, invoice.order).order.AsOf(t);
  return order == nullptr ? kNoDeal : order->deal;
}

bool HasCreditMemo(Session& session, const DealState& deal) {
  if (const bool* known = session.KnownCredit(deal)) return *known;
  bool found = false;
  ForEachCandidateInvoice(session, deal, [&](const InvoiceId& id) {
    for (const Invoice& v : session.Invoice(deal.tenant, id).invoice.versions) {
      found = found || v.kind == Invoice::Kind::kCreditMemo;
    }
  });
  session.RememberCredit(deal, found);
  return found;
}

Collected CollectedAt(const InvoiceState& state, const Text& currency, EventTime at) {
  Collected c;
  for (const auto& [id, history] : state.payments) {
    const int64_t amount = PaymentCollected(history, currency, at);
    c.amount_minor += amount;
    if (amount <= 0) continue;
    for (const Payment& v : history.versions) {
      if (v.event_time > at) break;
      if (v.status != Payment::Status::kSucceeded) continue;
      if (!c.first || v.event_time < *c.first) c.first = v.event_time;
      break;
    }
  }
  return c;
}

Verdict EvaluateUnpaid(Session& session, const InvoiceState& state, const TenantRules& rules,
                       EventTime at, Words words) {
  const Invoice* inv = state.invoice.AsOf(at);
  if (inv == nullptr) return {};
  if (inv->status == Invoice::Status::kVoid) return {.withdrawn = true};
  if (inv->kind == Invoice::Kind::kCreditMemo) return {.withdrawn = true};
  const EventTime due = DueTime(*inv, rules);
  const EventTime deadline = due + rules.payment_grace;
  const int64_t collected = CollectedAt(state, inv->currency, at).amount_minor;
  // Before the deadline nothing is overdue: an exception open since an
  // earlier due date recovers only what was paid since (none: withdrawn).
  if (at < deadline) return {.progress_minor = collected, .progress_currency = inv->currency};
  const int64_t tolerance = rules.Tolerance(inv->amount_minor, inv->currency);
  const int64_t owed = inv->amount_minor - collected;
  if (owed <= tolerance) return {.progress_minor = collected, .progress_currency = inv->currency};
  const Credit credit = CreditApplied(session, state, *inv, rules, at, owed);
  const int64_t outstanding = owed - credit.applied_minor;
  if (outstanding <= tolerance)
    return {.progress_minor = collected, .progress_currency = inv->currency};
  Finding f{.kind = ExceptionKind::kUnpaid,
            .amount_at_risk_minor = outstanding,
            .currency = inv->currency,
            .deadline = deadline,
            .deal = inv->deal.value,
            .order = inv->order.value,
            .invoice = inv->id.value,
            .customer = inv->customer.value};
  if (words == Words::kWith) {
    f.reason = Sentence("Invoice ", inv->id.value, inv->customer.empty() ? "" : " to customer ",
                        inv->customer.value, " for ", Money{inv->amount_minor, inv->currency},
                        ", due ", Date{due}, ", has ", Money{outstanding, inv->currency},
                        " unpaid ", DaysBetween(due, at), " days after its due date", credit, ".");
    f.reason += OtherCurrencyPayments(state, *inv, at);
  }
  return {.finding = std::move(f), .progress_minor = collected, .progress_currency = inv->currency};
}

namespace {

// A lower bound of what the payment contributes to an invoice in `currency`
// (PaymentCollected) at any time from `from` on: the least it succeeded
// with when every version succeeded in `currency` and the first came by
// `from`; else nothing, or less the most it refunded.
int64_t SurelyCollected(const History<Payment>& history, const Text& currency, EventTime from) {
  bool sure = !history.versions.empty() && history.versions.front().event_time <= from;
  int64_t least = std::numeric_limits<int64_t>::max();
  int64_t most_refunded = 0;
  for (const Payment& v : history.versions) {
    if (v.status == Payment::Status::kRefunded) {
      most_refunded = std::max(most_refunded, v.amount_minor);
      sure = false;
    } else if (v.status != Payment::Status::kSucceeded || !(v.currency == currency)) {
      sure = false;
    } else {
      least = std::min(least, v.amount_minor);
    }
  }
  return sure ? std::max<int64_t>(0, least) : -most_refunded;
}

}  // namespace

EventTime UnpaidQuietUntil(const InvoiceState& state, const TenantRules& rules) {
  // UNPAID waits for a version's deadline, and never comes while what is
  // surely collected from the first deadline on leaves no version owing
  // more than its tolerance (credit memos only lower what is owed).
  EventTime quiet = kMaxTime;
  const auto& versions = state.invoice.versions;
  const Text* currency = versions.empty() ? nullptr : &versions[0].currency;
  for (const Invoice& v : versions) {
    quiet = std::min(quiet, DueTime(v, rules) + rules.payment_grace);
    if (currency != nullptr && !(v.currency == *currency)) currency = nullptr;
  }
  if (currency == nullptr || quiet == kMaxTime) return quiet;
  int64_t collected = 0;
  for (const auto& [id, history] : state.payments) {
    collected += SurelyCollected(history, *currency, quiet);
  }
  for (const Invoice& v : versions) {
    if (v.kind != Invoice::Kind::kInvoice || v.status == Invoice::Status::kVoid) continue;
    if (v.amount_minor - collected > rules.Tolerance(v.amount_minor, v.currency)) return quiet;
  }
  return kMaxTime;
}

void UnpaidChangePoints(Session& session, const InvoiceState& state, const TenantRules& rules,
                        std::vector<EventTime>& points) {
  for (const Invoice& v : state.invoice.versions) {
    points.push_back(v.event_time);
    points.push_back(DueTime(v, rules) + rules.payment_grace);
  }
  AddPaymentPoints(state, points);
  // With credit memos on its deal, what the invoice is credited changes with
  // every document of the deal's group (CreditApplied), and with the orders
  // that say which deal an invoice naming one is for (a deal keeps every
  // order that ever named it).
  ForEachReferencedDeal(session, state, [&](const DealId& deal_id) {
    const DealState& deal = session.Deal(state.tenant, deal_id);
    if (!HasCreditMemo(session, deal)) return;
    for (const OrderId& id : deal.orders) {
      for (const Order& o : session.Order(state.tenant, id).order.versions) {
        points.push_back(o.event_time);
      }
    }
    ForEachCandidateInvoice(session, deal, [&](const InvoiceId& id) {
      const InvoiceState& other = session.Invoice(state.tenant, id);
      AddDocumentPoints(other, points);
      AddPaymentPoints(other, points);
    });
  });
}

}  // namespace closeloop::matcher
