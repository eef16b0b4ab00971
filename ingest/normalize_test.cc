#include "ingest/normalize.h"

#include <gtest/gtest.h>

#include "ingest/decode_testing.h"

namespace closeloop::ingest {
namespace {

using matcher::EventTime;
using testing::Time;

// Milliseconds since the epoch of an RFC 3339 time.
EventTime Ms(int64_t ms) { return EventTime(matcher::Duration(ms)); }

// The event Decode makes of `message`, as JSON.
v1::Event Decoded(DocType type, const google::protobuf::Message& message,
                  std::optional<int64_t> kafka_ms = std::nullopt) {
  return testing::Accepted(testing::DecodeJson(type, testing::Json(message), kafka_ms));
}

TEST(Normalize, ConvertsEveryDealField) {
  v1::Deal in = testing::ValidDeal();
  in.set_vat_id("DE123");
  in.set_billing_entity("ACME GmbH");
  in.mutable_billing_plan()->set_kind(v1::BillingPlan::MILESTONES);
  auto* milestone = in.mutable_billing_plan()->add_milestones();
  *milestone->mutable_due_time() = Time("2024-04-01T00:00:00.999999Z");
  milestone->set_amount_minor(120000);

  const auto deal = std::get<matcher::Deal>(ToDocument(Decoded(DocType::kDeal, in)));
  EXPECT_EQ(deal.tenant.value, "acme");
  EXPECT_EQ(deal.id.value, "D-1");
  EXPECT_EQ(deal.stage, "Closed Won");
  EXPECT_EQ(deal.amount_minor, 120000);
  EXPECT_EQ(deal.currency, "EUR");
  EXPECT_EQ(deal.customer.value, "C-7");
  EXPECT_EQ(deal.customer_name, "Globex");
  EXPECT_EQ(deal.owner, "alice@example.com");
  EXPECT_EQ(deal.close_time, Ms(1709287200000));  // 2024-03-01T10:00:00Z
  EXPECT_FALSE(deal.close_time_inferred);
  EXPECT_EQ(deal.event_time, Ms(1709287205250));  // 2024-03-01T10:00:05.250Z
  EXPECT_EQ(deal.payment_terms_days, std::optional<int32_t>(30));
  EXPECT_EQ(deal.po_number, "PO-9");
  EXPECT_EQ(deal.vat_id, "DE123");
  EXPECT_EQ(deal.billing_entity, "ACME GmbH");
  EXPECT_EQ(deal.billing_plan.kind, matcher::BillingPlan::Kind::kMilestones);
  ASSERT_EQ(deal.billing_plan.milestones.size(), 1u);
  // 2024-04-01T00:00:00.999999Z: microseconds are dropped, not rounded up.
  EXPECT_EQ(deal.billing_plan.milestones[0].due_time, Ms(1711929600999));
  EXPECT_EQ(deal.billing_plan.milestones[0].amount_minor, 120000);
}

TEST(Normalize, DealDefaults) {
  v1::Deal in;
  in.set_tenant_id("t");
  in.set_deal_id("d");
  in.set_stage("Closed Won");
  // No amount, terms, close_time, event_time or plan: the Kafka time is used.
  const auto deal = std::get<matcher::Deal>(ToDocument(Decoded(DocType::kDeal, in, 1700000000123)));
  EXPECT_EQ(deal.amount_minor, 0);
  EXPECT_EQ(deal.payment_terms_days, std::nullopt);
  EXPECT_EQ(deal.event_time, Ms(1700000000123));
  EXPECT_EQ(deal.close_time, deal.event_time);  // until the matcher dates it (PutDeal)
  EXPECT_TRUE(deal.close_time_inferred);
  EXPECT_EQ(deal.billing_plan.kind, matcher::BillingPlan::Kind::kOneTime);
  EXPECT_TRUE(deal.billing_plan.milestones.empty());
}

TEST(Normalize, ConvertsRecurringPlan) {
  v1::Deal in = testing::ValidDeal();
  in.mutable_billing_plan()->set_kind(v1::BillingPlan::RECURRING);
  in.mutable_billing_plan()->set_period_days(30);
  in.mutable_billing_plan()->set_periods(12);
  const auto deal = std::get<matcher::Deal>(ToDocument(Decoded(DocType::kDeal, in)));
  EXPECT_EQ(deal.billing_plan.kind, matcher::BillingPlan::Kind::kRecurring);
  EXPECT_EQ(deal.billing_plan.period_days, 30);
  EXPECT_EQ(deal.billing_plan.periods, 12);
}

TEST(Normalize, ConvertsOrder) {
  v1::Order in = testing::ValidOrder();
  in.set_status(v1::Order::CANCELLED);
  const auto order = std::get<matcher::Order>(ToDocument(Decoded(DocType::kOrder, in)));
  EXPECT_EQ(order.tenant.value, "acme");
  EXPECT_EQ(order.id.value, "SO-1");
  EXPECT_EQ(order.deal.value, "D-1");
  EXPECT_EQ(order.customer.value, "C-7");
  EXPECT_EQ(order.amount_minor, 120000);
  EXPECT_EQ(order.currency, "EUR");
  EXPECT_EQ(order.status, matcher::Order::Status::kCancelled);
  EXPECT_EQ(order.event_time, Ms(1709370000000));  // 2024-03-02T09:00:00Z
}

TEST(Normalize, OrderStatusDefaultsToOpen) {
  v1::Order in = testing::ValidOrder();
  in.clear_status();
  in.clear_deal_id();
  const auto order = std::get<matcher::Order>(ToDocument(Decoded(DocType::kOrder, in)));
  EXPECT_EQ(order.status, matcher::Order::Status::kOpen);
  EXPECT_TRUE(order.deal.empty());
}

TEST(Normalize, ConvertsInvoice) {
  v1::Invoice in = testing::ValidInvoice();
  in.set_deal_id("D-1");
  in.set_kind(v1::Invoice::CREDIT_MEMO);
  in.set_status(v1::Invoice::VOID);
  const auto invoice = std::get<matcher::Invoice>(ToDocument(Decoded(DocType::kInvoice, in)));
  EXPECT_EQ(invoice.tenant.value, "acme");
  EXPECT_EQ(invoice.id.value, "INV-1");
  EXPECT_EQ(invoice.order.value, "SO-1");
  EXPECT_EQ(invoice.deal.value, "D-1");
  EXPECT_EQ(invoice.customer.value, "C-7");
  EXPECT_EQ(invoice.amount_minor, 120000);
  EXPECT_EQ(invoice.currency, "EUR");
  EXPECT_EQ(invoice.kind, matcher::Invoice::Kind::kCreditMemo);
  EXPECT_EQ(invoice.status, matcher::Invoice::Status::kVoid);
  EXPECT_EQ(invoice.issue_time, Ms(1710028800000));  // 2024-03-10T00:00:00Z
  EXPECT_EQ(invoice.due_time, std::optional<EventTime>(Ms(1712620800000)));
  EXPECT_EQ(invoice.payment_terms_days, std::optional<int32_t>(30));
  EXPECT_EQ(invoice.event_time, Ms(1710028801000));
}

TEST(Normalize, InvoiceDefaults) {
  v1::Invoice in = testing::ValidInvoice();
  in.clear_kind();
  in.clear_status();
  in.clear_due_time();
  in.clear_payment_terms_days();
  in.clear_event_time();
  const auto invoice = std::get<matcher::Invoice>(ToDocument(Decoded(DocType::kInvoice, in)));
  EXPECT_EQ(invoice.kind, matcher::Invoice::Kind::kInvoice);
  EXPECT_EQ(invoice.status, matcher::Invoice::Status::kIssued);
  EXPECT_EQ(invoice.due_time, std::nullopt);
  EXPECT_EQ(invoice.payment_terms_days, std::nullopt);
  EXPECT_EQ(invoice.event_time, invoice.issue_time);
}

TEST(Normalize, ConvertsPayment) {
  v1::Payment in = testing::ValidPayment();
  in.set_status(v1::Payment::FAILED);
  const auto payment = std::get<matcher::Payment>(ToDocument(Decoded(DocType::kPayment, in)));
  EXPECT_EQ(payment.tenant.value, "acme");
  EXPECT_EQ(payment.id.value, "PAY-1");
  EXPECT_EQ(payment.invoice.value, "INV-1");
  EXPECT_EQ(payment.customer.value, "C-7");
  EXPECT_EQ(payment.amount_minor, 120000);
  EXPECT_EQ(payment.currency, "EUR");
  EXPECT_EQ(payment.status, matcher::Payment::Status::kFailed);
  EXPECT_EQ(payment.event_time, Ms(1711972800000));  // 2024-04-01T12:00:00Z
  in.set_status(v1::Payment::REFUNDED);
  EXPECT_EQ(std::get<matcher::Payment>(ToDocument(Decoded(DocType::kPayment, in))).status,
            matcher::Payment::Status::kRefunded);
  in.clear_status();
  EXPECT_EQ(std::get<matcher::Payment>(ToDocument(Decoded(DocType::kPayment, in))).status,
            matcher::Payment::Status::kSucceeded);
}

TEST(Normalize, TimesBeforeTheEpochRoundTowardsThePast) {
  google::protobuf::Timestamp time;
  time.set_seconds(-2);
  time.set_nanos(999999999);  // -1.000000001 s
  EXPECT_EQ(ToEventTime(time), Ms(-1001));
  EXPECT_EQ(ToEventTime(Time("0001-01-01T00:00:00Z")), Ms(-62135596800000));
  EXPECT_EQ(ToEventTime(Time("9999-12-31T23:59:59.999Z")), Ms(253402300799999));
}

TEST(Normalize, ConvertsCommand) {
  const v1::Event event = Decoded(DocType::kCommand, testing::ValidCommand());
  const matcher::Command command = ToCommand(event.command());
  EXPECT_EQ(command.id, "cmd-1");
  EXPECT_EQ(command.tenant.value, "acme");
  EXPECT_EQ(command.exception_id, "ex-1");
  EXPECT_EQ(command.action, matcher::Command::Action::kSnooze);
  EXPECT_EQ(command.snooze_until, Ms(1714521600000));  // 2024-05-01T00:00:00Z
  EXPECT_EQ(command.note, "waiting for the PO");
  EXPECT_EQ(command.actor, "bob");
  EXPECT_EQ(command.event_time, Ms(1713600000000));  // 2024-04-20T08:00:00Z
  EXPECT_EQ(EventTimeOf(event), Ms(1713600000000));

  v1::Command in = testing::ValidCommand();
  in.clear_snooze_until();
  in.set_action(v1::Command::DISMISS);
  EXPECT_EQ(ToCommand(Decoded(DocType::kCommand, in).command()).action,
            matcher::Command::Action::kDismiss);
  in.set_action(v1::Command::ACK);
  EXPECT_EQ(ToCommand(Decoded(DocType::kCommand, in).command()).action,
            matcher::Command::Action::kAck);
}

// The watermark follows EventTimeOf: for every document it is the
// event_time Decode settled on, not another time the document carries (a
// deal's close_time, an invoice's issue_time).
TEST(Normalize, EventTimeOfEveryDocumentIsItsEventTime) {
  EXPECT_EQ(EventTimeOf(Decoded(DocType::kDeal, testing::ValidDeal())), Ms(1709287205250));
  EXPECT_EQ(EventTimeOf(Decoded(DocType::kOrder, testing::ValidOrder())), Ms(1709370000000));
  EXPECT_EQ(EventTimeOf(Decoded(DocType::kInvoice, testing::ValidInvoice())), Ms(1710028801000));
  EXPECT_EQ(EventTimeOf(Decoded(DocType::kPayment, testing::ValidPayment())), Ms(1711972800000));
  v1::Event watermark;
  watermark.mutable_watermark();
  EXPECT_EQ(EventTimeOf(watermark), matcher::kMinTime);
}

TEST(NormalizeDeathTest, AbortsOnEventWithoutDocument) {
  v1::Event event;
  *event.mutable_command() = testing::ValidCommand();
  EXPECT_DEATH(ToDocument(event), "no document");
}

}  // namespace
}  // namespace closeloop::ingest
