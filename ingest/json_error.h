// Turns the error text of protobuf's JSON parser (protobuf 3.21) into a DLQ
// reason, a contract field and a plain sentence. Pure; thread-safe.
#pragma once

#include <string_view>

#include "ingest/decode.h"

namespace closeloop::ingest {

// Classifies `status_message`, the message of a failed JsonStringToMessage:
// syntax errors and non-objects are kMalformedJson, unknown keys
// kUnknownField, enum names the contract lacks kUnknownEnum, bad RFC 3339 text
// kUnparseableTime, bad escapes kInvalidUtf8, and a value of the wrong JSON
// type (or out of range) kWrongType. The field path (e.g.
// "billing_plan.milestones[0].due_time") is filled when the parser names it.
Rejection ClassifyJsonError(std::string_view status_message);

}  // namespace closeloop::ingest
