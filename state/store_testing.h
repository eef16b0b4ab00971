// Fully populated matcher states for the state store's tests: every optional
// set, several versions, payments, slots with open exceptions.
#pragma once

#include <string>

#include "matcher/state.h"

namespace closeloop::state::testing {

inline matcher::EventTime At(int64_t ms) { return matcher::EventTime(matcher::Duration(ms)); }

inline matcher::ExceptionRecord FullRecord(const std::string& tag) {
  return matcher::ExceptionRecord{
      .exception_id = "ex-" + tag,
      .tenant = {"acme"},
      .kind = matcher::ExceptionKind::kUnderBilled,
      .state = matcher::ExceptionState::kEscalated,
      .resolution = matcher::Resolution::kSuperseded,
      .superseded_by = "ex-next-" + tag,
      .deal = {"d-" + tag},
      .order = {"o-" + tag},
      .invoice = {"i-" + tag},
      .customer = {"c-" + tag},
      .customer_name = "Customer \xc3\xa9 " + tag,
      .owner = "owner@" + tag,
      .team = "team-" + tag,
      .topic = "topic-" + tag,
      .severity = matcher::Severity::kP2,
      .amount_at_risk_minor = 123456789012,
      .recovered_minor = -42,
      .currency = "EUR",
      .deadline = At(1'800'000'000'000),
      .opened_at = At(1'700'000'000'001),
      .effective_at = At(1'700'000'000'002),
      .age_days = 17,
      .time_weighted_loss = 987654321,
      .confidence = 0.8125,
      .reason = "reason " + tag,
      .sequence = 7,
      .note = "note " + tag,
  };
}

inline matcher::SlotState FullSlot(const std::string& tag) {
  matcher::SlotState s;
  s.evaluated_until = At(1'700'000'100'000);
  s.timer = At(1'700'000'200'000);
  s.open = matcher::OpenException{.last = FullRecord(tag),
                                  .escalation_level = 3,
                                  .notified_level = 2,
                                  .acknowledged = true,
                                  .snoozed_until = At(1'700'000'300'000),
                                  .progress_at_open = -5};
  s.generation = 4;
  s.commands =
      matcher::Commands{{"cmd-1", "cmd-2"},
                        matcher::Dismissal{matcher::ExceptionKind::kMissingInvoice, 12'345, "EUR"}};
  return s;
}

inline matcher::Deal FullDeal(const std::string& tenant, const std::string& id, int version) {
  return matcher::Deal{
      .tenant = {tenant},
      .id = {id},
      .stage = version == 0 ? "negotiation" : "closed_won",
      .amount_minor = 100000 + version,
      .currency = "USD",
      .customer = {"cust-" + id},
      .customer_name = "Name " + id,
      .owner = "owner-" + std::to_string(version),
      .close_time = At(1'690'000'000'000 + version),
      .event_time = At(1'690'000'000'000 + 1000 * version),
      .payment_terms_days = 30 + version,
      .po_number = "PO-" + id,
      .vat_id = "VAT-" + id,
      .billing_entity = "entity-" + id,
      .billing_plan = {.kind = matcher::BillingPlan::Kind::kMilestones,
                       .milestones = {{At(1'691'000'000'000), 40000},
                                      {At(1'692'000'000'000), 60000 + version}},
                       .period_days = 30,
                       .periods = 12},
  };
}

inline matcher::DealState FullDealState(const std::string& tenant, const std::string& id) {
  matcher::DealState s{.tenant = {tenant}, .id = {id}};
  for (int v = 0; v < 3; ++v) s.deal.versions.push_back(FullDeal(tenant, id, v));
  s.deal.versions[1].close_time_inferred = true;
  s.deal.versions[2].payment_terms_days.reset();
  s.deal.versions[2].billing_plan = {
      .kind = matcher::BillingPlan::Kind::kRecurring, .period_days = 7, .periods = 3};
  s.deal.repeats = std::vector{s.deal.versions[2].event_time + matcher::Duration(5)};
  s.orders = {{"o-1"}, {"o-2"}};
  s.invoices = {{"i-1"}, {"i-2"}, {"i-3"}};
  // In matcher::Slot order: the codec writes slots in that order.
  s.slots[matcher::Slot::kNotBillable] = FullSlot("nb");
  s.slots[matcher::Slot::kMissingOrder].evaluated_until = matcher::kMinTime;
  s.slots[matcher::Slot::kBilling] = FullSlot("billing");
  s.slots[matcher::Slot::kBilling].open.reset();
  s.slots[matcher::Slot::kBilling].commands->dismissal.reset();
  s.figures = matcher::DealFigures{.currency = "EUR",
                                   .closed_at = At(1'690'000'000'000),
                                   .booked = true,
                                   .booked_minor = 12345,
                                   .billed_minor = -5,
                                   .collected_minor = 7,
                                   .first_billed_at = At(1'691'000'000'000)};
  return s;
}

inline matcher::OrderState FullOrderState(const std::string& tenant, const std::string& id) {
  matcher::OrderState s{.tenant = {tenant}, .id = {id}};
  for (int v = 0; v < 2; ++v) {
    s.order.versions.push_back(matcher::Order{
        .tenant = {tenant},
        .id = {id},
        .deal = {"d-" + id},
        .customer = {"c-" + id},
        .amount_minor = 5000 * (v + 1),
        .currency = "GBP",
        .status = v == 0 ? matcher::Order::Status::kOpen : matcher::Order::Status::kCancelled,
        .event_time = At(1'690'000'000'000 + v),
    });
  }
  s.order.repeats = std::vector{At(1'690'000'000'009)};
  s.invoices = {{"i-9"}};
  s.slots[matcher::Slot::kOrphanOrder] = FullSlot("orphan");
  s.slots[matcher::Slot::kOrderFuzzyLink].timer = At(1'695'000'000'000);
  s.fuzzy = {.deal = matcher::DealId{"d-order-fuzzy"},
             .looking_again = true,
             .linked_at = At(1'694'500'000'000),
             .timer = At(1'695'000'000'000)};
  return s;
}

inline matcher::InvoiceState FullInvoiceState(const std::string& tenant, const std::string& id) {
  matcher::InvoiceState s{.tenant = {tenant}, .id = {id}};
  for (int v = 0; v < 2; ++v) {
    s.invoice.versions.push_back(matcher::Invoice{
        .tenant = {tenant},
        .id = {id},
        .order = {"o-" + id},
        .deal = {"d-" + id},
        .customer = {"c-" + id},
        .amount_minor = -700 + v,
        .currency = "JPY",
        .kind = v == 0 ? matcher::Invoice::Kind::kInvoice : matcher::Invoice::Kind::kCreditMemo,
        .status = v == 0 ? matcher::Invoice::Status::kIssued : matcher::Invoice::Status::kVoid,
        .issue_time = At(1'690'000'000'000),
        .due_time = At(1'692'000'000'000 + v),
        .payment_terms_days = 45,
        .event_time = At(1'690'000'000'000 + 10 * v),
    });
  }
  s.invoice.versions[1].due_time.reset();
  s.invoice.versions[1].payment_terms_days.reset();
  s.invoice.repeats = std::vector{At(1'690'000'000'005)};  // the first version sent again
  const matcher::Payment::Status statuses[] = {
      matcher::Payment::Status::kSucceeded, matcher::Payment::Status::kFailed,
      matcher::Payment::Status::kRefunded, matcher::Payment::Status::kMoved};
  for (int p = 0; p < 2; ++p) {
    auto& history = s.payments[matcher::PaymentId{"pay-" + std::to_string(p)}];
    for (int v = 0; v < 2; ++v) {
      history.versions.push_back(matcher::Payment{
          .tenant = {tenant},
          .id = {"pay-" + std::to_string(p)},
          .invoice = {id},
          .customer = {"c-" + id},
          .amount_minor = 300 + p,
          .currency = "JPY",
          .status = statuses[2 * p + v],
          .event_time = At(1'693'000'000'000 + v),
      });
    }
    history.repeats = std::vector{At(1'693'000'000'009)};
  }
  s.slots[matcher::Slot::kTerms] = FullSlot("terms");
  s.slots[matcher::Slot::kUnpaid] = FullSlot("unpaid");
  s.slots[matcher::Slot::kOrphanInvoice].generation = 1;
  s.slots[matcher::Slot::kFuzzyLink].timer = At(1'694'000'000'000);
  s.fuzzy = {.deal = matcher::DealId{"d-fuzzy"}, .decided = true, .timer = At(1'694'000'000'000)};
  return s;
}

}  // namespace closeloop::state::testing
