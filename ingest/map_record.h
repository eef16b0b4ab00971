// Applies a Mapping to one source record: converts its values (decimals,
// dates, ids) into the canonical JSON of SPEC §3 and decodes that through the
// ordinary Decode, so adapted records meet exactly the contract checks that
// canonical ones do. Shared by the Debezium and Salesforce adapters. Pure;
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "closeloop/v1/internal.pb.h"
#include "ingest/decode.h"
#include "ingest/mapping.h"

namespace closeloop::ingest {

// The Kafka Connect schema of one column (Debezium with schemas enabled).
struct ColumnSchema {
  std::string type;          // "int32", "int64", "string", "bytes", "double", ...
  std::string name;          // logical type, e.g. "org.apache.kafka.connect.data.Decimal"
  std::optional<int> scale;  // parameters.scale of a Decimal
};
using RowSchema = std::map<std::string, ColumnSchema>;  // by column name

// Reads the "fields" of a Kafka Connect struct schema; empty when `schema`
// is not one.
RowSchema ReadRowSchema(const nlohmann::json& schema);

struct MapContext {
  // The source's time of the change, for event_time when it is not mapped.
  std::optional<int64_t> change_time_ms;
  // Unit of whole-number times with no schema and no time_unit in the mapping.
  std::optional<TimeUnit> default_time_unit;
  // Column schemas, looked up by a path's first key; may be null.
  const RowSchema* schema = nullptr;
};

// The canonical JSON object for `type` from `row`, or why it cannot be made
// (reason unmappable, naming the canonical field and its source path). Absent
// or null sources leave the field out: the contract checks decide whether it
// was required.
std::variant<nlohmann::json, Rejection> MapRecord(DocType type, const Mapping& mapping,
                                                  const nlohmann::json& row,
                                                  const MapContext& context);

// Rewrites a canonical document as deleted: a deal gets kDeletedStage, an
// order CANCELLED, an invoice VOID, a payment FAILED, so the matcher withdraws
// what it expected from it. event_time becomes `time_ms` when given.
void MarkDeleted(DocType type, nlohmann::json& canonical, std::optional<int64_t> time_ms);

// Decodes canonical JSON with Decode(kJson); a rejection naming a mapped
// field also names its source path.
std::variant<v1::Event, Rejection> DecodeCanonical(DocType type, const Mapping& mapping,
                                                   const nlohmann::json& canonical,
                                                   std::optional<int64_t> kafka_timestamp_ms,
                                                   const Limits& limits);

// A source record's value parsed as JSON, or the rejection: more than
// limits.max_record_bytes (oversized), or not JSON (malformed_json). `what`
// names the record in the message, e.g. "the Debezium record".
std::variant<nlohmann::json, Rejection> ParseSourceJson(std::string_view value,
                                                        const Limits& limits,
                                                        std::string_view what);

// A record whose envelope is not what its format promises (bad_envelope).
Rejection BadEnvelope(std::string message);

// Exposed for tests.
// A decimal text ("-12.50") in major units -> minor units with `digits`
// decimals; nullopt-free: returns the reason on failure.
std::variant<int64_t, std::string> DecimalToMinor(std::string_view text, int digits);
// Kafka Connect DECIMAL bytes (base64 of a big-endian two's-complement
// unscaled integer) with `scale` -> decimal text, e.g. ("AeI=", 2) -> "4.82".
std::optional<std::string> DecimalBytesToText(std::string_view base64, int scale);
// Milliseconds since the epoch as RFC 3339, or nullopt when out of range.
std::optional<std::string> MillisToRfc3339(int64_t ms);

}  // namespace closeloop::ingest
