// Turns the error text of protobuf's JSON parser (protobuf 3.21) into a DLQ
// reason, a contract field and a plain sentence, and finds what that parser
// lets through without a word: a field given twice. Pure; thread-safe.
#pragma once

#include <optional>
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

// kDuplicateField when one JSON object of `json` names a field twice, as
// written or once in snake_case and once in camelCase ("amount_minor" and
// "amountMinor"). protobuf's parser keeps the last value of most fields
// without a word (of an optional one it reports a confusing type error),
// and another reader of the same record may keep the first: a record whose
// amount or currency depends on who reads it is refused. nullopt when there
// is no repeat, and for text that is no JSON (the parser says why).
std::optional<Rejection> DuplicateFieldIn(std::string_view json);

}  // namespace closeloop::ingest
