// The Debezium adapter (ingest/adapter.h). Reads the envelope
// {before, after, op, source: {ts_ms}, ts_ms}, optionally inside the Kafka
// Connect wrapper {schema, payload}, and the flattened row that
// ExtractNewRecordState writes (with __deleted, and __op / __source_ts_ms /
// __ts_ms when added). The last document of each row is kept in the
// RecordCache under the topic and the record key, so a delete whose before
// image holds only the primary key (PostgreSQL's default replica identity)
// and the tombstone that follows it still find the document to withdraw.

#include <limits>
#include <nlohmann/json.hpp>

#include "ingest/adapter.h"
#include "ingest/map_record.h"

namespace closeloop::ingest {
namespace {

using nlohmann::json;

// Cache values: 'L' (live) or 'D' (deleted) followed by the canonical JSON.
constexpr char kLive = 'L';
constexpr char kDeleted = 'D';

std::optional<int64_t> IntAt(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  // Past int64 nlohmann keeps the number unsigned; get<int64_t>() would wrap it.
  if (it == object.end() || !it->is_number_integer() ||
      (it->is_number_unsigned() &&
       it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
    return std::nullopt;
  }
  return it->get<int64_t>();
}

// A change time: IntAt, but 0 is none. Snapshot reads of connectors before
// Debezium 1.9.6 and 2.0 (DBZ-5591) carry source.ts_ms 0, which is not when
// the row was read or changed.
std::optional<int64_t> TimeAt(const json& object, const char* key) {
  std::optional<int64_t> ms = IntAt(object, key);
  if (ms == 0) return std::nullopt;
  return ms;
}

// {schema, payload} -> payload (and the schema); anything else as it is.
const json& Unwrap(const json& value, const json** schema) {
  if (value.is_object() && value.size() == 2 && value.contains("schema") &&
      value.contains("payload")) {
    *schema = &value["schema"];
    return value["payload"];
  }
  return value;
}

// The row identity of a record key: its JSON (unwrapped) in one canonical
// spelling, or the raw bytes when the key is not JSON.
std::string KeyText(std::string_view key) {
  const json parsed = json::parse(key, nullptr, false);
  if (parsed.is_discarded()) return std::string(key);
  const json* schema = nullptr;
  return Unwrap(parsed, &schema).dump();
}

std::string DocIdentity(DocType type, const json& canonical) {
  static constexpr const char* kIds[] = {"deal_id", "order_id", "invoice_id", "payment_id", ""};
  const char* id = kIds[static_cast<int>(type)];
  auto text = [&](const char* f) {
    return canonical.contains(f) && canonical[f].is_string() ? canonical[f].get<std::string>() : "";
  };
  return "doc:" + text("tenant_id") + "\n" + text(id);
}

class DebeziumAdapter : public Adapter {
 public:
  DebeziumAdapter(DocType type, Mapping mapping, Limits limits, RecordCache& cache)
      : type_(type), mapping_(std::move(mapping)), limits_(limits), cache_(cache) {}

  void Adapt(const SourceRecord& record, std::vector<Adapted>& out) override {
    AdaptRefusingBadShapes("the Debezium record", out, [&] { AdaptRecord(record, out); });
  }

 private:
  void AdaptRecord(const SourceRecord& record, std::vector<Adapted>& out) {
    if (record.tombstone || record.value.empty()) {
      if (!record.key || record.key->empty()) {
        out.push_back(Rejection{Reason::kEmpty, "",
                                "a tombstone (null value) without a key: no row to delete"});
        return;
      }
      Delete(record, nullptr, nullptr, record.kafka_timestamp_ms, /*tombstone=*/true, out);
      return;
    }
    auto parsed = ParseSourceJson(record.value, limits_, "the Debezium record");
    if (auto* rejected = std::get_if<Rejection>(&parsed)) {
      out.push_back(std::move(*rejected));
      return;
    }
    const json& value = std::get<json>(parsed);
    const json* schema = nullptr;
    const json& payload = Unwrap(value, &schema);
    if (payload.is_null()) {  // {schema, payload: null}: a tombstone in the wrapper
      Delete(record, nullptr, nullptr, record.kafka_timestamp_ms, true, out);
      return;
    }
    if (!payload.is_object()) {
      out.push_back(BadEnvelope("the Debezium record is not a JSON object"));
      return;
    }
    // A flattened row may have a column named op; an envelope has its row
    // images or source beside it (the JSON converter writes them even null).
    if (payload.contains("op") &&
        (payload.contains("after") || payload.contains("before") || payload.contains("source"))) {
      Envelope(record, payload, schema, out);
    } else {
      Flattened(record, payload, schema, out);
    }
  }

  void Envelope(const SourceRecord& record, const json& payload, const json* schema,
                std::vector<Adapted>& out) {
    const json& op = payload["op"];
    std::optional<int64_t> ts =
        TimeAt(payload.contains("source") ? payload["source"] : json(), "ts_ms");
    if (!ts) ts = TimeAt(payload, "ts_ms");
    if (!ts) ts = record.kafka_timestamp_ms;
    // The row schema: the "after" (or "before") field of the envelope schema.
    RowSchema rows;
    if (schema != nullptr && schema->contains("fields") && (*schema)["fields"].is_array()) {
      for (const json& f : (*schema)["fields"]) {
        if (f.is_object() &&
            (f.value("field", "") == "after" || f.value("field", "") == "before")) {
          rows = ReadRowSchema(f);
          if (!rows.empty()) break;
        }
      }
    }
    const std::string o = op.is_string() ? op.get<std::string>() : "";
    if (o == "c" || o == "u" || o == "r") {
      const json& after = payload.contains("after") ? payload["after"] : json();
      if (!after.is_object()) {
        out.push_back(BadEnvelope("op \"" + o + "\" without an \"after\" row"));
        return;
      }
      Upsert(record, after, rows, ts, out);
    } else if (o == "d") {
      const json& before = payload.contains("before") ? payload["before"] : json();
      Delete(record, before.is_object() ? &before : nullptr, &rows, ts, false, out);
    } else if (o == "t") {
      out.push_back(
          BadEnvelope("a truncate event (op \"t\"): closeloop does not withdraw a whole "
                      "table; delete the rows instead"));
    } else {
      out.push_back(BadEnvelope("op " + op.dump() + " is not one of c, u, r, d"));
    }
  }

  void Flattened(const SourceRecord& record, const json& row, const json* schema,
                 std::vector<Adapted>& out) {
    const RowSchema rows = schema != nullptr ? ReadRowSchema(*schema) : RowSchema{};
    std::optional<int64_t> ts = TimeAt(row, "__source_ts_ms");
    if (!ts) ts = TimeAt(row, "__ts_ms");
    if (!ts) ts = record.kafka_timestamp_ms;
    bool deleted = false;
    if (auto it = row.find("__deleted"); it != row.end()) {
      deleted = (it->is_string() && it->get<std::string>() == "true") ||
                (it->is_boolean() && it->get<bool>());
    }
    if (auto it = row.find("__op"); it != row.end() && *it == "d") deleted = true;
    if (deleted) {
      Delete(record, &row, &rows, ts, false, out);
    } else {
      Upsert(record, row, rows, ts, out);
    }
  }

  std::string CacheKey(const SourceRecord& record, const json* canonical) const {
    std::string key = std::string(record.topic) + "\n";
    if (record.key && !record.key->empty()) return key + "key:" + KeyText(*record.key);
    return key + (canonical != nullptr ? DocIdentity(type_, *canonical) : "");
  }

  void Upsert(const SourceRecord& record, const json& row, const RowSchema& rows,
              std::optional<int64_t> ts, std::vector<Adapted>& out) {
    auto mapped = MapRecord(type_, mapping_, row, {.change_time_ms = ts, .schema = &rows});
    if (auto* r = std::get_if<Rejection>(&mapped)) {
      out.push_back(std::move(*r));
      return;
    }
    const json& canonical = std::get<json>(mapped);
    Adapted decoded =
        DecodeCanonical(type_, mapping_, canonical, record.kafka_timestamp_ms, limits_);
    if (std::holds_alternative<v1::Event>(decoded)) {
      const std::string key = CacheKey(record, &canonical);
      WithdrawRenamed(record, key, canonical, ts, out);
      cache_.Put(key, kLive + canonical.dump());
    }
    out.push_back(std::move(decoded));
  }

  // A row (known by its key) whose document was another one before, under
  // another id or tenant (the mapped id column was corrected): that document
  // is gone, as if its row had been deleted, or it would stay live for good
  // and a later delete of the row would find only the new one.
  void WithdrawRenamed(const SourceRecord& record, const std::string& key, const json& canonical,
                       std::optional<int64_t> ts, std::vector<Adapted>& out) {
    if (!record.key || record.key->empty()) return;  // then the document is the key
    const std::optional<std::string> cached = cache_.Get(key);
    if (!cached || cached->empty() || cached->front() != kLive) return;
    json before = json::parse(cached->substr(1), nullptr, false);
    if (before.is_discarded() || DocIdentity(type_, before) == DocIdentity(type_, canonical)) {
      return;
    }
    MarkDeleted(type_, before, ts);
    out.push_back(DecodeCanonical(type_, mapping_, before, record.kafka_timestamp_ms, limits_));
  }

  // `before` may be null (a tombstone, or a delete without a before image).
  void Delete(const SourceRecord& record, const json* before, const RowSchema* rows,
              std::optional<int64_t> ts, bool tombstone, std::vector<Adapted>& out) {
    json canonical;
    std::optional<Rejection> unmapped;
    if (before != nullptr && (!record.key || record.key->empty())) {
      // No key: the row is known by the document its before image maps to.
      auto mapped = MapRecord(type_, mapping_, *before, {.change_time_ms = ts, .schema = rows});
      if (auto* r = std::get_if<Rejection>(&mapped)) {
        unmapped = std::move(*r);
      } else {
        canonical = std::get<json>(std::move(mapped));
      }
    }
    const std::string key = CacheKey(record, canonical.is_null() ? nullptr : &canonical);
    const std::optional<std::string> cached = cache_.Get(key);
    if (cached && !cached->empty()) {
      if (tombstone && cached->front() == kDeleted) return;  // the delete was applied already
      canonical = json::parse(cached->substr(1), nullptr, false);
    } else if (before != nullptr && canonical.is_null() && !unmapped) {
      auto mapped = MapRecord(type_, mapping_, *before, {.change_time_ms = ts, .schema = rows});
      if (auto* r = std::get_if<Rejection>(&mapped)) {
        unmapped = std::move(*r);
      } else {
        canonical = std::get<json>(std::move(mapped));
      }
    }
    if (canonical.is_null() || canonical.is_discarded()) {
      std::string why = tombstone ? "a tombstone" : "a delete";
      why += " for a row closeloop has no earlier record of";
      if (before == nullptr) {
        why += ", and no before image to identify its document";
      } else if (unmapped) {
        why += ", and its before image does not map: " + unmapped->message;
      }
      out.push_back(Rejection{Reason::kNoPreviousRecord, unmapped ? unmapped->field : "", why});
      return;
    }
    MarkDeleted(type_, canonical, ts);
    Adapted decoded =
        DecodeCanonical(type_, mapping_, canonical, record.kafka_timestamp_ms, limits_);
    if (std::holds_alternative<v1::Event>(decoded)) {
      cache_.Put(key, kDeleted + canonical.dump());
    } else if (before != nullptr && !cached) {
      // The before image maps but is incomplete (e.g. only the primary key).
      auto& r = std::get<Rejection>(decoded);
      r = Rejection{Reason::kNoPreviousRecord, r.field,
                    "a delete for a row closeloop has no earlier record of, and its before "
                    "image is incomplete: " +
                        r.message};
    }
    out.push_back(std::move(decoded));
  }

  DocType type_;
  Mapping mapping_;
  Limits limits_;
  RecordCache& cache_;
};

}  // namespace

std::unique_ptr<Adapter> MakeDebeziumAdapter(DocType type, Mapping mapping, Limits limits,
                                             RecordCache& cache) {
  return std::make_unique<DebeziumAdapter>(type, std::move(mapping), limits, cache);
}

}  // namespace closeloop::ingest
