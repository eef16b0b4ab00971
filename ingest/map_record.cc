#include "ingest/map_record.h"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "closeloop/v1/events.pb.h"
#include "ingest/utf8.h"
#include "matcher/money.h"
#include "matcher/tenant.h"

namespace closeloop::ingest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

// The largest DECIMAL scale DecimalBytesToText reads (SQL's precision limit).
constexpr int64_t kMaxDecimalScale = 38;

Rejection Unmappable(const std::string& field, std::string message) {
  return Rejection{Reason::kUnmappable, field, std::move(message)};
}

// "Id" or "the value \"acme\"", for messages.
std::string SourceName(const FieldSource& source) {
  return source.constant ? "the value \"" + *source.constant + "\"" : "source path " + source.path;
}

// One path segment: a key and the list indexes after it (-1 for [*]).
struct Segment {
  std::string key;
  std::vector<int> indexes;
};

std::vector<Segment> ParsePath(std::string_view path) {  // REQUIRES: CheckPath(path) passed
  std::vector<Segment> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('.', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view s = path.substr(start, end - start);
    const size_t bracket = std::min(s.find('['), s.size());
    Segment seg{std::string(s.substr(0, bracket)), {}};
    for (size_t i = bracket; i < s.size();) {
      const size_t close = s.find(']', i);
      const std::string_view inside = s.substr(i + 1, close - i - 1);
      seg.indexes.push_back(inside == "*" ? -1 : std::stoi(std::string(inside)));
      i = close + 1;
    }
    out.push_back(std::move(seg));
    start = end + 1;
  }
  return out;
}

void Collect(const json& node, const std::vector<Segment>& path, size_t seg, size_t index,
             std::vector<const json*>& out) {
  if (seg == path.size()) {
    if (!node.is_null()) out.push_back(&node);
    return;
  }
  const Segment& s = path[seg];
  if (index == 0) {
    if (!node.is_object()) return;
    auto it = node.find(s.key);
    if (it == node.end()) return;
    if (s.indexes.empty()) return Collect(*it, path, seg + 1, 0, out);
    return Collect(*it, path, seg, 1, out);
  }
  if (index > s.indexes.size()) return Collect(node, path, seg + 1, 0, out);
  if (!node.is_array()) return;
  const int want = s.indexes[index - 1];
  if (want >= 0) {
    if (static_cast<size_t>(want) < node.size()) Collect(node[want], path, seg, index + 1, out);
    return;
  }
  for (const json& item : node) Collect(item, path, seg, index + 1, out);
}

// The text of a scalar: strings as they are, numbers in their shortest exact
// form, booleans as true/false; nullopt for objects and lists.
std::optional<std::string> ScalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return std::nullopt;
}

