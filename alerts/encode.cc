#include "alerts/encode.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

namespace closeloop::alerts {
namespace {

using matcher::ExceptionKind;
using matcher::ExceptionState;
using matcher::Resolution;
using matcher::Severity;

google::protobuf::Timestamp ToTimestamp(matcher::EventTime t) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(t.time_since_epoch().count());
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

}  // namespace

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
