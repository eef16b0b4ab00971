#include "alerts/encode.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "matcher/money.h"

namespace closeloop::alerts {
namespace {

using matcher::ExceptionKind;
using matcher::ExceptionState;
using matcher::Resolution;
using matcher::Severity;

// Timestamp's range, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, in
// milliseconds since 1970. Times beyond it (no input has them, but a deadline
// computed from the last day of year 9999 would) are written as its ends:
// protobuf refuses them with an exception.
constexpr int64_t kFirstMs = -62'135'596'800'000;
constexpr int64_t kLastMs = 253'402'300'799'999;
int64_t ClampedMs(matcher::EventTime t) {
  return std::clamp<int64_t>(t.time_since_epoch().count(), kFirstMs, kLastMs);
}

google::protobuf::Timestamp ToTimestamp(matcher::EventTime t) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(ClampedMs(t));
}

v1::ExceptionRecord::Kind ToProto(ExceptionKind k) {
  switch (k) {
    case ExceptionKind::kNotBillable:
      return v1::ExceptionRecord::NOT_BILLABLE;
    case ExceptionKind::kMissingOrder:
      return v1::ExceptionRecord::MISSING_ORDER;
    case ExceptionKind::kMissingInvoice:
      return v1::ExceptionRecord::MISSING_INVOICE;
    case ExceptionKind::kUnderBilled:
      return v1::ExceptionRecord::UNDER_BILLED;
    case ExceptionKind::kOverBilled:
      return v1::ExceptionRecord::OVER_BILLED;
    case ExceptionKind::kTermsMismatch:
      return v1::ExceptionRecord::TERMS_MISMATCH;
    case ExceptionKind::kUnpaid:
      return v1::ExceptionRecord::UNPAID;
    case ExceptionKind::kOrphanOrder:
      return v1::ExceptionRecord::ORPHAN_ORDER;
    case ExceptionKind::kOrphanInvoice:
      return v1::ExceptionRecord::ORPHAN_INVOICE;
  }
  return v1::ExceptionRecord::KIND_UNSPECIFIED;
}

v1::ExceptionRecord::State ToProto(ExceptionState s) {
  switch (s) {
    case ExceptionState::kOpen:
      return v1::ExceptionRecord::OPEN;
    case ExceptionState::kUpdated:
      return v1::ExceptionRecord::UPDATED;
    case ExceptionState::kEscalated:
      return v1::ExceptionRecord::ESCALATED;
    case ExceptionState::kResolved:
      return v1::ExceptionRecord::RESOLVED;
    case ExceptionState::kAcknowledged:
      return v1::ExceptionRecord::ACKNOWLEDGED;
    case ExceptionState::kSnoozed:
      return v1::ExceptionRecord::SNOOZED;
  }
  return v1::ExceptionRecord::STATE_UNSPECIFIED;
}

v1::ExceptionRecord::Resolution ToProto(Resolution r) {
  switch (r) {
    case Resolution::kNone:
      return v1::ExceptionRecord::RESOLUTION_UNSPECIFIED;
    case Resolution::kRecovered:
      return v1::ExceptionRecord::RECOVERED;
    case Resolution::kSuperseded:
      return v1::ExceptionRecord::SUPERSEDED;
    case Resolution::kWithdrawn:
      return v1::ExceptionRecord::WITHDRAWN;
    case Resolution::kDismissed:
      return v1::ExceptionRecord::DISMISSED;
  }
  return v1::ExceptionRecord::RESOLUTION_UNSPECIFIED;
}

v1::ExceptionRecord::Severity ToProto(Severity s) {
  switch (s) {
    case Severity::kP1:
      return v1::ExceptionRecord::P1;
    case Severity::kP2:
      return v1::ExceptionRecord::P2;
    case Severity::kP3:
      return v1::ExceptionRecord::P3;
    case Severity::kP4:
      return v1::ExceptionRecord::P4;
  }
  return v1::ExceptionRecord::SEVERITY_UNSPECIFIED;
}

// Writes proto3 JSON as protobuf's printer does with preserve_proto_field_names
// and always_print_primitive_fields, for the values it can write exactly;
// `ok` turns false at the first it cannot.
class JsonWriter {
 public:
  void String(const char* name, const std::string& value) {
    for (char c : value) {
      // The printer escapes '"', '\\', '<', '>' and every byte outside
      // printable ASCII (control characters, and UTF-8 it may rewrite).
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>') ok = false;
    }
    Raw(name, '"' + value + '"');
  }
  // Enum names, 64-bit integers (quoted, as proto3 JSON has them) and times.
  void Quoted(const char* name, std::string_view value) {
    Raw(name, '"' + std::string(value) + '"');
  }
  void Int64(const char* name, int64_t value) { Quoted(name, std::to_string(value)); }
  void Time(const char* name, matcher::EventTime time) {
    const matcher::EventTime t{matcher::Duration(ClampedMs(time))};
    const int64_t in_day = (t - std::chrono::floor<std::chrono::days>(t)).count();
    char clock[24];
    int n = std::snprintf(clock, sizeof clock, "T%02d:%02d:%02d", int(in_day / 3'600'000),
                          int(in_day / 60'000 % 60), int(in_day / 1000 % 60));
    if (in_day % 1000 != 0) {
      n += std::snprintf(clock + n, sizeof clock - n, ".%03d", int(in_day % 1000));
    }
    Quoted(name, matcher::FormatDate(t).append(clock, n).append("Z"));
  }
  // As the printer writes a double: 15 significant digits when they read
  // back as the same value, else 17.
  void Double(const char* name, double value) {
    if (!std::isfinite(value)) {
      ok = false;
      return;
    }
    char digits[32];
    std::snprintf(digits, sizeof digits, "%.15g", value);
    if (std::strtod(digits, nullptr) != value) {
      std::snprintf(digits, sizeof digits, "%.17g", value);
    }
    Raw(name, digits);
  }
  std::string Finish() { return out + '}'; }

  bool ok = true;

 private:
  void Raw(const char* name, const std::string& value) {
    out += out.empty() ? "{\"" : ",\"";
    out += name;
    out += "\":";
    out += value;
  }
  std::string out;
};

}  // namespace

std::optional<std::string> DirectJson(const matcher::ExceptionRecord& r,
                                      matcher::EventTime detected_at) {
  using P = v1::ExceptionRecord;
  JsonWriter w;
  // The printer's order: the fields of scalar types by number, then the
  // Timestamps by number.
  w.String("exception_id", r.exception_id);
  w.String("tenant_id", r.tenant.value);
  w.Quoted("kind", P::Kind_Name(ToProto(r.kind)));
  w.Quoted("state", P::State_Name(ToProto(r.state)));
  w.Quoted("resolution", P::Resolution_Name(ToProto(r.resolution)));
  w.String("superseded_by", r.superseded_by);
  w.String("deal_id", r.deal.value);
  w.String("order_id", r.order.value);
  w.String("invoice_id", r.invoice.value);
  w.String("customer_id", r.customer.value);
  w.String("customer_name", r.customer_name);
  w.String("owner", r.owner);
  w.String("team", r.team);
  w.Quoted("severity", P::Severity_Name(ToProto(r.severity)));
  w.Int64("amount_at_risk_minor", r.amount_at_risk_minor);
  w.Int64("recovered_minor", r.recovered_minor);
  w.String("currency", r.currency);
  w.Int64("age_days", r.age_days);
  w.Int64("time_weighted_loss", r.time_weighted_loss);
  w.Double("confidence", r.confidence);
  w.String("reason", r.reason);
  w.Quoted("sequence", std::to_string(r.sequence));
  w.String("note", r.note);
  w.Time("deadline", r.deadline);
  w.Time("opened_at", r.opened_at);
  w.Time("detected_at", detected_at);
  w.Time("effective_at", r.effective_at);
  if (!w.ok) return std::nullopt;
  return w.Finish();
}

std::string EncodeJson(const matcher::ExceptionRecord& r, matcher::EventTime detected_at) {
  if (std::optional<std::string> json = DirectJson(r, detected_at)) return *std::move(json);
  return Encode(ToProto(r, detected_at), Encoding::kJson);
}

v1::ExceptionRecord ToProto(const matcher::ExceptionRecord& r, matcher::EventTime detected_at) {
  v1::ExceptionRecord p;
  p.set_exception_id(r.exception_id);
  p.set_tenant_id(r.tenant.value);
  p.set_kind(ToProto(r.kind));
  p.set_state(ToProto(r.state));
  p.set_resolution(ToProto(r.resolution));
  p.set_superseded_by(r.superseded_by);
  p.set_deal_id(r.deal.value);
  p.set_order_id(r.order.value);
  p.set_invoice_id(r.invoice.value);
  p.set_customer_id(r.customer.value);
  p.set_customer_name(r.customer_name);
  p.set_owner(r.owner);
  p.set_team(r.team);
  p.set_severity(ToProto(r.severity));
  p.set_amount_at_risk_minor(r.amount_at_risk_minor);
  p.set_recovered_minor(r.recovered_minor);
  p.set_currency(r.currency);
  *p.mutable_deadline() = ToTimestamp(r.deadline);
  *p.mutable_opened_at() = ToTimestamp(r.opened_at);
  *p.mutable_detected_at() = ToTimestamp(detected_at);
  *p.mutable_effective_at() = ToTimestamp(r.effective_at);
  p.set_age_days(r.age_days);
  p.set_time_weighted_loss(r.time_weighted_loss);
  p.set_confidence(r.confidence);
  p.set_reason(r.reason);
  p.set_sequence(r.sequence);
  p.set_note(r.note);
  return p;
}

std::string Encode(const v1::ExceptionRecord& record, Encoding encoding) {
  std::string out;
  switch (encoding) {
    case Encoding::kJson: {
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      options.always_print_primitive_fields = true;
      // A message we built ourselves always prints.
      (void)google::protobuf::util::MessageToJsonString(record, &out, options);
      break;
    }
    case Encoding::kProtobuf:
      record.SerializeToString(&out);
      break;
  }
  return out;
}

}  // namespace closeloop::alerts
