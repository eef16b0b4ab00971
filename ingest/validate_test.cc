// The contract rules of SPEC §3 that Decode checks after parsing.
#include <gtest/gtest.h>

#include "ingest/currency.h"
#include "ingest/decode.h"
#include "ingest/decode_testing.h"

namespace closeloop::ingest {
namespace {

using testing::Accepted;
using testing::ExpectRejected;
using testing::Json;
using testing::Rejected;
using testing::RejectedBinary;
using testing::Time;

TEST(Validate, RejectsMissingRequiredDealFields) {
  for (const char* field : {"tenant_id", "deal_id", "stage"}) {
    SCOPED_TRACE(field);
    v1::Deal deal = testing::ValidDeal();
    deal.GetReflection()->ClearField(&deal, deal.GetDescriptor()->FindFieldByName(field));
    ExpectRejected(DocType::kDeal, deal, Reason::kMissingField, field);
  }
}

TEST(Validate, RejectsMissingRequiredOrderFields) {
  for (const char* field : {"tenant_id", "order_id", "event_time"}) {
    SCOPED_TRACE(field);
    v1::Order order = testing::ValidOrder();
    order.GetReflection()->ClearField(&order, order.GetDescriptor()->FindFieldByName(field));
    ExpectRejected(DocType::kOrder, order, Reason::kMissingField, field);
  }
}

TEST(Validate, RejectsMissingRequiredInvoiceFields) {
  for (const char* field : {"tenant_id", "invoice_id", "amount_minor", "currency", "issue_time"}) {
    SCOPED_TRACE(field);
    v1::Invoice invoice = testing::ValidInvoice();
    invoice.GetReflection()->ClearField(&invoice, invoice.GetDescriptor()->FindFieldByName(field));
    ExpectRejected(DocType::kInvoice, invoice, Reason::kMissingField, field);
  }
}

TEST(Validate, RejectsMissingRequiredPaymentFields) {
  for (const char* field :
       {"tenant_id", "payment_id", "invoice_id", "amount_minor", "currency", "event_time"}) {
    SCOPED_TRACE(field);
    v1::Payment payment = testing::ValidPayment();
    payment.GetReflection()->ClearField(&payment, payment.GetDescriptor()->FindFieldByName(field));
    ExpectRejected(DocType::kPayment, payment, Reason::kMissingField, field);
  }
}

TEST(Validate, AcceptsDealWithOnlyRequiredFields) {
  const auto event = Accepted(testing::DecodeJson(
      DocType::kDeal, R"({"tenant_id":"t","deal_id":"d","stage":"Prospecting"})", 1000));
  EXPECT_FALSE(event.deal().has_amount_minor());
  EXPECT_EQ(event.deal().event_time().seconds(), 1);
}

TEST(Validate, AcceptsZeroAmount) {
  v1::Invoice invoice = testing::ValidInvoice();
  invoice.set_amount_minor(0);
  Accepted(Decode(DocType::kInvoice, Format::kJson, Json(invoice), {}));
}

TEST(Decode, RejectsNegativeAmount) {
  v1::Deal deal = testing::ValidDeal();
  deal.set_amount_minor(-500);
  const Rejection rejection = Rejected(testing::DecodeJson(DocType::kDeal, Json(deal)));
  EXPECT_EQ(rejection.reason, Reason::kNegativeAmount);
  EXPECT_EQ(rejection.field, "amount_minor");
  EXPECT_EQ(rejection.message, "field amount_minor is -500; amounts must be zero or more");
}

TEST(Validate, RejectsNegativeAmountOnEveryDocument) {
  v1::Order order = testing::ValidOrder();
  order.set_amount_minor(-1);
  ExpectRejected(DocType::kOrder, order, Reason::kNegativeAmount, "amount_minor");
  v1::Invoice invoice = testing::ValidInvoice();
  invoice.set_amount_minor(-1);
  ExpectRejected(DocType::kInvoice, invoice, Reason::kNegativeAmount, "amount_minor");
  v1::Payment payment = testing::ValidPayment();
  payment.set_amount_minor(INT64_MIN);
  ExpectRejected(DocType::kPayment, payment, Reason::kNegativeAmount, "amount_minor");
}

// Amounts end at 2^53 - 1 on every document, whatever the format: an amount
// written with a fraction or an exponent is read through a double, which
// past that would round it to a neighbour (12345678901234567.0 read as
// ...568) rather than refuse it.
TEST(Validate, RejectsAmountAboveTwoToThe53) {
  constexpr int64_t kMax = (int64_t{1} << 53) - 1;
  v1::Order order = testing::ValidOrder();
  order.set_amount_minor(kMax + 1);
  ExpectRejected(DocType::kOrder, order, Reason::kInvalidValue, "amount_minor");
  v1::Payment payment = testing::ValidPayment();
  payment.set_amount_minor(INT64_MAX);
  ExpectRejected(DocType::kPayment, payment, Reason::kInvalidValue, "amount_minor");
  payment.set_amount_minor(kMax);
  Accepted(Decode(DocType::kPayment, Format::kProtobuf, payment.SerializeAsString(), {}));

  const std::string invoice = R"({"tenant_id":"acme","invoice_id":"I-1","deal_id":"D-1",)"
                              R"("currency":"USD","issue_time":"2026-01-02T00:00:00Z",)"
                              R"("event_time":"2026-01-02T00:00:00Z","amount_minor":)";
  for (const char* amount : {"12345678901234567.0", "9007199254740993.0", "9007199254740992",
                             "1.2345678901234567e16", "\"9223372036854775807\""}) {
    SCOPED_TRACE(amount);
    const Rejection r = Rejected(testing::DecodeJson(DocType::kInvoice, invoice + amount + "}"));
    EXPECT_EQ(ReasonName(r.reason), std::string("invalid_value")) << r.message;
    EXPECT_EQ(r.field, "amount_minor");
  }
  for (const auto& [amount, minor] :
       std::initializer_list<std::pair<const char*, int64_t>>{{"1e3", 1000},
                                                              {"1000.0", 1000},
                                                              {"9007199254740991", kMax},
                                                              {"9007199254740990.0", kMax - 1}}) {
    SCOPED_TRACE(amount);
    const v1::Event event =
        Accepted(testing::DecodeJson(DocType::kInvoice, invoice + amount + "}"));
    EXPECT_EQ(event.invoice().amount_minor(), minor);
  }
}

TEST(Validate, RejectsCurrencyThatIsNotIso4217) {
  for (const char* code : {"EURO", "eur", "EU", "ABC", "XXX", "XAU", "E1R", "HRK"}) {
    SCOPED_TRACE(code);
    v1::Payment payment = testing::ValidPayment();
    payment.set_currency(code);
    ExpectRejected(DocType::kPayment, payment, Reason::kBadCurrency, "currency");
  }
}

TEST(Validate, AcceptsIso4217Codes) {
  for (const char* code : {"AED", "CHF", "EUR", "GBP", "JPY", "USD", "XOF", "ZWG", "ZMW"}) {
    EXPECT_TRUE(IsIsoCurrency(code)) << code;
  }
  EXPECT_FALSE(IsIsoCurrency(""));
  EXPECT_FALSE(IsIsoCurrency("US"));
  EXPECT_FALSE(IsIsoCurrency("USDX"));
}

TEST(Validate, OptionalCurrencyMayBeAbsentButNotBad) {
  v1::Order order = testing::ValidOrder();
  order.clear_currency();
  order.clear_amount_minor();
  Accepted(Decode(DocType::kOrder, Format::kProtobuf, order.SerializeAsString(), {}));
  order.set_currency("usd");
  ExpectRejected(DocType::kOrder, order, Reason::kBadCurrency, "currency");
  v1::Deal deal = testing::ValidDeal();
  deal.set_currency("Dollars");
  const Rejection rejection = RejectedBinary(DocType::kDeal, deal);
  EXPECT_EQ(rejection.reason, Reason::kBadCurrency);
  EXPECT_NE(rejection.message.find("\"Dollars\""), std::string::npos) << rejection.message;
}

// SPEC §3: an amount is in minor units of its currency. Without one, a deal's
// amount was booked, billed against and shown as currency "".
TEST(Validate, AnAmountNeedsItsCurrency) {
  v1::Deal deal = testing::ValidDeal();
  deal.clear_currency();
  ExpectRejected(DocType::kDeal, deal, Reason::kMissingField, "currency");
  deal.set_amount_minor(0);
  ExpectRejected(DocType::kDeal, deal, Reason::kMissingField, "currency");
  deal.clear_amount_minor();
  deal.clear_billing_plan();
  Accepted(Decode(DocType::kDeal, Format::kProtobuf, deal.SerializeAsString(), {}));
  v1::Order order = testing::ValidOrder();
  order.clear_currency();
  ExpectRejected(DocType::kOrder, order, Reason::kMissingField, "currency");
}

TEST(Validate, RejectsTimesOutsideRfc3339Range) {
  v1::Order order = testing::ValidOrder();
  order.mutable_event_time()->set_seconds(253402300800);  // 10000-01-01T00:00:00Z
  ExpectRejected(DocType::kOrder, order, Reason::kUnparseableTime, "event_time");
  order.mutable_event_time()->set_seconds(-62135596801);  // just before year 1
  ExpectRejected(DocType::kOrder, order, Reason::kUnparseableTime, "event_time");
  order.mutable_event_time()->set_seconds(253402300799);  // 9999-12-31T23:59:59Z
  Accepted(Decode(DocType::kOrder, Format::kProtobuf, order.SerializeAsString(), {}));
  order.mutable_event_time()->set_seconds(-62135596800);  // 0001-01-01T00:00:00Z
  Accepted(Decode(DocType::kOrder, Format::kProtobuf, order.SerializeAsString(), {}));
}

// Every time field of every document is range-checked: binary Protobuf
// carries any seconds, which no JSON parsing has checked.
TEST(Validate, RejectsEveryTimeFieldOutsideRfc3339Range) {
  // `doc` with the time `mutable_time` gives set to year 10000, refused
  // naming `field`.
  auto refused = [](DocType type, auto doc, auto mutable_time, const char* field) {
    (doc.*mutable_time)()->set_seconds(253402300800);
    ExpectRejected(type, doc, Reason::kUnparseableTime, field);
  };
  refused(DocType::kDeal, testing::ValidDeal(), &v1::Deal::mutable_event_time, "event_time");
  refused(DocType::kDeal, testing::ValidDeal(), &v1::Deal::mutable_close_time, "close_time");
  refused(DocType::kInvoice, testing::ValidInvoice(), &v1::Invoice::mutable_event_time,
          "event_time");
  refused(DocType::kInvoice, testing::ValidInvoice(), &v1::Invoice::mutable_issue_time,
          "issue_time");
  refused(DocType::kPayment, testing::ValidPayment(), &v1::Payment::mutable_event_time,
          "event_time");
  refused(DocType::kCommand, testing::ValidCommand(), &v1::Command::mutable_event_time,
          "event_time");
}

TEST(Validate, RejectsNanosOutOfRange) {
  v1::Invoice invoice = testing::ValidInvoice();
  invoice.mutable_due_time()->set_nanos(1000000000);
  ExpectRejected(DocType::kInvoice, invoice, Reason::kUnparseableTime, "due_time");
  invoice.mutable_due_time()->set_nanos(-1);
  ExpectRejected(DocType::kInvoice, invoice, Reason::kUnparseableTime, "due_time");
  v1::Deal deal = testing::ValidDeal();
  deal.mutable_close_time()->set_nanos(-5);
  ExpectRejected(DocType::kDeal, deal, Reason::kUnparseableTime, "close_time");
}

TEST(Validate, RejectsUndefinedEnumNumbers) {
  v1::Order order = testing::ValidOrder();
  order.set_status(static_cast<v1::Order::Status>(17));
  const Rejection rejection = RejectedBinary(DocType::kOrder, order);
  EXPECT_EQ(rejection.reason, Reason::kUnknownEnum);
  EXPECT_EQ(rejection.field, "status");
  EXPECT_NE(rejection.message.find("17"), std::string::npos);

  v1::Invoice invoice = testing::ValidInvoice();
  invoice.set_kind(static_cast<v1::Invoice::Kind>(-1));
  ExpectRejected(DocType::kInvoice, invoice, Reason::kUnknownEnum, "kind");
  v1::Payment payment = testing::ValidPayment();
  payment.set_status(static_cast<v1::Payment::Status>(4));
  ExpectRejected(DocType::kPayment, payment, Reason::kUnknownEnum, "status");
  v1::Command command = testing::ValidCommand();
  command.set_action(static_cast<v1::Command::Action>(9));
  ExpectRejected(DocType::kCommand, command, Reason::kUnknownEnum, "action");
  v1::Deal deal = testing::ValidDeal();
  deal.mutable_billing_plan()->set_kind(static_cast<v1::BillingPlan::Kind>(4));
  ExpectRejected(DocType::kDeal, deal, Reason::kUnknownEnum, "billing_plan.kind");
}

TEST(Validate, RejectsUndefinedEnumNumberInJson) {
  const Rejection rejection = Rejected(testing::DecodeJson(
      DocType::kOrder,
      R"({"tenant_id":"t","order_id":"o","status":17,"event_time":"2024-01-01T00:00:00Z"})"));
  EXPECT_EQ(rejection.reason, Reason::kUnknownEnum);
  EXPECT_EQ(rejection.field, "status");
}

TEST(Validate, RejectsNegativePaymentTerms) {
  v1::Deal deal = testing::ValidDeal();
  deal.set_payment_terms_days(-3);
  ExpectRejected(DocType::kDeal, deal, Reason::kInvalidValue, "payment_terms_days");
  v1::Invoice invoice = testing::ValidInvoice();
  invoice.set_payment_terms_days(-1);
  ExpectRejected(DocType::kInvoice, invoice, Reason::kInvalidValue, "payment_terms_days");
  invoice.set_payment_terms_days(0);
  Accepted(Decode(DocType::kInvoice, Format::kProtobuf, invoice.SerializeAsString(), {}));
}

v1::Deal MilestoneDeal(std::initializer_list<int64_t> amounts) {
  v1::Deal deal = testing::ValidDeal();
  deal.mutable_billing_plan()->set_kind(v1::BillingPlan::MILESTONES);
  int month = 4;
  for (const int64_t amount : amounts) {
    auto* milestone = deal.mutable_billing_plan()->add_milestones();
    *milestone->mutable_due_time() = Time("2024-0" + std::to_string(month++) + "-01T00:00:00Z");
    milestone->set_amount_minor(amount);
  }
  return deal;
}

TEST(Validate, AcceptsMilestonesThatSumToTheDealAmount) {
  const auto event = Accepted(
      Decode(DocType::kDeal, Format::kJson, Json(MilestoneDeal({20000, 40000, 60000})), {}));
  EXPECT_EQ(event.deal().billing_plan().milestones_size(), 3);
  v1::Deal no_amount = MilestoneDeal({1, 2});
  no_amount.clear_amount_minor();
  Accepted(Decode(DocType::kDeal, Format::kJson, Json(no_amount), {}));
}

TEST(Validate, RejectsMilestonesThatDoNotSumToTheDealAmount) {
  const Rejection rejection = RejectedBinary(DocType::kDeal, MilestoneDeal({20000, 40000}));
  EXPECT_EQ(rejection.reason, Reason::kInvalidValue);
  EXPECT_EQ(rejection.field, "billing_plan.milestones");
  EXPECT_EQ(rejection.message,
            "the milestone amounts add up to 60000 but the deal's amount_minor is 120000; they "
            "must be equal");
}

TEST(Validate, RejectsMilestonePlanWithoutMilestones) {
  ExpectRejected(DocType::kDeal, MilestoneDeal({}), Reason::kInvalidValue,
                 "billing_plan.milestones");
}

TEST(Validate, RejectsMilestoneWithoutDueTime) {
  v1::Deal deal = MilestoneDeal({60000, 60000});
  deal.mutable_billing_plan()->mutable_milestones(1)->clear_due_time();
  ExpectRejected(DocType::kDeal, deal, Reason::kMissingField,
                 "billing_plan.milestones[1].due_time");
}

// Every time a document carries is checked, not only its top-level ones.
TEST(Validate, RejectsMilestoneDueTimeAndSnoozeUntilOutsideRfc3339Range) {
  v1::Deal deal = MilestoneDeal({60000, 60000});
  deal.mutable_billing_plan()->mutable_milestones(1)->mutable_due_time()->set_seconds(253402300800);
  ExpectRejected(DocType::kDeal, deal, Reason::kUnparseableTime,
                 "billing_plan.milestones[1].due_time");
  deal = MilestoneDeal({60000, 60000});
  deal.mutable_billing_plan()->mutable_milestones(0)->mutable_due_time()->set_nanos(-1);
  ExpectRejected(DocType::kDeal, deal, Reason::kUnparseableTime,
                 "billing_plan.milestones[0].due_time");
  v1::Command command = testing::ValidCommand();
  command.mutable_snooze_until()->set_seconds(-62135596801);
  ExpectRejected(DocType::kCommand, command, Reason::kUnparseableTime, "snooze_until");
}

TEST(Validate, RejectsNegativeMilestoneAmount) {
  ExpectRejected(DocType::kDeal, MilestoneDeal({130000, -10000}), Reason::kNegativeAmount,
                 "billing_plan.milestones[1].amount_minor");
}

TEST(Validate, RejectsMilestoneAmountsAboveTheLimitOrThatOverflow) {
  constexpr int64_t kMax = (int64_t{1} << 53) - 1;
  v1::Deal deal = MilestoneDeal({kMax + 1, 1});
  deal.clear_amount_minor();
  ExpectRejected(DocType::kDeal, deal, Reason::kInvalidValue,
                 "billing_plan.milestones[0].amount_minor");
  // 1,024 of the largest amount pass the int64 limit (with a limit on
  // periods raised that far).
  deal = MilestoneDeal({kMax});
  deal.clear_amount_minor();
  for (int i = 1; i < 1100; ++i) {
    *deal.mutable_billing_plan()->add_milestones() = deal.billing_plan().milestones(0);
  }
  const Rejection rejection =
      RejectedBinary(DocType::kDeal, deal, Limits{.max_billing_periods = 2000});
  EXPECT_EQ(rejection.reason, Reason::kInvalidValue);
  EXPECT_EQ(rejection.field, "billing_plan.milestones");
}

TEST(Validate, RejectsMoreMilestonesThanTheLimit) {
  v1::Deal deal = MilestoneDeal({40000, 40000, 40000});
  const Limits limits{.max_billing_periods = 2};
  const Rejection rejection = RejectedBinary(DocType::kDeal, deal, limits);
  EXPECT_EQ(rejection.reason, Reason::kInvalidValue);
  EXPECT_EQ(rejection.field, "billing_plan.milestones");
  // Exactly the limit is allowed.
  Accepted(Decode(DocType::kDeal, Format::kProtobuf,
                  MilestoneDeal({60000, 60000}).SerializeAsString(), {}, limits));
}

v1::Deal RecurringDeal(int32_t period_days, int32_t periods) {
  v1::Deal deal = testing::ValidDeal();
  deal.mutable_billing_plan()->set_kind(v1::BillingPlan::RECURRING);
  deal.mutable_billing_plan()->set_period_days(period_days);
  deal.mutable_billing_plan()->set_periods(periods);
  return deal;
}

TEST(Validate, AcceptsRecurringPlan) {
  const auto event = Accepted(Decode(DocType::kDeal, Format::kJson,
                                     R"({"tenant_id":"t","deal_id":"d","stage":"Closed Won",
      "close_time":"2024-01-01T00:00:00Z",
      "billing_plan":{"kind":"RECURRING","period_days":30,"periods":12}})",
                                     {}));
  EXPECT_EQ(event.deal().billing_plan().periods(), 12);
}

