// Source values in the canonical text forms the contract reads (SPEC §3
// "Source adapters"): Kafka Connect column schemas, decimals in major units,
// Kafka Connect DECIMAL bytes and times in the units CDC tools write. Used by
// MapRecord (map_record.h); each function is exposed for its tests and
// fuzzers. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

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

// A decimal text ("-12.50") in major units -> minor units with `digits`
// decimals; nullopt-free: returns the reason on failure.
std::variant<int64_t, std::string> DecimalToMinor(std::string_view text, int digits);
// Kafka Connect DECIMAL bytes (base64 of a big-endian two's-complement
// unscaled integer, at most 64 bytes) with `scale` -> decimal text, e.g.
// ("AeI=", 2) -> "4.82".
std::optional<std::string> DecimalBytesToText(std::string_view base64, int scale);
// Milliseconds since the epoch as RFC 3339, or nullopt when out of range.
std::optional<std::string> MillisToRfc3339(int64_t ms);

// The unit of whole-number times a Debezium or Kafka Connect logical type
// (Date, Timestamp, MicroTimestamp, NanoTimestamp) gives; nullopt for
// others or no schema.
std::optional<TimeUnit> TimeUnitOfSchema(const ColumnSchema* schema);
// `value` in `unit` as milliseconds since the epoch (floored); nullopt when
// days are far outside years 1 to 9999.
std::optional<int64_t> ToMillis(int64_t value, TimeUnit unit);
// A source time text as RFC 3339: accepts RFC 3339 itself, a date alone
// (midnight UTC), a space instead of 'T', a zone written +HHMM (Salesforce),
// and no zone at all (taken as UTC). nullopt when it is none of those.
std::optional<std::string> NormalizeTimeText(std::string s);
// A whole decimal number with nothing around it; nullopt otherwise.
std::optional<int64_t> ParseWholeNumber(std::string_view s);

}  // namespace closeloop::ingest