// A JSON whole number as int64; nullopt for other values and for numbers
// past int64, which nlohmann keeps unsigned and get<int64_t>() would wrap.
std::optional<int64_t> Int64Of(const json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  if (v.is_number_unsigned() &&
      v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  return v.get<int64_t>();
}

std::string Describe(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// The value at `source` in `row`: null when absent; a rejection when a [*]
// path finds values that disagree.
std::variant<json, Rejection> Resolve(const std::string& field, const FieldSource& source,
                                      const json& row) {
  if (source.constant) return json(*source.constant);
  std::vector<const json*> found;
  Collect(row, ParsePath(source.path), 0, 0, found);
  if (found.empty()) return json(nullptr);
  for (const json* v : found) {
    if (*v != *found.front()) {
      return Unmappable(
          field, fmt::format("{} has different values ({} and {}); {} takes one", source.path,
                             Describe(*found.front()), Describe(*v), field));
    }
  }
  return *found.front();
}

const ColumnSchema* SchemaOf(const FieldSource& source, const MapContext& context) {
  if (context.schema == nullptr || source.constant) return nullptr;
  const std::string first = source.path.substr(0, source.path.find_first_of(".["));
  auto it = context.schema->find(first);
  return it == context.schema->end() ? nullptr : &it->second;
}

std::variant<json, Rejection> ConvertTime(const std::string& field, const FieldSource& source,
                                          const json& v, const MapContext& context) {
  if (v.is_string()) {
    if (auto text = NormalizeTimeText(v.get<std::string>())) return json(*text);
    return Rejection{
        Reason::kUnparseableTime, field,
        fmt::format("{} ({}) is {}: not a date or time", field, SourceName(source), Describe(v))};
  }
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    return Unmappable(field, fmt::format("{} ({}) is {}: expected a time text or a whole number",
                                         field, SourceName(source), Describe(v)));
  }
  std::optional<TimeUnit> unit = TimeUnitOfSchema(SchemaOf(source, context));
  if (!unit) unit = source.time_unit;
  if (!unit) unit = context.default_time_unit;
  if (!unit) {
    return Unmappable(field,
                      fmt::format("{} ({}) is the number {} and no schema says its unit; set "
                                  "time_unit (days, millis, micros, nanos) in the mapping",
                                  field, SourceName(source), Describe(v)));
  }
  std::optional<int64_t> ms;
  if (const std::optional<int64_t> n = Int64Of(v)) ms = ToMillis(*n, *unit);
  std::optional<std::string> text = ms ? MillisToRfc3339(*ms) : std::nullopt;
  if (!text) {
    return Rejection{Reason::kUnparseableTime, field,
                     fmt::format("{} ({}) is {}: outside years 1 to 9999", field,
                                 SourceName(source), Describe(v))};
  }
  return json(*text);
}

// The decimal text of an amount: a decimal string, a number (a double in its
// shortest exact form), DECIMAL bytes in base64 with the schema's or the
// mapping's scale, or Debezium's VariableScaleDecimal {scale, value}.
std::variant<std::string, Rejection> AmountText(const std::string& field, const FieldSource& source,
                                                const json& v, const MapContext& context,
                                                int digits) {
  const ColumnSchema* schema = SchemaOf(source, context);
  auto bad = [&](const std::string& why) {
    return Unmappable(
        field, fmt::format("{} ({}) is {}: {}", field, SourceName(source), Describe(v), why));
  };
  if (v.is_object()) {
    auto scale = v.find("scale");
    auto value = v.find("value");
    if (scale == v.end() || value == v.end() || !scale->is_number_integer() ||
        !value->is_string()) {
      return bad("expected a decimal, or {scale, value} (VariableScaleDecimal)");
    }
    // Read whole: get<int>() would cut 2^32 + 2 to 2 and shift the amount.
    const int64_t digits_after_point = scale->get<int64_t>();
    if (digits_after_point < 0 || digits_after_point > kMaxDecimalScale) {
      return bad("scale is not from 0 to 38");
    }
    auto text = DecimalBytesToText(value->get<std::string>(), static_cast<int>(digits_after_point));
    if (!text) return bad("value is not base64 DECIMAL bytes");
    return *text;
  }
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // A double holds every decimal of up to 15 significant digits exactly
    // enough for its shortest text to give it back; past that (with the
    // currency's decimals counted) the text may be a neighbour, a minor unit off.
    double limit = 1e15;
    for (int i = 0; i < digits; ++i) limit /= 10;
    if (!std::isfinite(d) || std::fabs(d) >= limit) {
      return bad("out of range for a double to carry exactly (15 significant digits)");
    }
    return fmt::format("{}", d);  // the shortest text that reads back as d
  }
  if (!v.is_string()) return bad("expected a decimal");
  const std::string s = v.get<std::string>();
  // A schema of type bytes means DECIMAL bytes (its scale parameter, else the
  // mapping's); type string means decimal.handling.mode=string; no schema:
  // bytes only when the mapping gives a scale.
  std::optional<int> bytes_scale;
  if (schema == nullptr) {
    bytes_scale = source.scale;
  } else if (schema->type == "bytes") {
    bytes_scale = schema->scale ? schema->scale : source.scale;
    if (!bytes_scale) return bad("DECIMAL bytes with no scale in the schema or the mapping");
  }
  if (!bytes_scale) return s;
  if (*bytes_scale < 0 || *bytes_scale > kMaxDecimalScale) {
    return bad("the DECIMAL scale is not from 0 to 38");
  }
  auto text = DecimalBytesToText(s, *bytes_scale);
  if (!text) return bad("not base64 DECIMAL bytes");
  return *text;
}

