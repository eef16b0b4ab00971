#include "ingest/validate.h"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "ingest/currency.h"
#include "ingest/utf8.h"
#include "matcher/money.h"

namespace closeloop::ingest {
namespace {

using google::protobuf::Timestamp;

// RFC 3339 covers the years 0001 to 9999: 0001-01-01T00:00:00Z and
// 9999-12-31T23:59:59Z in seconds since the epoch.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;
constexpr int32_t kMaxNanos = 999999999;
// Days from 0001-01-01 to 9999-12-31: no billing plan can span more.
constexpr int64_t kMaxPlanDays = 3652058;

Rejection Reject(Reason reason, std::string field, std::string message) {
  return Rejection{reason, std::move(field), std::move(message)};
}

std::optional<Rejection> Require(bool present, std::string_view field) {
  if (present) return std::nullopt;
  return Reject(Reason::kMissingField, std::string(field),
                fmt::format("required field {} is missing or empty", field));
}

std::optional<Rejection> CheckAmount(int64_t amount, std::string_view field) {
  if (amount < 0) {
    return Reject(Reason::kNegativeAmount, std::string(field),
                  fmt::format("field {} is {}; amounts must be zero or more", field, amount));
  }
  if (amount > matcher::kMaxAmountMinor) {
    return Reject(Reason::kInvalidValue, std::string(field),
                  fmt::format("field {} is {}; amounts must be at most {} minor units (2^53 - 1, "
                              "the largest integer every JSON reader keeps exactly)",
                              field, amount, matcher::kMaxAmountMinor));
  }
  return std::nullopt;
}

// A required amount must be set; an optional one is checked when set.
std::optional<Rejection> CheckAmount(bool has, int64_t amount, bool required) {
  if (required && !has) return Require(false, "amount_minor");
  return has ? CheckAmount(amount, "amount_minor") : std::nullopt;
}

std::optional<Rejection> CheckCurrency(const std::string& code, bool required) {
  if (code.empty()) return required ? Require(false, "currency") : std::nullopt;
  if (IsIsoCurrency(code)) return std::nullopt;
  return Reject(Reason::kBadCurrency, "currency",
                fmt::format("field currency is \"{}\", which is not an ISO 4217 currency code "
                            "(three capital letters such as EUR or USD)",
                            Excerpt(code)));
}

std::optional<Rejection> CheckTime(const Timestamp& time, std::string_view field) {
  if (time.nanos() < 0 || time.nanos() > kMaxNanos) {
    return Reject(Reason::kUnparseableTime, std::string(field),
                  fmt::format("field {} has {} nanoseconds; they must be from 0 to {}", field,
                              time.nanos(), kMaxNanos));
  }
  if (time.seconds() < kMinSeconds || time.seconds() > kMaxSeconds) {
    return Reject(Reason::kUnparseableTime, std::string(field),
                  fmt::format("field {} is {} seconds from 1970, outside the years 0001 to 9999 "
                              "that RFC 3339 times cover",
                              field, time.seconds()));
  }
  return std::nullopt;
}

std::optional<Rejection> CheckOptionalTime(bool has, const Timestamp& time,
                                           std::string_view field) {
  return has ? CheckTime(time, field) : std::nullopt;
}

std::optional<Rejection> CheckEnum(bool valid, int value, std::string_view field) {
  if (valid) return std::nullopt;
  return Reject(
      Reason::kUnknownEnum, std::string(field),
      fmt::format("field {} has the value {}, which the contract does not define", field, value));
}

std::optional<Rejection> CheckTerms(bool has, int32_t days) {
  if (!has || days >= 0) return std::nullopt;
  return Reject(
      Reason::kInvalidValue, "payment_terms_days",
      fmt::format("field payment_terms_days is {}; terms must be zero days or more", days));
}

// Sets event_time from `fallback` when the document has none, else from the
// Kafka record's timestamp; kMissingField when neither is there.
std::optional<Rejection> FillEventTime(Timestamp* event_time, const Timestamp* fallback,
                                       std::optional<int64_t> kafka_timestamp_ms) {
  if (fallback != nullptr) {
    *event_time = *fallback;
    return std::nullopt;
  }
  // Kafka reports -1 for "no timestamp"; anything outside RFC 3339 is no time either.
  if (kafka_timestamp_ms && *kafka_timestamp_ms >= 0 && *kafka_timestamp_ms / 1000 <= kMaxSeconds) {
    event_time->set_seconds(*kafka_timestamp_ms / 1000);
    event_time->set_nanos(static_cast<int32_t>(*kafka_timestamp_ms % 1000) * 1000000);
    return std::nullopt;
  }
  return Require(false, "event_time");
}

std::optional<Rejection> CheckMilestones(const v1::Deal& deal, const Limits& limits) {
  const v1::BillingPlan& plan = deal.billing_plan();
  if (plan.period_days() != 0 || plan.periods() != 0) {
    return Reject(Reason::kInvalidValue, "billing_plan.periods",
                  "a MILESTONES billing plan has period_days or periods, which only a RECURRING "
                  "plan may have");
  }
  const int count = plan.milestones_size();
  if (count == 0) {
    return Reject(Reason::kInvalidValue, "billing_plan.milestones",
                  "a MILESTONES billing plan needs at least one milestone");
  }
  if (count > limits.max_billing_periods) {
    return Reject(Reason::kInvalidValue, "billing_plan.milestones",
                  fmt::format("the billing plan has {} milestones; at most {} are allowed", count,
                              limits.max_billing_periods));
  }
  int64_t sum = 0;
  for (int i = 0; i < count; ++i) {
    const v1::Milestone& milestone = plan.milestones(i);
    const std::string field = fmt::format("billing_plan.milestones[{}]", i);
    if (auto r = Require(milestone.has_due_time(), field + ".due_time")) return r;
    if (auto r = CheckTime(milestone.due_time(), field + ".due_time")) return r;
    if (auto r = CheckAmount(milestone.amount_minor(), field + ".amount_minor")) return r;
    if (__builtin_add_overflow(sum, milestone.amount_minor(), &sum)) {
      return Reject(Reason::kInvalidValue, "billing_plan.milestones",
                    "the milestone amounts add up to more than a 64-bit amount can hold");
    }
  }
  if (deal.has_amount_minor() && sum != deal.amount_minor()) {
    return Reject(Reason::kInvalidValue, "billing_plan.milestones",
                  fmt::format("the milestone amounts add up to {} but the deal's amount_minor is "
                              "{}; they must be equal",
                              sum, deal.amount_minor()));
  }
  return std::nullopt;
}

std::optional<Rejection> CheckRecurring(const v1::BillingPlan& plan, const Limits& limits) {
  if (plan.milestones_size() > 0) {
    return Reject(Reason::kInvalidValue, "billing_plan.milestones",
                  "a RECURRING billing plan has milestones, which only a MILESTONES plan may "
                  "have");
  }
  if (plan.period_days() < 1) {
    return Reject(Reason::kInvalidValue, "billing_plan.period_days",
                  fmt::format("a RECURRING billing plan needs period_days of 1 or more, not {}",
                              plan.period_days()));
  }
  if (plan.periods() < 1) {
    return Reject(
        Reason::kInvalidValue, "billing_plan.periods",
        fmt::format("a RECURRING billing plan needs periods of 1 or more, not {}", plan.periods()));
  }
  if (plan.periods() > limits.max_billing_periods) {
    return Reject(Reason::kInvalidValue, "billing_plan.periods",
                  fmt::format("the billing plan has {} periods; at most {} are allowed",
                              plan.periods(), limits.max_billing_periods));
  }
  const int64_t days = int64_t{plan.period_days()} * plan.periods();
  if (days > kMaxPlanDays) {
    return Reject(Reason::kInvalidValue, "billing_plan.period_days",
                  fmt::format("the billing plan spans {} days, more than any calendar date "
                              "range allows",
                              days));
  }
  return std::nullopt;
}

std::optional<Rejection> CheckBillingPlan(const v1::Deal& deal, const Limits& limits) {
  const v1::BillingPlan& plan = deal.billing_plan();
  if (auto r =
          CheckEnum(v1::BillingPlan::Kind_IsValid(plan.kind()), plan.kind(), "billing_plan.kind")) {
    return r;
  }
  switch (plan.kind()) {
    case v1::BillingPlan::MILESTONES:
      return CheckMilestones(deal, limits);
    case v1::BillingPlan::RECURRING:
      return CheckRecurring(plan, limits);
    case v1::BillingPlan::KIND_UNSPECIFIED:
    case v1::BillingPlan::ONE_TIME:
    case v1::BillingPlan_Kind_BillingPlan_Kind_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::BillingPlan_Kind_BillingPlan_Kind_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  if (plan.milestones_size() > 0 || plan.period_days() != 0 || plan.periods() != 0) {
    return Reject(Reason::kInvalidValue, "billing_plan.kind",
                  "a ONE_TIME billing plan has milestones or periods; set kind to MILESTONES or "
                  "RECURRING");
  }
  return std::nullopt;
}

std::optional<Rejection> ValidateDeal(v1::Deal& deal, std::optional<int64_t> kafka_ms,
                                      const Limits& limits) {
  if (auto r = Require(!deal.tenant_id().empty(), "tenant_id")) return r;
  if (auto r = Require(!deal.deal_id().empty(), "deal_id")) return r;
  if (auto r = Require(!deal.stage().empty(), "stage")) return r;
  if (auto r = CheckAmount(deal.has_amount_minor(), deal.amount_minor(), false)) return r;
  // An amount is in a currency (SPEC §3): one without it could not be added
  // to anything, nor shown.
  if (auto r = CheckCurrency(deal.currency(), deal.has_amount_minor())) return r;
  if (auto r = CheckOptionalTime(deal.has_close_time(), deal.close_time(), "close_time")) {
    return r;
  }
  if (auto r = CheckOptionalTime(deal.has_event_time(), deal.event_time(), "event_time")) {
    return r;
  }
  if (auto r = CheckTerms(deal.has_payment_terms_days(), deal.payment_terms_days())) return r;
  if (auto r = CheckBillingPlan(deal, limits)) return r;
  if (deal.has_event_time()) return std::nullopt;
  return FillEventTime(deal.mutable_event_time(),
                       deal.has_close_time() ? &deal.close_time() : nullptr, kafka_ms);
}

std::optional<Rejection> ValidateOrder(const v1::Order& order) {
  if (auto r = Require(!order.tenant_id().empty(), "tenant_id")) return r;
  if (auto r = Require(!order.order_id().empty(), "order_id")) return r;
  if (auto r = CheckAmount(order.has_amount_minor(), order.amount_minor(), false)) return r;
  if (auto r = CheckCurrency(order.currency(), order.has_amount_minor())) return r;
  if (auto r = CheckEnum(v1::Order::Status_IsValid(order.status()), order.status(), "status")) {
    return r;
  }
  if (auto r = Require(order.has_event_time(), "event_time")) return r;
  return CheckTime(order.event_time(), "event_time");
}

std::optional<Rejection> ValidateInvoice(v1::Invoice& invoice) {
  if (auto r = Require(!invoice.tenant_id().empty(), "tenant_id")) return r;
  if (auto r = Require(!invoice.invoice_id().empty(), "invoice_id")) return r;
  if (auto r = CheckAmount(invoice.has_amount_minor(), invoice.amount_minor(), true)) return r;
  if (auto r = CheckCurrency(invoice.currency(), true)) return r;
  if (auto r = CheckEnum(v1::Invoice::Kind_IsValid(invoice.kind()), invoice.kind(), "kind")) {
    return r;
  }
  if (auto r =
          CheckEnum(v1::Invoice::Status_IsValid(invoice.status()), invoice.status(), "status")) {
    return r;
  }
  if (auto r = Require(invoice.has_issue_time(), "issue_time")) return r;
  if (auto r = CheckTime(invoice.issue_time(), "issue_time")) return r;
  if (auto r = CheckOptionalTime(invoice.has_due_time(), invoice.due_time(), "due_time")) {
    return r;
  }
  if (auto r = CheckTerms(invoice.has_payment_terms_days(), invoice.payment_terms_days())) {
    return r;
  }
  if (invoice.has_event_time()) return CheckTime(invoice.event_time(), "event_time");
  *invoice.mutable_event_time() = invoice.issue_time();
  return std::nullopt;
}

std::optional<Rejection> ValidatePayment(const v1::Payment& payment) {
  if (auto r = Require(!payment.tenant_id().empty(), "tenant_id")) return r;
  if (auto r = Require(!payment.payment_id().empty(), "payment_id")) return r;
  if (auto r = Require(!payment.invoice_id().empty(), "invoice_id")) return r;
  if (auto r = CheckAmount(payment.has_amount_minor(), payment.amount_minor(), true)) return r;
  if (auto r = CheckCurrency(payment.currency(), true)) return r;
  if (auto r =
          CheckEnum(v1::Payment::Status_IsValid(payment.status()), payment.status(), "status")) {
    return r;
  }
  if (auto r = Require(payment.has_event_time(), "event_time")) return r;
  return CheckTime(payment.event_time(), "event_time");
}

std::optional<Rejection> ValidateCommand(v1::Command& command, std::optional<int64_t> kafka_ms) {
  if (auto r = Require(!command.command_id().empty(), "command_id")) return r;
  if (auto r = Require(!command.tenant_id().empty(), "tenant_id")) return r;
  if (auto r = Require(!command.exception_id().empty(), "exception_id")) return r;
  if (auto r =
          CheckEnum(v1::Command::Action_IsValid(command.action()), command.action(), "action")) {
    return r;
  }
  if (auto r = Require(command.action() != v1::Command::ACTION_UNSPECIFIED, "action")) return r;
  if (auto r = Require(command.action() != v1::Command::SNOOZE || command.has_snooze_until(),
                       "snooze_until")) {
    return r;
  }
  if (auto r =
          CheckOptionalTime(command.has_snooze_until(), command.snooze_until(), "snooze_until")) {
    return r;
  }
  if (command.has_event_time()) {
    if (auto r = CheckTime(command.event_time(), "event_time")) return r;
  } else if (auto r = FillEventTime(command.mutable_event_time(), nullptr, kafka_ms)) {
    return r;
  }
  // A snooze that ends before it was given would hold nothing, yet be echoed
  // as SNOOZED: people would take the exception for quiet while it escalates.
  const Timestamp& until = command.snooze_until();
  const Timestamp& given = command.event_time();
  if (command.action() == v1::Command::SNOOZE &&
      std::pair(until.seconds(), until.nanos()) <= std::pair(given.seconds(), given.nanos())) {
    return Reject(Reason::kInvalidValue, "snooze_until",
                  "field snooze_until is not after the command's event_time; a snooze must end "
                  "after it is given");
  }
  return std::nullopt;
}

}  // namespace

std::optional<Rejection> ValidateAndFill(DocType type, v1::Event& event,
                                         std::optional<int64_t> kafka_timestamp_ms,
                                         const Limits& limits) {
  switch (type) {
    case DocType::kDeal:
      return ValidateDeal(*event.mutable_deal(), kafka_timestamp_ms, limits);
    case DocType::kOrder:
      return ValidateOrder(event.order());
    case DocType::kInvoice:
      return ValidateInvoice(*event.mutable_invoice());
    case DocType::kPayment:
      return ValidatePayment(event.payment());
    case DocType::kCommand:
      return ValidateCommand(*event.mutable_command(), kafka_timestamp_ms);
  }
  return std::nullopt;
}

std::optional<Rejection> CheckTextSizes(const google::protobuf::Message& message,
                                        const Limits& limits, const std::string& prefix) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string name = prefix + f->name();
    const int count = f->is_repeated() ? reflection->FieldSize(message, f) : 1;
    for (int i = 0; i < count; ++i) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        std::string scratch;
        const std::string& text =
            f->is_repeated() ? reflection->GetRepeatedStringReference(message, f, i, &scratch)
                             : reflection->GetStringReference(message, f, &scratch);
        if (text.size() > limits.max_text_bytes) {
          return Reject(Reason::kOversized, name,
                        fmt::format("{} is {} bytes, more than the limit of {} for one text field",
                                    name, text.size(), limits.max_text_bytes));
        }
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        const google::protobuf::Message& sub = f->is_repeated()
                                                   ? reflection->GetRepeatedMessage(message, f, i)
                                                   : reflection->GetMessage(message, f);
        if (auto r = CheckTextSizes(sub, limits, name + "."); r) return r;
      }
    }
  }
  return std::nullopt;
}

}  // namespace closeloop::ingest
