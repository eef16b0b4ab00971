// Source adapters (SPEC §3): turn change-data-capture records that are not in
// the canonical form into canonical documents through a per-topic Mapping.
//   debezium        the Debezium envelope (before/after/op/source.ts_ms, with
//                   or without the Kafka Connect {schema, payload} wrapper) or
//                   its flattened form (ExtractNewRecordState, __deleted);
//                   op c/u/r upsert, d and tombstones delete.
//   salesforce-cdc  Salesforce change events (ChangeEventHeader with
//                   changeType, recordIds, commitTimestamp); partial updates
//                   merge onto the last full record; one event applies to
//                   each of its recordIds; GAP_* events are refused.
// A deleted row becomes its last document marked deleted (MarkDeleted in
// map_record.h), so the matcher withdraws what it expected from it.
// Not thread-safe: an Adapter keeps per-row state in its RecordCache.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "closeloop/v1/internal.pb.h"
#include "ingest/decode.h"
#include "ingest/mapping.h"
#include "ingest/record_cache.h"

namespace closeloop::ingest {

// One Kafka record as the adapter sees it. A null value (tombstone) has
// `value` empty and `tombstone` true.
struct SourceRecord {
  std::string_view topic;
  std::optional<std::string_view> key;
  std::string_view value;
  bool tombstone = false;
  std::optional<int64_t> kafka_timestamp_ms;
};

using Adapted = std::variant<v1::Event, Rejection>;

class Adapter {
 public:
  virtual ~Adapter() = default;
  // Appends what `record` yields to `out`: usually one Event or one
  // Rejection; one per record id for a Salesforce event naming several;
  // nothing only for a tombstone of a row whose delete was already applied
  // (a repeat, like a re-delivered record). Events have no origin yet.
  virtual void Adapt(const SourceRecord& record, std::vector<Adapted>& out) = 0;
};

// An adapter for `format` (kDebezium or kSalesforceCdc) reading `type`
// documents. REQUIRES: CheckMapping(type, mapping) passed; `cache` outlives
// the adapter (several adapters may share one cache: keys include the topic).
std::unique_ptr<Adapter> MakeAdapter(Format format, DocType type, Mapping mapping, Limits limits,
                                     RecordCache& cache);

// True for the formats MakeAdapter accepts.
bool IsAdapterFormat(Format format);

}  // namespace closeloop::ingest
