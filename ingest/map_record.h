// Applies a Mapping to one source record: converts its values (decimals,
// dates, ids) into the canonical JSON of SPEC §3 and decodes that through the
// ordinary Decode, so adapted records meet exactly the contract checks that
// canonical ones do. Shared by the Debezium and Salesforce adapters. The
// value conversions it uses (schemas, decimals, times) are in
// source_values.h. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "closeloop/v1/internal.pb.h"
#include "ingest/adapter.h"
#include "ingest/decode.h"
#include "ingest/mapping.h"
#include "ingest/source_values.h"

namespace closeloop::ingest {

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
// limits.max_record_bytes (oversized), not JSON (malformed_json), or an
// object naming a key twice (duplicate_field, the field the key). `what`
// names the record in the message, e.g. "the Debezium record".
std::variant<nlohmann::json, Rejection> ParseSourceJson(std::string_view value,
                                                        const Limits& limits,
                                                        std::string_view what);

// A record whose envelope is not what its format promises (bad_envelope).
Rejection BadEnvelope(std::string message);

// Calls `adapt()`, an adapter's reading of one record into `out`. A value of
// an unexpected JSON type deep inside the record (nlohmann::json::exception)
// makes it a bad record, never a crash: BadEnvelope("<what> has an unexpected
// shape: ...") is appended to `out`, after whatever `adapt` appended before
// it threw. `what` names the record, e.g. "the Debezium record".
template <class F>
void AdaptRefusingBadShapes(std::string_view what, std::vector<Adapted>& out, F&& adapt) {
  try {
    adapt();
  } catch (const nlohmann::json::exception& e) {
    out.push_back(BadEnvelope(std::string(what) + " has an unexpected shape: " + e.what()));
  }
}

}  // namespace closeloop::ingest