bool IsTime(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_MESSAGE &&
         f->message_type()->full_name() == "google.protobuf.Timestamp";
}

}  // namespace

std::variant<json, Rejection> MapRecord(DocType type, const Mapping& mapping, const json& row,
                                        const MapContext& context) {
  const Descriptor* d = DescriptorOf(type);
  json out = json::object();
  // Currency first: the amount needs its minor digits.
  std::vector<std::string> order;
  if (mapping.fields.contains("currency")) order.push_back("currency");
  for (const auto& [name, source] : mapping.fields) {
    if (name != "currency") order.push_back(name);
  }
  for (const std::string& name : order) {
    const FieldSource& source = mapping.fields.at(name);
    auto resolved = Resolve(name, source, row);
    if (auto* r = std::get_if<Rejection>(&resolved)) return std::move(*r);
    json v = std::get<json>(std::move(resolved));
    if (v.is_null()) continue;
    if (!source.values.empty()) {
      const std::optional<std::string> text = ScalarText(v);
      auto it = text ? source.values.find(*text) : source.values.end();
      if (it == source.values.end()) {
        return Unmappable(name, fmt::format("{} ({}) is {}, which the mapping's values do not list",
                                            name, SourceName(source), Describe(v)));
      }
      v = it->second;
    }
    if (name == "amount") {
      if (!out.contains("currency") || !out["currency"].is_string()) {
        return Unmappable(name, fmt::format("{} ({}) needs a currency to count minor units in",
                                            name, SourceName(source)));
      }
      const std::string currency = out["currency"].get<std::string>();
      auto text = AmountText(name, source, v, context, matcher::MinorDigits(currency));
      if (auto* r = std::get_if<Rejection>(&text)) return std::move(*r);
      auto minor = DecimalToMinor(std::get<std::string>(text), matcher::MinorDigits(currency));
      if (auto* why = std::get_if<std::string>(&minor)) {
        return Unmappable(
            name, fmt::format("{} ({}) in {}: {}", name, SourceName(source), currency, *why));
      }
      out["amount_minor"] = std::get<int64_t>(minor);
      continue;
    }
    const FieldDescriptor* f = d->FindFieldByName(name);
    if (IsTime(f)) {
      auto t = ConvertTime(name, source, v, context);
      if (auto* r = std::get_if<Rejection>(&t)) return std::move(*r);
      out[name] = std::get<json>(std::move(t));
      continue;
    }
    switch (f->type()) {
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_INT64: {
        std::optional<int64_t> n = Int64Of(v);
        if (v.is_string()) n = ParseWholeNumber(v.get<std::string>());
        if (!n) {
          return Unmappable(name, fmt::format("{} ({}) is {}: expected a whole number", name,
                                              SourceName(source), Describe(v)));
        }
        out[name] = *n;
        break;
      }
      case FieldDescriptor::TYPE_MESSAGE: {  // billing_plan: an object, or JSON text of one
        json plan = v;
        if (v.is_string()) plan = json::parse(v.get<std::string>(), nullptr, false);
        if (!plan.is_object()) {
          return Unmappable(name, fmt::format("{} ({}) is {}: expected a {} object", name,
                                              SourceName(source), Describe(v), name));
        }
        out[name] = std::move(plan);
        break;
      }
      default: {  // text and enums
        std::optional<std::string> text = ScalarText(v);
        if (!text) {
          return Unmappable(name, fmt::format("{} ({}) is {}: expected text", name,
                                              SourceName(source), Describe(v)));
        }
        out[name] = std::move(*text);
      }
    }
  }
  if (mapping.won_when) {
    const WonWhen& w = *mapping.won_when;
    std::vector<const json*> found;
    Collect(row, ParsePath(w.path), 0, 0, found);
    std::optional<std::string> text = found.empty() ? std::nullopt : ScalarText(*found.front());
    const bool won = text && std::find(w.any_of.begin(), w.any_of.end(), *text) != w.any_of.end();
    std::string stage = out.contains("stage") ? out["stage"].get<std::string>() : "";
    if (won) {
      stage = w.won_stage;
    } else if (stage.empty() || matcher::SameStage(stage, w.won_stage)) {
      stage = "Open";
    }
    out["stage"] = stage;
  }
  if (!mapping.fields.contains("event_time") && context.change_time_ms) {
    if (auto text = MillisToRfc3339(*context.change_time_ms)) out["event_time"] = *text;
  }
  return out;
}