TEST(Validate, RejectsRecurringPlanWithoutPeriods) {
  ExpectRejected(DocType::kDeal, RecurringDeal(0, 12), Reason::kInvalidValue,
                 "billing_plan.period_days");
  ExpectRejected(DocType::kDeal, RecurringDeal(30, 0), Reason::kInvalidValue,
                 "billing_plan.periods");
  ExpectRejected(DocType::kDeal, RecurringDeal(-30, 12), Reason::kInvalidValue,
                 "billing_plan.period_days");
}

TEST(Validate, RejectsMorePeriodsThanTheLimit) {
  EXPECT_EQ(RejectedBinary(DocType::kDeal, RecurringDeal(1, 1001)).reason, Reason::kInvalidValue);
  Accepted(
      Decode(DocType::kDeal, Format::kProtobuf, RecurringDeal(1, 1000).SerializeAsString(), {}));
  ExpectRejected(DocType::kDeal, RecurringDeal(INT32_MAX, 1000), Reason::kInvalidValue,
                 "billing_plan.period_days");
}

TEST(Validate, RejectsPlanFieldsOfAnotherKind) {
  v1::Deal one_time = MilestoneDeal({120000});
  one_time.mutable_billing_plan()->set_kind(v1::BillingPlan::KIND_UNSPECIFIED);
  ExpectRejected(DocType::kDeal, one_time, Reason::kInvalidValue, "billing_plan.kind");
  v1::Deal recurring = RecurringDeal(30, 12);
  *recurring.mutable_billing_plan()->add_milestones()->mutable_due_time() =
      Time("2024-04-01T00:00:00Z");
  ExpectRejected(DocType::kDeal, recurring, Reason::kInvalidValue, "billing_plan.milestones");
  v1::Deal milestones = MilestoneDeal({120000});
  milestones.mutable_billing_plan()->set_periods(3);
  ExpectRejected(DocType::kDeal, milestones, Reason::kInvalidValue, "billing_plan.periods");
}

