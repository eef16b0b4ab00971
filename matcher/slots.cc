// What each slot is about (state.h): its subject and the slot of each
// exception kind. (The sources a slot waits for, DepsOf, are inline in
// state.h.)
#include "matcher/state.h"

namespace closeloop::matcher {

SubjectType SubjectOf(Slot slot) {
  switch (slot) {
    case Slot::kNotBillable:
    case Slot::kMissingOrder:
    case Slot::kBilling:
      return SubjectType::kDeal;
    case Slot::kTerms:
    case Slot::kUnpaid:
    case Slot::kOrphanInvoice:
    case Slot::kFuzzyLink:
      return SubjectType::kInvoice;
    case Slot::kOrphanOrder:
    case Slot::kOrderFuzzyLink:
      return SubjectType::kOrder;
  }
  return SubjectType::kDeal;
}

Slot SlotOf(ExceptionKind kind) {
  switch (kind) {
    case ExceptionKind::kNotBillable:
      return Slot::kNotBillable;
    case ExceptionKind::kMissingOrder:
      return Slot::kMissingOrder;
    case ExceptionKind::kMissingInvoice:
    case ExceptionKind::kUnderBilled:
    case ExceptionKind::kOverBilled:
      return Slot::kBilling;
    case ExceptionKind::kTermsMismatch:
      return Slot::kTerms;
    case ExceptionKind::kUnpaid:
      return Slot::kUnpaid;
    case ExceptionKind::kOrphanOrder:
      return Slot::kOrphanOrder;
    case ExceptionKind::kOrphanInvoice:
      return Slot::kOrphanInvoice;
  }
  return Slot::kBilling;
}

}  // namespace closeloop::matcher
