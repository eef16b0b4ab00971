// NOT_BILLABLE and MISSING_ORDER: what a won deal needs before billing.
#include <algorithm>
#include <optional>

#include "matcher/money.h"
#include "matcher/rules.h"

namespace closeloop::matcher {
namespace {

bool HasField(const Deal& deal, const std::string& field) {
  if (field == "po_number") return !deal.po_number.empty();
  if (field == "vat_id") return !deal.vat_id.empty();
  if (field == "billing_entity") return !deal.billing_entity.empty();
  if (field == "customer_id") return !deal.customer.empty();
  if (field == "customer_name") return !deal.customer_name.empty();
  if (field == "owner") return !deal.owner.empty();
  if (field == "payment_terms_days") return deal.payment_terms_days.has_value();
  if (field == "currency") return !deal.currency.empty();
  return true;  // the config loader admits only the names above
}

// Whether `deal` is won and lacks a required field.
bool WonWithoutAField(const Deal& deal, const TenantRules& rules) {
  if (!rules.IsClosedWon(deal.stage)) return false;
  return std::any_of(rules.required_fields.begin(), rules.required_fields.end(),
                     [&](const std::string& field) { return !HasField(deal, field); });
}

// The confidence of the link of an open order referencing the deal at `at`;
// nullopt when none does.
std::optional<double> LinkedOrder(Session& session, const DealState& state, EventTime at) {
  for (const OrderId& id : state.orders) {
    const Order* o = session.Order(state.tenant, id).order.AsOf(at);
    if (o == nullptr || o->status != Order::Status::kOpen) continue;
    if (const Link link = OrderLink(session, *o, at); link.deal == state.id) return link.confidence;
  }
  return std::nullopt;
}

// Whether an invoice linked to the deal is issued at `at`, in any currency:
// billing went ahead (one in another currency is a TERMS_MISMATCH of its own).
// The lowest confidence of their links; nullopt: none is.
std::optional<double> InvoiceIssued(Session& session, const DealState& state, EventTime at) {
  std::optional<double> issued;
  ForEachLinked(session, state, nullptr, at,
                [&](const InvoiceState&, const Invoice& inv, double confidence) {
                  if (inv.kind != Invoice::Kind::kInvoice) return;
                  issued = std::min(issued.value_or(1.0), confidence);
                });
  return issued;
}

}  // namespace

Verdict EvaluateNotBillable(Session& session, const DealState& state, const TenantRules& rules,
                            EventTime at, Words words) {
  const Deal* deal = state.deal.AsOf(at);
  if (deal == nullptr) return {};
  if (!rules.IsClosedWon(deal->stage) || rules.required_fields.empty()) return {.withdrawn = true};
  std::string missing;
  for (const std::string& field : rules.required_fields) {
    if (!HasField(*deal, field)) missing += (missing.empty() ? "" : ", ") + field;
  }
  if (missing.empty()) return {};
  if (const std::optional<double> issued = InvoiceIssued(session, state, at)) {
    return {.resolved_confidence = *issued};
  }
  Finding f = DealFinding(ExceptionKind::kNotBillable, *deal);
  // The rule fired when the deal became won without a required field: at
  // the first of the versions up to `at` that all are (SPEC §5: the
  // deadline is the event time the rule fired at), whatever the close date
  // says. `deal`, the last of them, is one.
  std::optional<EventTime> since;
  for (const Deal& v : state.deal.versions) {
    if (v.event_time > at) break;
    if (!WonWithoutAField(v, rules)) {
      since.reset();
    } else if (!since) {
      since = v.event_time;
    }
  }
  f.deadline = since.value_or(deal->event_time);
  if (words == Words::kWith) {
    f.reason = Sentence(
        DealPhrase{*deal}, ", cannot be billed: it has no ", missing, "; ",
        deal->owner.empty() ? std::string_view("the deal owner") : std::string_view(deal->owner),
        " should add it in the CRM.");
  }
  return {.finding = std::move(f)};
}

Verdict EvaluateMissingOrder(Session& session, const DealState& state, const TenantRules& rules,
                             EventTime at, Words words) {
  const Deal* deal = state.deal.AsOf(at);
  if (deal == nullptr) return {};
  if (!rules.IsClosedWon(deal->stage)) return {.withdrawn = true};
  if (!rules.require_order) return {.withdrawn = true};
  const EventTime deadline = deal->close_time + rules.order_window;
  if (const std::optional<double> linked = LinkedOrder(session, state, at)) {
    return {.resolved_confidence = *linked};
  }
  // Before the deadline nothing is missing yet: an exception open since an
  // earlier close time is withdrawn, not recovered (no order arrived).
  if (at < deadline) return {.withdrawn = true};
  Finding f = DealFinding(ExceptionKind::kMissingOrder, *deal);
  f.deadline = deadline;
  if (words == Words::kWith) {
    f.reason = Sentence(DealPhrase{*deal}, ", has no ERP order ", DaysBetween(deal->close_time, at),
                        " days later; enter the sales order so it can be fulfilled and billed.");
  }
  return {.finding = std::move(f)};
}

EventTime NotBillableQuietUntil(const DealState& state, const TenantRules& rules) {
  // Only a won version missing a required field can find anything, from its
  // event time on.
  EventTime quiet = kMaxTime;
  if (rules.required_fields.empty()) return quiet;
  for (const Deal& v : state.deal.versions) {
    if (v.event_time >= quiet || !rules.IsClosedWon(v.stage)) continue;
    const bool missing = std::any_of(rules.required_fields.begin(), rules.required_fields.end(),
                                     [&](const std::string& f) { return !HasField(v, f); });
    if (missing) quiet = v.event_time;
  }
  return quiet;
}

EventTime MissingOrderQuietUntil(const DealState& state, const TenantRules& rules) {
  EventTime quiet = kMaxTime;
  for (const Deal& v : state.deal.versions)
    quiet = std::min(quiet, v.close_time + rules.order_window);
  return quiet;
}

void DealChangePoints(Session& session, const DealState& state, const TenantRules& rules, Slot slot,
                      std::vector<EventTime>& points) {
  // Without required fields, or without required orders, the rule can raise
  // nothing, so nothing needs evaluating. (An open exception still gets its
  // escalation points from the engine.)
  if (slot == Slot::kNotBillable && rules.required_fields.empty()) return;
  if (slot == Slot::kMissingOrder && !rules.require_order) return;
  for (const Deal& v : state.deal.versions) {
    points.push_back(v.event_time);
    if (slot == Slot::kMissingOrder) points.push_back(v.close_time + rules.order_window);
  }
  auto add_orders = [&] {
    for (const OrderId& id : state.orders) {
      AddDocumentPoints(session.Order(state.tenant, id), points);
    }
  };
  if (slot == Slot::kMissingOrder) return add_orders();
  ForEachCandidateInvoice(session, state, [&](const InvoiceId& id) {
    AddDocumentPoints(session.Invoice(state.tenant, id), points);
  });
  add_orders();  // orders carry invoices to the deal
}

}  // namespace closeloop::matcher
