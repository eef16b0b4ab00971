// The Salesforce change data capture adapter (ingest/adapter.h). An event is
// {ChangeEventHeader: {entityName, changeType, recordIds, commitTimestamp,
// changedFields, nulledFields, ...}, <changed fields>}, at the top level, in
// "payload", or in "data.payload" (the CometD/Streaming API delivery). The
// merged source record of each entity/record id is kept in the RecordCache;
// the mapping sees it with "Id" set to the record id and the event's
// "ChangeEventHeader" beside it.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "ingest/adapter.h"
#include "ingest/map_record.h"

namespace closeloop::ingest {
namespace {

using nlohmann::json;

constexpr char kLive = 'L';
constexpr char kDeleted = 'D';

const json* FindEvent(const json& value) {
  if (!value.is_object()) return nullptr;
  if (value.contains("ChangeEventHeader")) return &value;
  for (const char* outer : {"payload", "data"}) {
    if (!value.contains(outer)) continue;
    if (const json* inner = FindEvent(value[outer])) return inner;
  }
  return nullptr;
}

std::vector<std::string> Names(const json& header, const char* key) {
  std::vector<std::string> out;
  if (!header.contains(key) || !header[key].is_array()) return out;
  for (const json& n : header[key]) {
    // Pub/Sub API events list bitmaps ("0x1F") instead of names: not usable here.
    if (n.is_string() && !n.get<std::string>().starts_with("0x")) out.push_back(n);
  }
  return out;
}

// Merges the event's changed fields onto `base`: a non-null value replaces;
// a null replaces only when changedFields or nulledFields name the field
// (Avro-decoded events carry null for every unchanged field). Compound
// fields (objects, e.g. Name) merge one level down.
void Merge(json& base, const json& event, const json& header) {
  std::vector<std::string> cleared = Names(header, "nulledFields");
  for (const std::string& n : Names(header, "changedFields")) cleared.push_back(n);
  auto named = [&](const std::string& k) {
    return std::find(cleared.begin(), cleared.end(), k) != cleared.end();
  };
  for (auto it = event.begin(); it != event.end(); ++it) {
    if (it.key() == "ChangeEventHeader") continue;
    if (it->is_null()) {
      if (named(it.key())) base[it.key()] = nullptr;
      continue;
    }
    if (it->is_object() && base.contains(it.key()) && base[it.key()].is_object()) {
      for (auto sub = it->begin(); sub != it->end(); ++sub) {
        if (!sub->is_null() || named(it.key() + "." + sub.key())) base[it.key()][sub.key()] = *sub;
      }
      continue;
    }
    base[it.key()] = *it;
  }
  for (const std::string& n : Names(header, "nulledFields")) {
    if (n.find('.') == std::string::npos) base[n] = nullptr;
  }
}

class SalesforceAdapter : public Adapter {
 public:
  SalesforceAdapter(DocType type, Mapping mapping, Limits limits, RecordCache& cache)
      : type_(type), mapping_(std::move(mapping)), limits_(limits), cache_(cache) {}

  void Adapt(const SourceRecord& record, std::vector<Adapted>& out) override {
    AdaptRefusingBadShapes("the change event", out, [&] { AdaptRecord(record, out); });
  }

