// Turns the bytes of one input record into a validated, normalized
// closeloop.v1.Event, or says precisely why it cannot (the DLQ reason).
// Stateless and thread-safe: every function here is pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "closeloop/v1/internal.pb.h"

namespace closeloop::ingest {

// Wire format of a topic (SPEC §3). kAuto looks at the first byte: '{' or
// whitespace is JSON, 0x00 is Confluent framing, anything else Protobuf.
// kDebezium and kSalesforceCdc are source adapters (ingest/adapter.h): they
// need a Mapping and are decoded by an Adapter, not by Decode.
enum class Format { kAuto, kJson, kProtobuf, kConfluent, kDebezium, kSalesforceCdc };

// Which message a topic carries.
enum class DocType { kDeal, kOrder, kInvoice, kPayment, kCommand };

// Why a record goes to the dead-letter topic. The wire name (ReasonName) is
// stable: metrics labels and DLQ consumers rely on it.
enum class Reason {
  kEmpty,              // "empty": zero bytes (a tombstone)
  kOversized,          // "oversized": larger than Limits::max_record_bytes
  kInvalidUtf8,        // "invalid_utf8": JSON text or a string field not UTF-8
  kMalformedJson,      // "malformed_json": not JSON, or JSON not an object
  kWrongType,          // "wrong_type": a field has the wrong JSON type
  kUnknownField,       // "unknown_field": a field the contract does not have
  kDuplicateField,     // "duplicate_field": a JSON object or Protobuf record names a field twice
  kUnknownEnum,        // "unknown_enum": an enum value the contract does not have
  kUnparseableTime,    // "unparseable_time": not an RFC 3339 time
  kMalformedProtobuf,  // "malformed_protobuf": truncated or invalid binary
  kBadFraming,         // "bad_framing": Confluent header missing or invalid
  kMissingField,       // "missing_field": a required field is absent or empty
  kNegativeAmount,     // "negative_amount": an amount below zero
  kBadCurrency,        // "bad_currency": not an ISO 4217 code
  kInvalidValue,       // "invalid_value": any other contract violation
  // Commands that decode but cannot apply (SPEC §5 "Commands"):
  kUnknownException,  // "unknown_exception": no such exception for the tenant
  kExceptionNotOpen,  // "exception_not_open": already resolved
  kReplayedCommand,   // "replayed_command": this command id was applied before
  kTooManyCommands,   // "too_many_commands": the exception took matcher::kMaxCommandsPerSlot
  // Source adapters (ingest/adapter.h):
  kBadEnvelope,       // "bad_envelope": not a Debezium or Salesforce change event
  kUnmappable,        // "unmappable": a mapped source value cannot become its field
  kNoPreviousRecord,  // "no_previous_record": a delete or partial update of an unknown record
  kCdcGap,            // "cdc_gap": a Salesforce GAP_* event (changes not sent; re-read the record)
  kCdcGapOverflow,    // "cdc_gap_overflow": a Salesforce GAP_OVERFLOW event
};
const char* ReasonName(Reason reason);
// Every ReasonName, in the enum's order.
std::vector<std::string> ReasonNames();

// A record that cannot be accepted. `message` is one sentence for a person,
// naming the field when there is one.
struct Rejection {
  Reason reason;
  std::string field;  // contract field name, e.g. "amount_minor"; may be empty
  std::string message;
};

struct Limits {
  // Records larger than this are rejected as oversized. Default: 1 MiB
  size_t max_record_bytes = 1 << 20;
  // Milestones or periods in one billing plan. Default: 1000
  int max_billing_periods = 1000;
  // Bytes of one text field (an id, a name, a note). Exception records
  // carry several of a document's texts (ids, customer_name, owner, and the
  // reason repeats some), and Kafka refuses a record over message.max.bytes
  // (1 MB by default) for good, which would stop the service on a record it
  // accepted; with every text within this, an exception record stays far
  // below that. Default: 16 KiB
  size_t max_text_bytes = 16 << 10;
};

// Decodes `bytes` as a `type` message in `format`, validates it against the
// contract and fills defaults (event_time from the most specific time the
// document has, else `kafka_timestamp_ms` when given). On success the Event's
// payload is set; origin is left for the caller.
std::variant<v1::Event, Rejection> Decode(DocType type, Format format, std::string_view bytes,
                                          std::optional<int64_t> kafka_timestamp_ms,
                                          const Limits& limits = {});

// The same, parsed into `event` (which may be on an arena: Input builds a
// batch's documents on the batch's). REQUIRES: `event` is empty. Returns
// nullopt when `event` now holds the validated document; on a rejection
// `event` holds whatever was parsed and is to be dropped.
std::optional<Rejection> DecodeInto(DocType type, Format format, std::string_view bytes,
                                    std::optional<int64_t> kafka_timestamp_ms, const Limits& limits,
                                    v1::Event& event);

}  // namespace closeloop::ingest