// The last nanosecond of a second is a time like any other: only 10^9 and
// more are refused.
TEST(Validate, AcceptsTheLargestNanos) {
  v1::Invoice invoice = testing::ValidInvoice();
  invoice.mutable_due_time()->set_nanos(999999999);
  invoice.mutable_event_time()->set_nanos(999999999);
  const auto event =
      Accepted(Decode(DocType::kInvoice, Format::kProtobuf, invoice.SerializeAsString(), {}));
  EXPECT_EQ(event.invoice().due_time().nanos(), 999999999);
}

// A Kafka timestamp of 0 is the epoch, a valid time (only -1 means none);
// one past the year 9999 is no time, and leaves the deal without event_time
// rather than with one no reader can print.
TEST(Validate, KafkaTimestampFillsEventTimeOnlyInsideRfc3339Range) {
  v1::Deal deal = testing::ValidDeal();
  deal.clear_event_time();
  deal.clear_close_time();
  const auto epoch = Accepted(testing::DecodeJson(DocType::kDeal, Json(deal), 0));
  EXPECT_TRUE(epoch.deal().has_event_time());
  EXPECT_EQ(epoch.deal().event_time().seconds(), 0);
  const auto last = Accepted(testing::DecodeJson(DocType::kDeal, Json(deal), 253402300799999));
  EXPECT_EQ(last.deal().event_time().seconds(), 253402300799);
  const Rejection rejection =
      Rejected(testing::DecodeJson(DocType::kDeal, Json(deal), 253402300800000));
  EXPECT_EQ(rejection.reason, Reason::kMissingField);
  EXPECT_EQ(rejection.field, "event_time");
}

