// The contract checks of SPEC §3 that run after a record has been parsed, and
// the event_time defaults. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "closeloop/v1/internal.pb.h"
#include "ingest/decode.h"

namespace closeloop::ingest {

// Checks the `type` payload of `event` against the contract (required fields,
// amounts, currencies, time ranges, enum values, billing plans, commands) and
// sets its event_time when absent: from the most specific time the document
// has, else from `kafka_timestamp_ms` when that is a valid time (>= 0).
// Returns the first violation found, in field order; nullopt when accepted.
// REQUIRES: the payload of `event` matching `type` is set.
std::optional<Rejection> ValidateAndFill(DocType type, v1::Event& event,
                                         std::optional<int64_t> kafka_timestamp_ms,
                                         const Limits& limits);

// The first text field of `message` (nested ones included) longer than
// limits.max_text_bytes, named by its path ("note", "billing_plan.x").
std::optional<Rejection> CheckTextSizes(const google::protobuf::Message& message,
                                        const Limits& limits, const std::string& prefix = "");

}  // namespace closeloop::ingest