 private:
  void AdaptRecord(const SourceRecord& record, std::vector<Adapted>& out) {
    if (record.tombstone || record.value.empty()) {
      out.push_back(Rejection{Reason::kEmpty, "",
                              "the record is empty (Salesforce change events are never null)"});
      return;
    }
    auto parsed = ParseSourceJson(record.value, limits_, "the change event");
    if (auto* rejected = std::get_if<Rejection>(&parsed)) {
      out.push_back(std::move(*rejected));
      return;
    }
    const json& value = std::get<json>(parsed);
    const json* event = FindEvent(value);
    if (event == nullptr || !(*event)["ChangeEventHeader"].is_object()) {
      out.push_back(BadEnvelope("no ChangeEventHeader object: not a Salesforce change event"));
      return;
    }
    const json& header = (*event)["ChangeEventHeader"];
    const std::string entity = header.value("entityName", "");
    const std::string change = header.value("changeType", "");
    std::vector<std::string> ids;
    if (header.contains("recordIds") && header["recordIds"].is_array()) {
      for (const json& id : header["recordIds"]) {
        if (id.is_string() && !id.get<std::string>().empty()) ids.push_back(id);
      }
    }
    std::string id_list;
    for (const std::string& id : ids) id_list += (id_list.empty() ? "" : ", ") + id;
    if (change == "GAP_OVERFLOW") {
      out.push_back(Rejection{Reason::kCdcGapOverflow, "",
                              fmt::format("GAP_OVERFLOW for {}: more changes than Salesforce "
                                          "sends events for; re-read the {} records",
                                          entity, entity)});
      return;
    }
    if (change.starts_with("GAP_")) {
      out.push_back(Rejection{Reason::kCdcGap, "",
                              fmt::format("{} for {} {}: the change was not sent; re-read these "
                                          "records from Salesforce",
                                          change, entity, id_list)});
      return;
    }
    // A record id is alphanumeric; "006*" (the object's key prefix and a
    // wildcard) stands for every record of the object, e.g. after a field type
    // conversion that nulled a field everywhere. Which records is not said.
    if (std::any_of(ids.begin(), ids.end(),
                    [](const std::string& id) { return id.find('*') != std::string::npos; })) {
      out.push_back(Rejection{Reason::kCdcGap, "",
                              fmt::format("{} for every {} record (recordIds {}): the changes "
                                          "were not sent one by one; re-read these records "
                                          "from Salesforce",
                                          change, entity, id_list)});
      return;
    }
    if (entity.empty() || ids.empty()) {
      out.push_back(BadEnvelope("the ChangeEventHeader lacks entityName or recordIds"));
      return;
    }
    if (change != "CREATE" && change != "UPDATE" && change != "DELETE" && change != "UNDELETE") {
      out.push_back(BadEnvelope("changeType \"" + change +
                                "\" is not CREATE, UPDATE, DELETE, UNDELETE or GAP_*"));
      return;
    }
    std::optional<int64_t> ts;
    // Past int64 nlohmann keeps the number unsigned; get<int64_t>() would wrap it.
    if (header.contains("commitTimestamp") && header["commitTimestamp"].is_number_integer() &&
        !(header["commitTimestamp"].is_number_unsigned() &&
          header["commitTimestamp"].get<uint64_t>() >
              static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
      ts = header["commitTimestamp"].get<int64_t>();
    }
    if (!ts) ts = record.kafka_timestamp_ms;
    for (const std::string& id : ids) Apply(record, *event, header, entity, change, id, ts, out);
  }

  void Apply(const SourceRecord& record, const json& event, const json& header,
             const std::string& entity, const std::string& change, const std::string& id,
             std::optional<int64_t> ts, std::vector<Adapted>& out) {
    const std::string key = std::string(record.topic) + "\n" + entity + "\n" + id;
    const std::optional<std::string> cached = cache_.Get(key);
    json base = json::object();
    const bool known = cached && !cached->empty();
    if (known) base = json::parse(cached->substr(1), nullptr, false);
    if (!base.is_object()) base = json::object();
    const MapContext context{.change_time_ms = ts, .default_time_unit = TimeUnit::kMillis};
    auto with_identity = [&](json r) {
      r["Id"] = id;
      r["ChangeEventHeader"] = header;
      return r;
    };
    if (change == "DELETE") {
      if (!known) {
        out.push_back(Rejection{Reason::kNoPreviousRecord, "",
                                fmt::format("DELETE of {} {}, which closeloop has no earlier "
                                            "record of",
                                            entity, id)});
        return;
      }
      auto mapped = MapRecord(type_, mapping_, with_identity(base), context);
      if (auto* r = std::get_if<Rejection>(&mapped)) {
        out.push_back(std::move(*r));
        return;
      }
      json canonical = std::get<json>(std::move(mapped));
      MarkDeleted(type_, canonical, ts);
      Adapted decoded =
          DecodeCanonical(type_, mapping_, canonical, record.kafka_timestamp_ms, limits_);
      if (std::holds_alternative<v1::Event>(decoded)) cache_.Put(key, kDeleted + base.dump());
      out.push_back(std::move(decoded));
      return;
    }
    // CREATE and UNDELETE carry every non-null field: they start afresh.
    if (change != "UPDATE") base = json::object();
    Merge(base, event, header);
    // A partial update of a record never seen that lacks won_when's field
    // does not say whether the deal is won; mapped, its absence would read as
    // "not won" and make an opportunity won long ago an open deal.
    if (change == "UPDATE" && !known && mapping_.won_when) {
      const std::string& path = mapping_.won_when->path;
      const std::string field = path.substr(0, path.find_first_of(".["));
      if (!base.contains(field)) {
        out.push_back(Rejection{
            Reason::kNoPreviousRecord, "stage",
            fmt::format("UPDATE of {} {}, which closeloop has no earlier record to merge onto, "
                        "does not give {} (won_when): whether the deal is won is unknown",
                        entity, id, field)});
        return;
      }
    }
    auto mapped = MapRecord(type_, mapping_, with_identity(base), context);
    Adapted decoded = std::holds_alternative<Rejection>(mapped)
                          ? Adapted(std::get<Rejection>(std::move(mapped)))
                          : DecodeCanonical(type_, mapping_, std::get<json>(mapped),
                                            record.kafka_timestamp_ms, limits_);
    const bool partial = change == "UPDATE" && !known;
    if (auto* r = std::get_if<Rejection>(&decoded); r != nullptr && partial) {
      *r = Rejection{Reason::kNoPreviousRecord, r->field,
                     fmt::format("UPDATE of {} {}, which closeloop has no earlier record to merge "
                                 "onto, does not make a whole document: {}",
                                 entity, id, r->message)};
    }
    // The source record changed whatever became of the mapping; a partial
    // update with nothing under it is kept only once it maps.
    if (!partial || std::holds_alternative<v1::Event>(decoded)) {
      const char state = cached && !cached->empty() && change == "UPDATE" ? cached->front() : kLive;
      cache_.Put(key, state + base.dump());
    }
    out.push_back(std::move(decoded));
  }

  DocType type_;
  Mapping mapping_;
  Limits limits_;
  RecordCache& cache_;
};

}  // namespace

std::unique_ptr<Adapter> MakeSalesforceAdapter(DocType type, Mapping mapping, Limits limits,
                                               RecordCache& cache) {
  return std::make_unique<SalesforceAdapter>(type, std::move(mapping), limits, cache);
}

std::unique_ptr<Adapter> MakeDebeziumAdapter(DocType type, Mapping mapping, Limits limits,
                                             RecordCache& cache);

bool IsAdapterFormat(Format format) {
  return format == Format::kDebezium || format == Format::kSalesforceCdc;
}

std::unique_ptr<Adapter> MakeAdapter(Format format, DocType type, Mapping mapping, Limits limits,
                                     RecordCache& cache) {
  if (format == Format::kSalesforceCdc) {
    return MakeSalesforceAdapter(type, std::move(mapping), limits, cache);
  }
  return MakeDebeziumAdapter(type, std::move(mapping), limits, cache);
}

}  // namespace closeloop::ingest
