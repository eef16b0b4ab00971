// Conversions between the matcher's enums and state.proto's (private to
// state/codec.cc and state/keys.cc). ToPb is a switch without a default, so a
// new C++ value breaks the build; FromPb refuses an unknown stored number.
#pragma once

#include "absl/status/status.h"
#include "closeloop/v1/state.pb.h"
#include "matcher/state.h"

namespace closeloop::state {
namespace pb = ::closeloop::v1::state;

// Every slot, in the order the codec writes them.
inline constexpr matcher::Slot kSlots[] = {
    matcher::Slot::kNotBillable, matcher::Slot::kMissingOrder, matcher::Slot::kBilling,
    matcher::Slot::kTerms,       matcher::Slot::kUnpaid,       matcher::Slot::kOrphanInvoice,
    matcher::Slot::kOrphanOrder, matcher::Slot::kFuzzyLink,    matcher::Slot::kOrderFuzzyLink,
};

// "state codec: unknown <what> value <value>", as data loss.
absl::Status Unknown(const char* what, int value);

pb::PlanKind ToPb(matcher::BillingPlan::Kind v);
absl::Status FromPb(int v, matcher::BillingPlan::Kind& out);
pb::OrderStatus ToPb(matcher::Order::Status v);
absl::Status FromPb(int v, matcher::Order::Status& out);
pb::InvoiceKind ToPb(matcher::Invoice::Kind v);
absl::Status FromPb(int v, matcher::Invoice::Kind& out);
pb::InvoiceStatus ToPb(matcher::Invoice::Status v);
absl::Status FromPb(int v, matcher::Invoice::Status& out);
pb::PaymentStatus ToPb(matcher::Payment::Status v);
absl::Status FromPb(int v, matcher::Payment::Status& out);
pb::ExceptionKind ToPb(matcher::ExceptionKind v);
absl::Status FromPb(int v, matcher::ExceptionKind& out);
pb::ExceptionState ToPb(matcher::ExceptionState v);
absl::Status FromPb(int v, matcher::ExceptionState& out);
pb::Resolution ToPb(matcher::Resolution v);
absl::Status FromPb(int v, matcher::Resolution& out);
pb::Severity ToPb(matcher::Severity v);
absl::Status FromPb(int v, matcher::Severity& out);
pb::Slot ToPb(matcher::Slot v);
absl::Status FromPb(int v, matcher::Slot& out);

}  // namespace closeloop::state
