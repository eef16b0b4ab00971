#include "matcher/types.h"

namespace closeloop::matcher {

const char* KindName(ExceptionKind kind) {
  switch (kind) {
    case ExceptionKind::kNotBillable:
      return "NOT_BILLABLE";
    case ExceptionKind::kMissingOrder:
      return "MISSING_ORDER";
    case ExceptionKind::kMissingInvoice:
      return "MISSING_INVOICE";
    case ExceptionKind::kUnderBilled:
      return "UNDER_BILLED";
    case ExceptionKind::kOverBilled:
      return "OVER_BILLED";
    case ExceptionKind::kTermsMismatch:
      return "TERMS_MISMATCH";
    case ExceptionKind::kUnpaid:
      return "UNPAID";
    case ExceptionKind::kOrphanOrder:
      return "ORPHAN_ORDER";
    case ExceptionKind::kOrphanInvoice:
      return "ORPHAN_INVOICE";
  }
  return "UNKNOWN";
}

const char* StateName(ExceptionState state) {
  switch (state) {
    case ExceptionState::kOpen:
      return "OPEN";
    case ExceptionState::kUpdated:
      return "UPDATED";
    case ExceptionState::kEscalated:
      return "ESCALATED";
    case ExceptionState::kResolved:
      return "RESOLVED";
    case ExceptionState::kAcknowledged:
      return "ACKNOWLEDGED";
    case ExceptionState::kSnoozed:
      return "SNOOZED";
  }
  return "?";
}

const char* ResolutionName(Resolution resolution) {
  switch (resolution) {
    case Resolution::kNone:
      return "NONE";
    case Resolution::kRecovered:
      return "RECOVERED";
    case Resolution::kSuperseded:
      return "SUPERSEDED";
    case Resolution::kWithdrawn:
      return "WITHDRAWN";
    case Resolution::kDismissed:
      return "DISMISSED";
  }
  return "?";
}

std::optional<ExceptionKind> KindFromName(const std::string& name) {
  for (int k = 0; k <= static_cast<int>(ExceptionKind::kOrphanInvoice); ++k) {
    if (name == KindName(static_cast<ExceptionKind>(k))) return static_cast<ExceptionKind>(k);
  }
  return std::nullopt;
}

}  // namespace closeloop::matcher
