// Serializes the matcher's subject states and outbox records to the bytes the
// state store keeps (protobuf messages of proto/closeloop/v1/state.proto).
// Stateless functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "matcher/state.h"
#include "state/records.h"

namespace closeloop::state {

// Encodes every field of the state. Slots are written in matcher::Slot order,
// so a decoded state lists its slots in that order whatever order they were
// first used in (Slots::Find sees the same slots either way).
std::string Encode(const matcher::DealState& state);
std::string Encode(const matcher::OrderState& state);
std::string Encode(const matcher::InvoiceState& state);
std::string Encode(const OutboxRecord& record);

// Decodes what Encode wrote. Returns DataLoss when the bytes do not parse or
// hold a value the matcher does not know (an unknown enum value).
absl::StatusOr<matcher::DealState> DecodeDealState(std::string_view bytes);
absl::StatusOr<matcher::OrderState> DecodeOrderState(std::string_view bytes);
absl::StatusOr<matcher::InvoiceState> DecodeInvoiceState(std::string_view bytes);
absl::StatusOr<OutboxRecord> DecodeOutboxRecord(std::string_view bytes);

}  // namespace closeloop::state

namespace closeloop::state {

// The number a slot is stored as (state.proto's Slot); it orders timers in
// the key layout. Never 0.
uint8_t SlotCode(matcher::Slot slot);
// The slot stored as `code`; DataLoss when none is.
absl::StatusOr<matcher::Slot> SlotFromCode(uint8_t code);

}  // namespace closeloop::state
