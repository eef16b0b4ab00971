// Plain value types the matcher reasons about: documents, time, money and
// exception records. Standard library only. Values; no thread-safety concerns.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "matcher/text.h"

namespace closeloop::matcher {

using Duration = std::chrono::milliseconds;
using EventTime = std::chrono::sys_time<Duration>;

constexpr Duration kDay = std::chrono::hours(24);
constexpr EventTime kMinTime = EventTime(Duration(INT64_MIN / 2));
constexpr EventTime kMaxTime = EventTime(Duration(INT64_MAX / 2));

// A string id that cannot be confused with an id of another kind.
template <class Tag>
struct Id {
  Text value;
  bool empty() const { return value.empty(); }
  auto operator<=>(const Id&) const = default;
};
using TenantId = Id<struct TenantTag>;
using DealId = Id<struct DealTag>;
using OrderId = Id<struct OrderTag>;
using InvoiceId = Id<struct InvoiceTag>;
using PaymentId = Id<struct PaymentTag>;
using CustomerId = Id<struct CustomerTag>;

// The four input streams; each has its own watermark.
enum class Source { kCrm, kErp, kBilling, kPayments };
constexpr int kSourceCount = 4;

struct Milestone {
  EventTime due_time;
  int64_t amount_minor = 0;
  auto operator<=>(const Milestone&) const = default;
};

struct BillingPlan {
  enum class Kind { kOneTime, kMilestones, kRecurring };
  Kind kind = Kind::kOneTime;
  std::vector<Milestone> milestones;
  int32_t period_days = 0;
  int32_t periods = 0;
  auto operator<=>(const BillingPlan&) const = default;
};

struct Deal {
  TenantId tenant;
  DealId id;
  Text stage;
  int64_t amount_minor = 0;
  Text currency;
  CustomerId customer;
  Text customer_name;
  Text owner;
  EventTime close_time;
  // The CRM sent no close_time: close_time is then the time the deal entered
  // its stage, set by PutDeal (matcher/state.h).
  bool close_time_inferred = false;
  EventTime event_time;
  std::optional<int32_t> payment_terms_days;
  Text po_number;
  Text vat_id;
  Text billing_entity;
  BillingPlan billing_plan;
  auto operator<=>(const Deal&) const = default;
};

struct Order {
  enum class Status { kOpen, kCancelled };
  TenantId tenant;
  OrderId id;
  DealId deal;  // may be empty
  CustomerId customer;
  int64_t amount_minor = 0;
  Text currency;
  Status status = Status::kOpen;
  EventTime event_time;
  auto operator<=>(const Order&) const = default;
};

struct Invoice {
  enum class Kind { kInvoice, kCreditMemo };
  enum class Status { kIssued, kVoid };
  TenantId tenant;
  InvoiceId id;
  OrderId order;  // may be empty
  DealId deal;    // may be empty
  CustomerId customer;
  int64_t amount_minor = 0;
  Text currency;
  Kind kind = Kind::kInvoice;
  Status status = Status::kIssued;
  EventTime issue_time;
  std::optional<EventTime> due_time;
  std::optional<int32_t> payment_terms_days;
  EventTime event_time;
  auto operator<=>(const Invoice&) const = default;
};

struct Payment {
  // kMoved is closeloop's own: a later version of the payment names another
  // invoice, so it no longer counts for this one.
  enum class Status { kSucceeded, kFailed, kRefunded, kMoved };
  TenantId tenant;
  PaymentId id;
  InvoiceId invoice;
  CustomerId customer;
  int64_t amount_minor = 0;
  Text currency;
  Status status = Status::kSucceeded;
  EventTime event_time;
  auto operator<=>(const Payment&) const = default;
};

enum class ExceptionKind : uint8_t {
  kNotBillable,
  kMissingOrder,
  kMissingInvoice,
  kUnderBilled,
  kOverBilled,
  kTermsMismatch,
  kUnpaid,
  kOrphanOrder,
  kOrphanInvoice,
};

enum class ExceptionState { kOpen, kUpdated, kEscalated, kResolved, kAcknowledged, kSnoozed };
enum class Resolution { kNone, kRecovered, kSuperseded, kWithdrawn, kDismissed };
enum class Severity { kP1, kP2, kP3, kP4 };

// Upper-case name as on the wire, e.g. "MISSING_INVOICE".
const char* KindName(ExceptionKind kind);
// Upper-case names as on the wire, e.g. "RESOLVED", "RECOVERED" ("NONE"
// when not resolved).
const char* StateName(ExceptionState state);
const char* ResolutionName(Resolution resolution);
// The kind with that wire name, if any.
std::optional<ExceptionKind> KindFromName(const std::string& name);

// A person's decision about an exception (SPEC §5 "Commands").
struct Command {
  enum class Action { kAck, kSnooze, kDismiss };
  std::string id;  // a command applies once per id
  TenantId tenant;
  std::string exception_id;
  Action action = Action::kAck;
  EventTime snooze_until;  // kSnooze
  std::string note;
  std::string actor;
  EventTime event_time;
};

// One lifecycle change of one exception (SPEC §5). detected_at is not here:
// it is wall-clock time, stamped when the record is published.
struct ExceptionRecord {
  Text exception_id;
  TenantId tenant;
  ExceptionKind kind = ExceptionKind::kMissingInvoice;
  ExceptionState state = ExceptionState::kOpen;
  Resolution resolution = Resolution::kNone;
  Text superseded_by;
  DealId deal;
  OrderId order;
  InvoiceId invoice;
  CustomerId customer;
  Text customer_name;
  Text owner;
  Text team;
  Text topic;  // routing target; empty: the default exceptions topic
  Severity severity = Severity::kP4;
  int64_t amount_at_risk_minor = 0;
  int64_t recovered_minor = 0;
  Text currency;
  EventTime deadline;
  EventTime opened_at;
  EventTime effective_at;  // event time of this change
  int64_t age_days = 0;
  int64_t time_weighted_loss = 0;
  double confidence = 1.0;
  std::string reason;
  uint64_t sequence = 0;
  std::string note;
  bool operator==(const ExceptionRecord&) const = default;
};

}  // namespace closeloop::matcher

#include <variant>

namespace closeloop::matcher {
// One validated input document.
using Document = std::variant<Deal, Order, Invoice, Payment>;
}  // namespace closeloop::matcher
