#include "app/sample_debezium.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <map>
#include <nlohmann/json.hpp>

#include "ingest/normalize.h"
#include "matcher/money.h"

namespace closeloop::app {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::util::TimeUtil;
using nlohmann::json;

constexpr int kDecimalScale = 4;  // NUMERIC(18,4)

enum class MoneyEncoding { kBytes, kString, kDouble };

MoneyEncoding EncodingOf(const std::string& kind) {
  if (kind == "orders") return MoneyEncoding::kString;
  if (kind == "invoices") return MoneyEncoding::kDouble;
  return MoneyEncoding::kBytes;
}

// Column of a canonical field: tenant_id -> tenant, <kind>_id -> id,
// amount_minor -> amount; the rest keep their names.
std::string ColumnOf(const std::string& kind, const std::string& field) {
  if (field == "tenant_id") return "tenant";
  if (field == "amount_minor") return "amount";
  if (field == kind.substr(0, kind.size() - 1) + "_id") return "id";
  return field;
}

json Col(const std::string& field, const std::string& type, const std::string& name = "",
         json params = nullptr) {
  json c = {{"type", type}, {"optional", field != "id" && field != "tenant"}};
  if (!name.empty()) {
    c["name"] = name;
    c["version"] = 1;
  }
  if (!params.is_null()) c["parameters"] = params;
  c["field"] = field;
  return c;
}

std::string Base64(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// The unscaled value as Kafka Connect DECIMAL bytes: minimal big-endian two's complement.
std::string DecimalBytes(int64_t unscaled) {
  std::string bytes;
  for (int i = 7; i >= 0; --i)
    bytes += static_cast<char>((static_cast<uint64_t>(unscaled) >> (8 * i)) & 0xFF);
  while (bytes.size() > 1) {
    const auto b0 = static_cast<unsigned char>(bytes[0]);
    const auto b1 = static_cast<unsigned char>(bytes[1]);
    if ((b0 == 0x00 && !(b1 & 0x80)) || (b0 == 0xFF && (b1 & 0x80))) {
      bytes.erase(0, 1);
    } else {
      break;
    }
  }
  return bytes;
}

// "123.45" from 12345 minor units with `digits` decimals.
std::string MajorText(int64_t minor, int digits) {
  const bool negative = minor < 0;
  std::string s = std::to_string(negative ? -minor : minor);
  if (digits > 0) {
    if (s.size() <= static_cast<size_t>(digits)) s.insert(0, digits - s.size() + 1, '0');
    s.insert(s.size() - digits, ".");
  }
  return (negative ? "-" : "") + s;
}

int64_t Pow10(int n) {
  int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

// The time logical type of each time column.
const char* TimeTypeOf(const std::string& field) {
  if (field == "close_time") return "io.debezium.time.MicroTimestamp";
  if (field == "issue_time") return "io.debezium.time.ZonedTimestamp";
  return "io.debezium.time.Timestamp";
}

bool IsTime(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_MESSAGE &&
         f->message_type()->full_name() == "google.protobuf.Timestamp";
}

// The row of one document and its column schemas.
void Row(const std::string& kind, const Message& doc, json& row, json& columns) {
  const Reflection* r = doc.GetReflection();
  const auto* d = doc.GetDescriptor();
  std::string currency;
  if (const FieldDescriptor* c = d->FindFieldByName("currency")) currency = r->GetString(doc, c);
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->name() == "event_time") continue;  // source.ts_ms carries it
    const std::string col = ColumnOf(kind, f->name());
    const bool present = f->has_presence() ? r->HasField(doc, f) : true;
    if (f->name() == "amount_minor") {
      const int digits = matcher::MinorDigits(currency);
      const int64_t minor = r->GetInt64(doc, f);
      switch (EncodingOf(kind)) {
        case MoneyEncoding::kBytes:
          columns.push_back(
              Col(col, "bytes", "org.apache.kafka.connect.data.Decimal",
                  {{"scale", std::to_string(kDecimalScale)}, {"connect.decimal.precision", "18"}}));
          row[col] = present ? json(Base64(DecimalBytes(minor * Pow10(kDecimalScale - digits))))
                             : json(nullptr);
          break;
        case MoneyEncoding::kString:
          columns.push_back(Col(col, "string"));
          row[col] = present ? json(MajorText(minor, digits)) : json(nullptr);
          break;
        case MoneyEncoding::kDouble:
          columns.push_back(Col(col, "double"));
          row[col] = present ? json(std::stod(MajorText(minor, digits))) : json(nullptr);
          break;
      }
      continue;
    }
    if (IsTime(f)) {
      const std::string type = TimeTypeOf(f->name());
      const bool zoned = type == "io.debezium.time.ZonedTimestamp";
      columns.push_back(Col(col, zoned ? "string" : "int64", type));
      if (!r->HasField(doc, f)) {
        row[col] = nullptr;
        continue;
      }
      const auto& ts = static_cast<const google::protobuf::Timestamp&>(r->GetMessage(doc, f));
      if (zoned) {
        row[col] = TimeUtil::ToString(ts);
      } else if (type == "io.debezium.time.MicroTimestamp") {
        row[col] = TimeUtil::TimestampToMicroseconds(ts);
      } else {
        row[col] = TimeUtil::TimestampToMilliseconds(ts);
      }
      continue;
    }
    switch (f->type()) {
      case FieldDescriptor::TYPE_STRING: {
        columns.push_back(Col(col, "string"));
        const std::string v = r->GetString(doc, f);
        row[col] = v.empty() ? json(nullptr) : json(v);
        break;
      }
      case FieldDescriptor::TYPE_INT32:
        columns.push_back(Col(col, "int32"));
        row[col] = present ? json(r->GetInt32(doc, f)) : json(nullptr);
        break;
      case FieldDescriptor::TYPE_ENUM: {
        columns.push_back(Col(col, "string"));
        const int v = r->GetEnumValue(doc, f);
        row[col] = v == 0 ? json(nullptr) : json(f->enum_type()->FindValueByNumber(v)->name());
        break;
      }
      case FieldDescriptor::TYPE_MESSAGE: {  // billing_plan, as a JSON column
        columns.push_back(Col(col, "string", "io.debezium.data.Json"));
        if (!r->HasField(doc, f)) {
          row[col] = nullptr;
          break;
        }
        std::string text;
        google::protobuf::util::JsonPrintOptions options;
        options.preserve_proto_field_names = true;
        (void)google::protobuf::util::MessageToJsonString(r->GetMessage(doc, f), &text, options);
        row[col] = text;
        break;
      }
      default:
        break;
    }
  }
}

json WithField(json schema, const std::string& field) {
  schema["field"] = field;
  return schema;
}

}  // namespace

