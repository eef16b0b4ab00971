// UNPAID: an invoice not fully paid `payment_grace` after its due date.
#include "matcher/money.h"
#include "matcher/rules.h"

namespace closeloop::matcher {
namespace {

EventTime DueTime(const Invoice& inv, const TenantRules& rules) {
  if (inv.due_time) return *inv.due_time;
  return inv.issue_time + inv.payment_terms_days.value_or(rules.default_payment_terms_days) * kDay;
}

// Successful payments minus refunds at `at`, in the invoice's currency. A
// REFUNDED version of a payment that had succeeded takes back the refunded
// amount from it; a refund with an id of its own subtracts its amount.
int64_t CollectedAt(const InvoiceState& state, const std::string& currency, EventTime at) {
  int64_t collected = 0;
  for (const auto& [id, history] : state.payments) {
    const Payment* latest = history.AsOf(at);
    if (latest == nullptr || latest->currency != currency) continue;
    switch (latest->status) {
      case Payment::Status::kSucceeded:
        collected += latest->amount_minor;
        break;
      case Payment::Status::kFailed:
      case Payment::Status::kMoved:
        break;
      case Payment::Status::kRefunded: {
        int64_t succeeded = 0;
        for (const Payment& v : history.versions) {
          if (v.event_time > at) break;
          if (v.status == Payment::Status::kSucceeded) succeeded = v.amount_minor;
        }
        collected += succeeded - latest->amount_minor;
        break;
      }
    }
  }
  return collected;
}

}  // namespace

Verdict EvaluateUnpaid(const InvoiceState& state, const TenantRules& rules, EventTime at) {
  const Invoice* inv = state.invoice.AsOf(at);
  if (inv == nullptr) return {};
  if (inv->status == Invoice::Status::kVoid) return {.withdrawn = true};
  if (inv->kind == Invoice::Kind::kCreditMemo) return {.withdrawn = true};
  const EventTime due = DueTime(*inv, rules);
  const EventTime deadline = due + rules.payment_grace;
  if (at < deadline) return {};
  const int64_t collected = CollectedAt(state, inv->currency, at);
  const int64_t outstanding = inv->amount_minor - collected;
  if (outstanding <= rules.Tolerance(inv->amount_minor)) return {.progress_minor = collected};
  Finding f{.kind = ExceptionKind::kUnpaid,
            .amount_at_risk_minor = outstanding,
            .currency = inv->currency,
            .deadline = deadline,
            .deal = inv->deal,
            .order = inv->order,
            .invoice = inv->id,
            .customer = inv->customer};
  f.reason = "Invoice " + inv->id.value +
             (inv->customer.empty() ? "" : " to customer " + inv->customer.value) + " for " +
             FormatMoney(inv->amount_minor, inv->currency) + ", due " + FormatDate(due) + ", has " +
             FormatMoney(outstanding, inv->currency) + " unpaid " +
             std::to_string(DaysBetween(due, at)) + " days after its due date.";
  return {.finding = f, .progress_minor = collected};
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