void MarkDeleted(DocType type, json& canonical, std::optional<int64_t> time_ms) {
  switch (type) {
    case DocType::kDeal:
      canonical["stage"] = kDeletedStage;
      break;
    case DocType::kOrder:
      canonical["status"] = "CANCELLED";
      break;
    case DocType::kInvoice:
      canonical["status"] = "VOID";
      break;
    case DocType::kPayment:
      canonical["status"] = "FAILED";
      break;
    case DocType::kCommand:
      break;
  }
  if (time_ms) {
    if (auto text = MillisToRfc3339(*time_ms)) canonical["event_time"] = *text;
  }
}

std::variant<v1::Event, Rejection> DecodeCanonical(DocType type, const Mapping& mapping,
                                                   const json& canonical,
                                                   std::optional<int64_t> kafka_timestamp_ms,
                                                   const Limits& limits) {
  const std::string text = canonical.dump();
  auto decoded = Decode(type, Format::kJson, text, kafka_timestamp_ms, limits);
  if (auto* r = std::get_if<Rejection>(&decoded); r != nullptr && !r->field.empty()) {
    std::string key = r->field;
    if (key == "amount_minor" && mapping.fields.contains("amount")) key = "amount";
    auto it = mapping.fields.find(key);
    if (it != mapping.fields.end()) {
      r->message += " (" + SourceName(it->second) + ")";
    } else if (key == "stage" && mapping.won_when) {
      r->message += " (from won_when)";
    } else if (r->reason == Reason::kMissingField) {
      r->message += " (the topic's mapping has no source for it)";
    }
  }
  return decoded;
}

std::variant<nlohmann::json, Rejection> ParseSourceJson(std::string_view value,
                                                        const Limits& limits,
                                                        std::string_view what) {
  if (value.size() > limits.max_record_bytes) {
    return Rejection{Reason::kOversized, "",
                     fmt::format("the record is {} bytes, more than the limit of {}", value.size(),
                                 limits.max_record_bytes)};
  }
  // The keys of the objects being parsed, innermost last: nlohmann keeps the
  // last value of a repeated key without a word, and another reader of the
  // same record may keep the first.
  std::vector<std::unordered_set<std::string>> open;
  std::optional<std::string> repeated;
  auto watch = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open.emplace_back();
    } else if (event == Event::object_end) {
      open.pop_back();
    } else if (event == Event::key && !repeated) {
      auto [key, fresh] = open.back().insert(parsed.get<std::string>());
      if (!fresh) repeated = Excerpt(*key, kMaxFieldNameBytes);
    }
    return true;
  };
  nlohmann::json parsed = nlohmann::json::parse(value, watch, false);
  if (parsed.is_discarded()) {
    return Rejection{Reason::kMalformedJson, "", std::string(what) + " is not JSON (or not UTF-8)"};
  }
  if (repeated) {
    return Rejection{Reason::kDuplicateField, *repeated,
                     fmt::format("{} names field {} twice in one object; readers may keep "
                                 "different values, so the record is refused",
                                 what, *repeated)};
  }
  return parsed;
}

Rejection BadEnvelope(std::string message) {
  return Rejection{Reason::kBadEnvelope, "", std::move(message)};
}

}  // namespace closeloop::ingest