// A MILESTONES plan of no milestones is refused even when the deal has no
// amount for the (empty) sum to disagree with.
TEST(Validate, RejectsMilestonePlanWithoutMilestonesOrAmount) {
  v1::Deal deal = MilestoneDeal({});
  deal.clear_amount_minor();
  const Rejection rejection = RejectedBinary(DocType::kDeal, deal);
  EXPECT_EQ(rejection.reason, Reason::kInvalidValue);
  EXPECT_EQ(rejection.field, "billing_plan.milestones");
  EXPECT_EQ(rejection.message, "a MILESTONES billing plan needs at least one milestone");
}

// period_days belongs to RECURRING plans alone, as periods does.
TEST(Validate, RejectsPeriodDaysOnAPlanOfAnotherKind) {
  v1::Deal milestones = MilestoneDeal({120000});
  milestones.mutable_billing_plan()->set_period_days(30);
  ExpectRejected(DocType::kDeal, milestones, Reason::kInvalidValue, "billing_plan.periods");
  v1::Deal one_time = testing::ValidDeal();
  one_time.mutable_billing_plan()->set_period_days(30);
  ExpectRejected(DocType::kDeal, one_time, Reason::kInvalidValue, "billing_plan.kind");
}

// A recurring plan may span every day from 0001-01-01 to 9999-12-31
// (3,652,058 days), not one more.
TEST(Validate, RecurringPlanSpansAtMostTheCalendarRange) {
  Accepted(
      Decode(DocType::kDeal, Format::kProtobuf, RecurringDeal(1826029, 2).SerializeAsString(), {}));
  ExpectRejected(DocType::kDeal, RecurringDeal(1826030, 2), Reason::kInvalidValue,
                 "billing_plan.period_days");
}

TEST(Validate, RejectsUndefinedInvoiceStatus) {
  v1::Invoice invoice = testing::ValidInvoice();
  invoice.set_status(static_cast<v1::Invoice::Status>(3));
  ExpectRejected(DocType::kInvoice, invoice, Reason::kUnknownEnum, "status");
}

}  // namespace
}  // namespace closeloop::ingest
