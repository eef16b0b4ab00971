// A source adapter's field mapping (SPEC §3 "Source adapters"): which path of
// a source record (a Debezium row, a Salesforce record) feeds which field of
// the canonical document, and when a CRM deal counts as won. The mapping is
// data, read from config; this header only describes and checks it.
// Values; thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/decode.h"
#include "matcher/tenant.h"

namespace google::protobuf {
class Descriptor;
}  // namespace google::protobuf

namespace closeloop::ingest {

// The unit of a source time written as a whole number.
enum class TimeUnit { kDays, kMillis, kMicros, kNanos };

// Where one canonical field comes from.
struct FieldSource {
  // Path into the source record: keys separated by '.', each optionally
  // followed by "[N]" (the N-th list element, from 0) or "[*]" (every
  // element; all non-null values found must agree). E.g. "Id",
  // "source.ts_ms", "DocumentLines[*].BaseEntry". Empty when `constant` is set.
  std::string path;
  // A fixed value instead of a path (YAML `{value: acme}`).
  std::optional<std::string> constant;
  // Source value -> canonical value (e.g. SAP CANCELED "Y" -> "CANCELLED").
  // Empty: the value is used as it is. A value not listed is a rejection.
  std::map<std::string, std::string> values;
  // `amount` only: scale of DECIMAL bytes (base64) when the record carries
  // no Kafka Connect schema. Default: none (a string is a decimal number).
  std::optional<int> scale;
  // Time fields only: the unit of a whole-number time when the record carries
  // no schema saying it. Default: none (Salesforce: milliseconds).
  std::optional<TimeUnit> time_unit;
};

// Deals only: when the source says a deal is won. The canonical stage is then
// `won_stage`; otherwise it is the mapped `stage` value (or "Open" when none
// is mapped, or when that value is `won_stage` itself).
struct WonWhen {
  std::string path;                      // e.g. "IsWon" or "StageName"
  std::vector<std::string> any_of;       // won when the value's text is one of these
  std::string won_stage = "Closed Won";  // Default: "Closed Won"
};

struct Mapping {
  // Canonical field name (proto field name of the topic's document, e.g.
  // "deal_id", "close_time", or "amount": a decimal in major units converted
  // to amount_minor with the currency's minor digits) -> its source.
  std::map<std::string, FieldSource> fields;
  std::optional<WonWhen> won_when;
};

// Stage a deleted deal gets: lost to the matcher, which withdraws its
// expectations and counts what was billed on it as OVER_BILLED.
using matcher::kDeletedStage;

struct MappingError {
  std::string field;  // the canonical field (a key of Mapping::fields), or "won_when"
  std::string message;
};

// Why `path` is not a valid source path; nullopt when it is.
std::optional<std::string> CheckPath(std::string_view path);

// The canonical fields a mapping of `type` may name: the document's proto
// fields plus "amount".
std::vector<std::string> MappableFields(DocType type);

// Checks `mapping` for a topic carrying `type`: known canonical fields, valid
// paths, the document's id and tenant_id mapped (deals: stage or won_when
// too), amount and amount_minor not both, options only on fields they apply
// to, won_when only on deals. Returns the first problem found.
std::optional<MappingError> CheckMapping(DocType type, const Mapping& mapping);

// The canonical message of a document type; null for commands.
const google::protobuf::Descriptor* DescriptorOf(DocType type);

}  // namespace closeloop::ingest
