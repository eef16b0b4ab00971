// UNPAID: an invoice not fully paid `payment_grace` after its due date.
#include "matcher/money.h"
#include "matcher/rules.h"

namespace closeloop::matcher {
namespace {

EventTime DueTime(const Invoice& inv, const TenantRules& rules) {
  if (inv.due_time) return *inv.due_time;
  return inv.issue_time + inv.payment_terms_days.value_or(rules.default_payment_terms_days) * kDay;
}

// What one payment contributes at `at` (see CollectedAt).
int64_t PaymentCollected(const History<Payment>& history, std::string_view currency, EventTime at) {
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

}  // namespace

Collected CollectedAt(const InvoiceState& state, std::string_view currency, EventTime at) {
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

Verdict EvaluateUnpaid(const InvoiceState& state, const TenantRules& rules, EventTime at,
                       Words words) {
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
  const int64_t outstanding = inv->amount_minor - collected;
  if (outstanding <= rules.Tolerance(inv->amount_minor, inv->currency))
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
                        " unpaid ", DaysBetween(due, at), " days after its due date.");
    f.reason += OtherCurrencyPayments(state, *inv, at);
  }
  return {.finding = std::move(f), .progress_minor = collected, .progress_currency = inv->currency};
}

EventTime UnpaidQuietUntil(const InvoiceState& state, const TenantRules& rules) {
  EventTime quiet = kMaxTime;
  for (const Invoice& v : state.invoice.versions) {
    quiet = std::min(quiet, DueTime(v, rules) + rules.payment_grace);
  }
  return quiet;
}

void UnpaidChangePoints(const InvoiceState& state, const TenantRules& rules,
                        std::vector<EventTime>& points) {
  for (const Invoice& v : state.invoice.versions) {
    points.push_back(v.event_time);
    points.push_back(DueTime(v, rules) + rules.payment_grace);
  }
  for (const auto& [id, history] : state.payments) {
    for (const Payment& v : history.versions) points.push_back(v.event_time);
  }
}

}  // namespace closeloop::matcher
