#include "state/codec_enums.h"

#include <string>

#include "state/codec.h"

namespace closeloop::state {

absl::Status Unknown(const char* what, int value) {
  return absl::DataLossError(std::string("state codec: unknown ") + what + " value " +
                             std::to_string(value));
}

// ---------------------------------------------------------------------------
// Enums: encoded by switch (no default, so a new C++ value breaks the build),
// decoded from the stored number (anything else is data loss).

pb::PlanKind ToPb(matcher::BillingPlan::Kind v) {
  switch (v) {
    case matcher::BillingPlan::Kind::kOneTime:
      return pb::PLAN_KIND_ONE_TIME;
    case matcher::BillingPlan::Kind::kMilestones:
      return pb::PLAN_KIND_MILESTONES;
    case matcher::BillingPlan::Kind::kRecurring:
      return pb::PLAN_KIND_RECURRING;
  }
  return pb::PLAN_KIND_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::BillingPlan::Kind& out) {
  switch (v) {
    case pb::PLAN_KIND_ONE_TIME:
      out = matcher::BillingPlan::Kind::kOneTime;
      return absl::OkStatus();
    case pb::PLAN_KIND_MILESTONES:
      out = matcher::BillingPlan::Kind::kMilestones;
      return absl::OkStatus();
    case pb::PLAN_KIND_RECURRING:
      out = matcher::BillingPlan::Kind::kRecurring;
      return absl::OkStatus();
    default:
      return Unknown("billing plan kind", v);
  }
}

pb::OrderStatus ToPb(matcher::Order::Status v) {
  switch (v) {
    case matcher::Order::Status::kOpen:
      return pb::ORDER_STATUS_OPEN;
    case matcher::Order::Status::kCancelled:
      return pb::ORDER_STATUS_CANCELLED;
  }
  return pb::ORDER_STATUS_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::Order::Status& out) {
  switch (v) {
    case pb::ORDER_STATUS_OPEN:
      out = matcher::Order::Status::kOpen;
      return absl::OkStatus();
    case pb::ORDER_STATUS_CANCELLED:
      out = matcher::Order::Status::kCancelled;
      return absl::OkStatus();
    default:
      return Unknown("order status", v);
  }
}

pb::InvoiceKind ToPb(matcher::Invoice::Kind v) {
  switch (v) {
    case matcher::Invoice::Kind::kInvoice:
      return pb::INVOICE_KIND_INVOICE;
    case matcher::Invoice::Kind::kCreditMemo:
      return pb::INVOICE_KIND_CREDIT_MEMO;
  }
  return pb::INVOICE_KIND_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::Invoice::Kind& out) {
  switch (v) {
    case pb::INVOICE_KIND_INVOICE:
      out = matcher::Invoice::Kind::kInvoice;
      return absl::OkStatus();
    case pb::INVOICE_KIND_CREDIT_MEMO:
      out = matcher::Invoice::Kind::kCreditMemo;
      return absl::OkStatus();
    default:
      return Unknown("invoice kind", v);
  }
}

pb::InvoiceStatus ToPb(matcher::Invoice::Status v) {
  switch (v) {
    case matcher::Invoice::Status::kIssued:
      return pb::INVOICE_STATUS_ISSUED;
    case matcher::Invoice::Status::kVoid:
      return pb::INVOICE_STATUS_VOID;
  }
  return pb::INVOICE_STATUS_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::Invoice::Status& out) {
  switch (v) {
    case pb::INVOICE_STATUS_ISSUED:
      out = matcher::Invoice::Status::kIssued;
      return absl::OkStatus();
    case pb::INVOICE_STATUS_VOID:
      out = matcher::Invoice::Status::kVoid;
      return absl::OkStatus();
    default:
      return Unknown("invoice status", v);
  }
}

pb::PaymentStatus ToPb(matcher::Payment::Status v) {
  switch (v) {
    case matcher::Payment::Status::kSucceeded:
      return pb::PAYMENT_STATUS_SUCCEEDED;
    case matcher::Payment::Status::kFailed:
      return pb::PAYMENT_STATUS_FAILED;
    case matcher::Payment::Status::kRefunded:
      return pb::PAYMENT_STATUS_REFUNDED;
    case matcher::Payment::Status::kMoved:
      return pb::PAYMENT_STATUS_MOVED;
  }
  return pb::PAYMENT_STATUS_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::Payment::Status& out) {
  switch (v) {
    case pb::PAYMENT_STATUS_SUCCEEDED:
      out = matcher::Payment::Status::kSucceeded;
      return absl::OkStatus();
    case pb::PAYMENT_STATUS_FAILED:
      out = matcher::Payment::Status::kFailed;
      return absl::OkStatus();
    case pb::PAYMENT_STATUS_REFUNDED:
      out = matcher::Payment::Status::kRefunded;
      return absl::OkStatus();
    case pb::PAYMENT_STATUS_MOVED:
      out = matcher::Payment::Status::kMoved;
      return absl::OkStatus();
    default:
      return Unknown("payment status", v);
  }
}

pb::ExceptionKind ToPb(matcher::ExceptionKind v) {
  switch (v) {
    case matcher::ExceptionKind::kNotBillable:
      return pb::EXCEPTION_KIND_NOT_BILLABLE;
    case matcher::ExceptionKind::kMissingOrder:
      return pb::EXCEPTION_KIND_MISSING_ORDER;
    case matcher::ExceptionKind::kMissingInvoice:
      return pb::EXCEPTION_KIND_MISSING_INVOICE;
    case matcher::ExceptionKind::kUnderBilled:
      return pb::EXCEPTION_KIND_UNDER_BILLED;
    case matcher::ExceptionKind::kOverBilled:
      return pb::EXCEPTION_KIND_OVER_BILLED;
    case matcher::ExceptionKind::kTermsMismatch:
      return pb::EXCEPTION_KIND_TERMS_MISMATCH;
    case matcher::ExceptionKind::kUnpaid:
      return pb::EXCEPTION_KIND_UNPAID;
    case matcher::ExceptionKind::kOrphanOrder:
      return pb::EXCEPTION_KIND_ORPHAN_ORDER;
    case matcher::ExceptionKind::kOrphanInvoice:
      return pb::EXCEPTION_KIND_ORPHAN_INVOICE;
  }
  return pb::EXCEPTION_KIND_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::ExceptionKind& out) {
  switch (v) {
    case pb::EXCEPTION_KIND_NOT_BILLABLE:
      out = matcher::ExceptionKind::kNotBillable;
      return absl::OkStatus();
    case pb::EXCEPTION_KIND_MISSING_ORDER:
      out = matcher::ExceptionKind::kMissingOrder;
      return absl::OkStatus();
    case pb::EXCEPTION_KIND_MISSING_INVOICE:
      out = matcher::ExceptionKind::kMissingInvoice;
      return absl::OkStatus();
    case pb::EXCEPTION_KIND_UNDER_BILLED:
      out = matcher::ExceptionKind::kUnderBilled;
      return absl::OkStatus();
    case pb::EXCEPTION_KIND_OVER_BILLED:
      out = matcher::ExceptionKind::kOverBilled;
      return absl::OkStatus();
    case pb::EXCEPTION_KIND_TERMS_MISMATCH:
      out = matcher::ExceptionKind::kTermsMismatch;
      return absl::OkStatus();
    case pb::EXCEPTION_KIND_UNPAID:
      out = matcher::ExceptionKind::kUnpaid;
      return absl::OkStatus();
    case pb::EXCEPTION_KIND_ORPHAN_ORDER:
      out = matcher::ExceptionKind::kOrphanOrder;
      return absl::OkStatus();
    case pb::EXCEPTION_KIND_ORPHAN_INVOICE:
      out = matcher::ExceptionKind::kOrphanInvoice;
      return absl::OkStatus();
    default:
      return Unknown("exception kind", v);
  }
}

pb::ExceptionState ToPb(matcher::ExceptionState v) {
  switch (v) {
    case matcher::ExceptionState::kOpen:
      return pb::EXCEPTION_STATE_OPEN;
    case matcher::ExceptionState::kUpdated:
      return pb::EXCEPTION_STATE_UPDATED;
    case matcher::ExceptionState::kEscalated:
      return pb::EXCEPTION_STATE_ESCALATED;
    case matcher::ExceptionState::kResolved:
      return pb::EXCEPTION_STATE_RESOLVED;
    case matcher::ExceptionState::kAcknowledged:
      return pb::EXCEPTION_STATE_ACKNOWLEDGED;
    case matcher::ExceptionState::kSnoozed:
      return pb::EXCEPTION_STATE_SNOOZED;
  }
  return pb::EXCEPTION_STATE_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::ExceptionState& out) {
  switch (v) {
    case pb::EXCEPTION_STATE_OPEN:
      out = matcher::ExceptionState::kOpen;
      return absl::OkStatus();
    case pb::EXCEPTION_STATE_UPDATED:
      out = matcher::ExceptionState::kUpdated;
      return absl::OkStatus();
    case pb::EXCEPTION_STATE_ESCALATED:
      out = matcher::ExceptionState::kEscalated;
      return absl::OkStatus();
    case pb::EXCEPTION_STATE_RESOLVED:
      out = matcher::ExceptionState::kResolved;
      return absl::OkStatus();
    case pb::EXCEPTION_STATE_ACKNOWLEDGED:
      out = matcher::ExceptionState::kAcknowledged;
      return absl::OkStatus();
    case pb::EXCEPTION_STATE_SNOOZED:
      out = matcher::ExceptionState::kSnoozed;
      return absl::OkStatus();
    default:
      return Unknown("exception state", v);
  }
}

pb::Resolution ToPb(matcher::Resolution v) {
  switch (v) {
    case matcher::Resolution::kNone:
      return pb::RESOLUTION_NONE;
    case matcher::Resolution::kRecovered:
      return pb::RESOLUTION_RECOVERED;
    case matcher::Resolution::kSuperseded:
      return pb::RESOLUTION_SUPERSEDED;
    case matcher::Resolution::kWithdrawn:
      return pb::RESOLUTION_WITHDRAWN;
    case matcher::Resolution::kDismissed:
      return pb::RESOLUTION_DISMISSED;
  }
  return pb::RESOLUTION_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::Resolution& out) {
  switch (v) {
    case pb::RESOLUTION_NONE:
      out = matcher::Resolution::kNone;
      return absl::OkStatus();
    case pb::RESOLUTION_RECOVERED:
      out = matcher::Resolution::kRecovered;
      return absl::OkStatus();
    case pb::RESOLUTION_SUPERSEDED:
      out = matcher::Resolution::kSuperseded;
      return absl::OkStatus();
    case pb::RESOLUTION_WITHDRAWN:
      out = matcher::Resolution::kWithdrawn;
      return absl::OkStatus();
    case pb::RESOLUTION_DISMISSED:
      out = matcher::Resolution::kDismissed;
      return absl::OkStatus();
    default:
      return Unknown("resolution", v);
  }
}

pb::Severity ToPb(matcher::Severity v) {
  switch (v) {
    case matcher::Severity::kP1:
      return pb::SEVERITY_P1;
    case matcher::Severity::kP2:
      return pb::SEVERITY_P2;
    case matcher::Severity::kP3:
      return pb::SEVERITY_P3;
    case matcher::Severity::kP4:
      return pb::SEVERITY_P4;
  }
  return pb::SEVERITY_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::Severity& out) {
  switch (v) {
    case pb::SEVERITY_P1:
      out = matcher::Severity::kP1;
      return absl::OkStatus();
    case pb::SEVERITY_P2:
      out = matcher::Severity::kP2;
      return absl::OkStatus();
    case pb::SEVERITY_P3:
      out = matcher::Severity::kP3;
      return absl::OkStatus();
    case pb::SEVERITY_P4:
      out = matcher::Severity::kP4;
      return absl::OkStatus();
    default:
      return Unknown("severity", v);
  }
}

pb::Slot ToPb(matcher::Slot v) {
  switch (v) {
    case matcher::Slot::kNotBillable:
      return pb::SLOT_NOT_BILLABLE;
    case matcher::Slot::kMissingOrder:
      return pb::SLOT_MISSING_ORDER;
    case matcher::Slot::kBilling:
      return pb::SLOT_BILLING;
    case matcher::Slot::kTerms:
      return pb::SLOT_TERMS;
    case matcher::Slot::kUnpaid:
      return pb::SLOT_UNPAID;
    case matcher::Slot::kOrphanInvoice:
      return pb::SLOT_ORPHAN_INVOICE;
    case matcher::Slot::kOrphanOrder:
      return pb::SLOT_ORPHAN_ORDER;
    case matcher::Slot::kFuzzyLink:
      return pb::SLOT_FUZZY_LINK;
    case matcher::Slot::kOrderFuzzyLink:
      return pb::SLOT_ORDER_FUZZY_LINK;
  }
  return pb::SLOT_UNSPECIFIED;
}
absl::Status FromPb(int v, matcher::Slot& out) {
  for (matcher::Slot s : kSlots) {
    if (ToPb(s) == v) {
      out = s;
      return absl::OkStatus();
    }
  }
  return Unknown("slot", v);
}

uint8_t SlotCode(matcher::Slot slot) { return static_cast<uint8_t>(ToPb(slot)); }

absl::StatusOr<matcher::Slot> SlotFromCode(uint8_t code) {
  matcher::Slot slot = matcher::Slot::kNotBillable;
  if (auto s = FromPb(code, slot); !s.ok()) return s;
  return slot;
}

}  // namespace closeloop::state
