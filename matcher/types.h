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

namespace closeloop::matcher {

using Duration = std::chrono::milliseconds;
using EventTime = std::chrono::sys_time<Duration>;

constexpr Duration kDay = std::chrono::hours(24);
constexpr EventTime kMinTime = EventTime(Duration(INT64_MIN / 2));
constexpr EventTime kMaxTime = EventTime(Duration(INT64_MAX / 2));

// A string id that cannot be confused with an id of another kind.
template <class Tag>
struct Id {
  std::string value;
  bool empty() const { return value.empty(); }
  auto operator<=>(const Id&) const = default;
};
using TenantId = Id<struct TenantTag>;
using DealId = Id<struct DealTag>;
using OrderId = Id<struct OrderTag>;
using InvoiceId = Id<struct InvoiceTag>;
using PaymentId = Id<struct PaymentTag>;
using CustomerId = Id<struct CustomerTag>;

// The `Word` at `p`, unaligned: a fixed-size memcpy, which compiles to one
// load (one of variable length is a call).
template <class Word>
Word Load(const char* p) {
  Word w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Whether two ids are equal, compared in machine words, the last word first:
// ids of one kind mostly have the same length and differ at the end. Every
// lookup that hits compares its whole id; a byte loop over it cost 11% of the
// matcher's instructions (bench/README.md, "Reasons in one allocation").
// GCC keeps it out of line; forced inline at every caller it cost 7% more.
inline bool SameText(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  // Overlapping loads: the last `Word` bytes and the first, which together
  // cover up to 2 * sizeof(Word) bytes.
  auto same = [&]<class Word>(Word) {
    return Load<Word>(a.data() + n - sizeof(Word)) == Load<Word>(b.data() + n - sizeof(Word)) &&
           Load<Word>(a.data()) == Load<Word>(b.data());
  };
  if (n >= 8) {
    if (n <= 16) return same(uint64_t{});
    return same(uint64_t{}) && std::memcmp(a.data() + 8, b.data() + 8, n - 16) == 0;
  }
  if (n >= 4) return same(uint32_t{});
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

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
  std::string stage;
  int64_t amount_minor = 0;
  std::string currency;
  CustomerId customer;
  std::string customer_name;
  std::string owner;
  EventTime close_time;
  EventTime event_time;
  std::optional<int32_t> payment_terms_days;
  std::string po_number;
  std::string vat_id;
  std::string billing_entity;
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
  std::string currency;
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
  std::string currency;
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
  std::string currency;
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
  std::string exception_id;
  TenantId tenant;
  ExceptionKind kind = ExceptionKind::kMissingInvoice;
  ExceptionState state = ExceptionState::kOpen;
  Resolution resolution = Resolution::kNone;
  std::string superseded_by;
  DealId deal;
  OrderId order;
  InvoiceId invoice;
  CustomerId customer;
  std::string customer_name;
  std::string owner;
  std::string team;
  std::string topic;  // routing target; empty: the default exceptions topic
  Severity severity = Severity::kP4;
  int64_t amount_at_risk_minor = 0;
  int64_t recovered_minor = 0;
  std::string currency;
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
