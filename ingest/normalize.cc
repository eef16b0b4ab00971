#include "ingest/normalize.h"

#include <cstdio>
#include <cstdlib>

namespace closeloop::ingest {
namespace {

using matcher::EventTime;

// Decode rejects enum values the contract does not define, so the sentinel
// cases below are unreachable; they are listed so -Wswitch checks the rest.
matcher::BillingPlan::Kind ToKind(v1::BillingPlan::Kind kind) {
  using Kind = matcher::BillingPlan::Kind;
  switch (kind) {
    case v1::BillingPlan::MILESTONES:
      return Kind::kMilestones;
    case v1::BillingPlan::RECURRING:
      return Kind::kRecurring;
    case v1::BillingPlan::KIND_UNSPECIFIED:
    case v1::BillingPlan::ONE_TIME:
    case v1::BillingPlan_Kind_BillingPlan_Kind_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::BillingPlan_Kind_BillingPlan_Kind_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return Kind::kOneTime;
}

matcher::Order::Status ToStatus(v1::Order::Status status) {
  using Status = matcher::Order::Status;
  switch (status) {
    case v1::Order::CANCELLED:
      return Status::kCancelled;
    case v1::Order::STATUS_UNSPECIFIED:
    case v1::Order::OPEN:
    case v1::Order_Status_Order_Status_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::Order_Status_Order_Status_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return Status::kOpen;
}

matcher::Invoice::Kind ToKind(v1::Invoice::Kind kind) {
  using Kind = matcher::Invoice::Kind;
  switch (kind) {
    case v1::Invoice::CREDIT_MEMO:
      return Kind::kCreditMemo;
    case v1::Invoice::KIND_UNSPECIFIED:
    case v1::Invoice::INVOICE:
    case v1::Invoice_Kind_Invoice_Kind_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::Invoice_Kind_Invoice_Kind_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return Kind::kInvoice;
}

matcher::Invoice::Status ToStatus(v1::Invoice::Status status) {
  using Status = matcher::Invoice::Status;
  switch (status) {
    case v1::Invoice::VOID:
      return Status::kVoid;
    case v1::Invoice::STATUS_UNSPECIFIED:
    case v1::Invoice::ISSUED:
    case v1::Invoice_Status_Invoice_Status_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::Invoice_Status_Invoice_Status_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return Status::kIssued;
}

matcher::Payment::Status ToStatus(v1::Payment::Status status) {
  using Status = matcher::Payment::Status;
  switch (status) {
    case v1::Payment::FAILED:
      return Status::kFailed;
    case v1::Payment::REFUNDED:
      return Status::kRefunded;
    case v1::Payment::STATUS_UNSPECIFIED:
    case v1::Payment::SUCCEEDED:
    case v1::Payment_Status_Payment_Status_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::Payment_Status_Payment_Status_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return Status::kSucceeded;
}

matcher::Deal ToDeal(const v1::Deal& in) {
  matcher::Deal out;
  out.tenant = matcher::TenantId{in.tenant_id()};
  out.id = matcher::DealId{in.deal_id()};
  out.stage = in.stage();
  out.amount_minor = in.amount_minor();
  out.currency = in.currency();
  out.customer = matcher::CustomerId{in.customer_id()};
  out.customer_name = in.customer_name();
  out.owner = in.owner();
  out.event_time = ToEventTime(in.event_time());
  out.close_time_inferred = !in.has_close_time();
  out.close_time = out.close_time_inferred ? out.event_time : ToEventTime(in.close_time());
  if (in.has_payment_terms_days()) out.payment_terms_days = in.payment_terms_days();
  out.po_number = in.po_number();
  out.vat_id = in.vat_id();
  out.billing_entity = in.billing_entity();
  const v1::BillingPlan& plan = in.billing_plan();
  out.billing_plan.kind = ToKind(plan.kind());
  out.billing_plan.milestones.reserve(plan.milestones_size());
  for (const v1::Milestone& m : plan.milestones()) {
    out.billing_plan.milestones.push_back({ToEventTime(m.due_time()), m.amount_minor()});
  }
  out.billing_plan.period_days = plan.period_days();
  out.billing_plan.periods = plan.periods();
  return out;
}

matcher::Order ToOrder(const v1::Order& in) {
  matcher::Order out;
  out.tenant = matcher::TenantId{in.tenant_id()};
  out.id = matcher::OrderId{in.order_id()};
  out.deal = matcher::DealId{in.deal_id()};
  out.customer = matcher::CustomerId{in.customer_id()};
  out.amount_minor = in.amount_minor();
  out.currency = in.currency();
  out.status = ToStatus(in.status());
  out.event_time = ToEventTime(in.event_time());
  return out;
}

matcher::Invoice ToInvoice(const v1::Invoice& in) {
  matcher::Invoice out;
  out.tenant = matcher::TenantId{in.tenant_id()};
  out.id = matcher::InvoiceId{in.invoice_id()};
  out.order = matcher::OrderId{in.order_id()};
  out.deal = matcher::DealId{in.deal_id()};
  out.customer = matcher::CustomerId{in.customer_id()};
  out.amount_minor = in.amount_minor();
  out.currency = in.currency();
  out.kind = ToKind(in.kind());
  out.status = ToStatus(in.status());
  out.issue_time = ToEventTime(in.issue_time());
  if (in.has_due_time()) out.due_time = ToEventTime(in.due_time());
  if (in.has_payment_terms_days()) out.payment_terms_days = in.payment_terms_days();
  out.event_time = ToEventTime(in.event_time());
  return out;
}

matcher::Payment ToPayment(const v1::Payment& in) {
  matcher::Payment out;
  out.tenant = matcher::TenantId{in.tenant_id()};
  out.id = matcher::PaymentId{in.payment_id()};
  out.invoice = matcher::InvoiceId{in.invoice_id()};
  out.customer = matcher::CustomerId{in.customer_id()};
  out.amount_minor = in.amount_minor();
  out.currency = in.currency();
  out.status = ToStatus(in.status());
  out.event_time = ToEventTime(in.event_time());
  return out;
}

}  // namespace

EventTime ToEventTime(const google::protobuf::Timestamp& time) {
  // Valid nanos are 0..999999999, so integer division truncates towards the past.
  return EventTime(matcher::Duration(time.seconds() * 1000 + time.nanos() / 1000000));
}

matcher::Document ToDocument(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kDeal:
      return ToDeal(event.deal());
    case v1::Event::kOrder:
      return ToOrder(event.order());
    case v1::Event::kInvoice:
      return ToInvoice(event.invoice());
    case v1::Event::kPayment:
      return ToPayment(event.payment());
    case v1::Event::kWatermark:
    case v1::Event::kCommand:
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  std::fprintf(stderr, "closeloop: ToDocument called on an event that holds no document\n");
  std::abort();
}

matcher::Command ToCommand(const v1::Command& in) {
  matcher::Command out{.id = in.command_id(),
                       .tenant = {in.tenant_id()},
                       .exception_id = in.exception_id(),
                       .note = in.note(),
                       .actor = in.actor(),
                       .event_time = ToEventTime(in.event_time())};
  switch (in.action()) {
    case v1::Command::ACK:
    case v1::Command::ACTION_UNSPECIFIED:  // Decode refuses it; ACK is harmless
      out.action = matcher::Command::Action::kAck;
      break;
    case v1::Command::SNOOZE:
      out.action = matcher::Command::Action::kSnooze;
      out.snooze_until = ToEventTime(in.snooze_until());
      break;
    case v1::Command::DISMISS:
      out.action = matcher::Command::Action::kDismiss;
      break;
    default:
      break;
  }
  return out;
}

matcher::EventTime EventTimeOf(const v1::Event& e) {
  switch (e.payload_case()) {
    case v1::Event::kDeal:
      return ToEventTime(e.deal().event_time());
    case v1::Event::kOrder:
      return ToEventTime(e.order().event_time());
    case v1::Event::kInvoice:
      return ToEventTime(e.invoice().event_time());
    case v1::Event::kPayment:
      return ToEventTime(e.payment().event_time());
    case v1::Event::kCommand:
      return ToEventTime(e.command().event_time());
    case v1::Event::kWatermark:
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  return matcher::kMinTime;
}

}  // namespace closeloop::ingest