std::vector<DebeziumRecord> RenderDebezium(const SampleCompany& company) {
  std::vector<DebeziumRecord> out;
  std::map<std::string, json> last;  // topic kind + key -> the row's last version
  int64_t lsn = 24'000'000;
  for (const v1::Event& e : company.events) {
    const Message* doc = PayloadOf(e);
    if (doc == nullptr) continue;
    const std::string kind = TopicKindOf(e);
    json row = json::object(), columns = json::array();
    Row(kind, *doc, row, columns);
    const std::string table = kind;
    const json key_payload = {{"tenant", row["tenant"]}, {"id", row["id"]}};
    const json key = {{"schema",
                       {{"type", "struct"},
                        {"fields", {Col("tenant", "string"), Col("id", "string")}},
                        {"optional", false},
                        {"name", "sample.public." + table + ".Key"}}},
                      {"payload", key_payload}};
    const int64_t ts = ingest::EventTimeOf(e).time_since_epoch().count();
    const std::string id = kind + "\n" + key_payload.dump();
    auto prev = last.find(id);
    const json value_schema = {{"type", "struct"},
                               {"fields", columns},
                               {"optional", true},
                               {"name", "sample.public." + table + ".Value"}};
    lsn += 216;
    const json value = {
        {"schema",
         {{"type", "struct"},
          {"fields",
           {WithField(value_schema, "before"),
            WithField(value_schema, "after"),
            {{"type", "struct"},
             {"fields",
              {Col("version", "string"), Col("connector", "string"), Col("name", "string"),
               Col("ts_ms", "int64"), Col("db", "string"), Col("schema", "string"),
               Col("table", "string"), Col("lsn", "int64")}},
             {"optional", false},
             {"name", "io.debezium.connector.postgresql.Source"},
             {"field", "source"}},
            Col("op", "string"),
            Col("ts_ms", "int64")}},
          {"optional", false},
          {"name", "sample.public." + table + ".Envelope"}}},
        {"payload",
         {{"before", prev == last.end() ? json(nullptr) : prev->second},
          {"after", row},
          {"source",
           {{"version", "2.5.4.Final"},
            {"connector", "postgresql"},
            {"name", "sample"},
            {"ts_ms", ts},
            {"db", "sample"},
            {"schema", "public"},
            {"table", table},
            {"lsn", lsn}}},
          {"op", prev == last.end() ? "c" : "u"},
          {"ts_ms", ts + 150}}}};
    last[id] = row;
    out.push_back({kind, key.dump(), value.dump()});
  }
  return out;
}

std::string DebeziumTopicsYaml() {
  std::string yaml = "topics:\n";
  const std::vector<std::pair<std::string, const google::protobuf::Descriptor*>> kinds = {
      {"deals", v1::Deal::descriptor()},
      {"orders", v1::Order::descriptor()},
      {"invoices", v1::Invoice::descriptor()},
      {"payments", v1::Payment::descriptor()}};
  for (const auto& [kind, d] : kinds) {
    yaml += "  " + kind + ":\n    name: sample." + kind + "\n    format: debezium\n    mapping:\n";
    for (int i = 0; i < d->field_count(); ++i) {
      const std::string field = d->field(i)->name();
      if (field == "event_time") continue;
      const std::string name = field == "amount_minor" ? "amount" : field;
      yaml += "      " + name + ": " + ColumnOf(kind, field) + "\n";
    }
  }
  return yaml;
}

}  // namespace closeloop::app
