#include "ingest/map_record.h"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

#include "closeloop/v1/events.pb.h"
#include "matcher/money.h"

namespace closeloop::ingest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

// Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

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

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::optional<TimeUnit> UnitOfSchema(const ColumnSchema* schema) {
  if (schema == nullptr) return std::nullopt;
  const std::string& n = schema->name;
  if (n == "io.debezium.time.Date" || n == "org.apache.kafka.connect.data.Date") {
    return TimeUnit::kDays;
  }
  if (n == "io.debezium.time.Timestamp" || n == "org.apache.kafka.connect.data.Timestamp") {
    return TimeUnit::kMillis;
  }
  if (n == "io.debezium.time.MicroTimestamp") return TimeUnit::kMicros;
  if (n == "io.debezium.time.NanoTimestamp") return TimeUnit::kNanos;
  return std::nullopt;
}

std::optional<int64_t> ToMillis(int64_t value, TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kDays:
      if (value > 3'000'000 || value < -800'000) return std::nullopt;
      return value * 86'400'000;
    case TimeUnit::kMillis:
      return value;
    case TimeUnit::kMicros:
      return FloorDiv(value, 1000);
    case TimeUnit::kNanos:
      return FloorDiv(value, 1'000'000);
  }
  return std::nullopt;
}

bool Digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A source time text as RFC 3339: accepts RFC 3339 itself, a date alone
// (midnight UTC), a space instead of 'T', a zone written +HHMM (Salesforce),
// and no zone at all (taken as UTC).
std::optional<std::string> NormalizeTimeText(std::string s) {
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') s += "T00:00:00Z";
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  if (s.size() < 19 || s[10] != 'T') return std::nullopt;
  const char last = s.back();
  const size_t n = s.size();
  if (n >= 24 && (s[n - 5] == '+' || s[n - 5] == '-') && Digits(s.substr(n - 4))) {
    s.insert(n - 2, ":");
  } else if (last != 'Z' && last != 'z' &&
             !(n >= 25 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':')) {
    s += "Z";
  }
  google::protobuf::Timestamp ts;
  if (!google::protobuf::util::TimeUtil::FromString(s, &ts)) return std::nullopt;
  return s;
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
  std::optional<TimeUnit> unit = UnitOfSchema(SchemaOf(source, context));
  if (!unit) unit = source.time_unit;
  if (!unit) unit = context.default_time_unit;
  if (!unit) {
    return Unmappable(field,
                      fmt::format("{} ({}) is the number {} and no schema says its unit; set "
                                  "time_unit (days, millis, micros, nanos) in the mapping",
                                  field, SourceName(source), Describe(v)));
  }
  std::optional<int64_t> ms;
  if (v.is_number_integer()) ms = ToMillis(v.get<int64_t>(), *unit);
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
                                                const json& v, const MapContext& context) {
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
    auto text = DecimalBytesToText(value->get<std::string>(), scale->get<int>());
    if (!text) return bad("value is not base64 DECIMAL bytes");
    return *text;
  }
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) >= 1e15) return bad("out of range");
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
  auto text = DecimalBytesToText(s, *bytes_scale);
  if (!text) return bad("not base64 DECIMAL bytes");
  return *text;
}

bool IsTime(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_MESSAGE &&
         f->message_type()->full_name() == "google.protobuf.Timestamp";
}

}  // namespace

RowSchema ReadRowSchema(const json& schema) {
  RowSchema out;
  if (!schema.is_object()) return out;
  auto fields = schema.find("fields");
  if (fields == schema.end() || !fields->is_array()) return out;
  for (const json& f : *fields) {
    if (!f.is_object() || !f.contains("field") || !f["field"].is_string()) continue;
    ColumnSchema c;
    if (f.contains("type") && f["type"].is_string()) c.type = f["type"].get<std::string>();
    if (f.contains("name") && f["name"].is_string()) c.name = f["name"].get<std::string>();
    if (f.contains("parameters") && f["parameters"].is_object()) {
      const json& p = f["parameters"];
      if (p.contains("scale")) {
        const json& s = p["scale"];
        if (s.is_string()) {
          if (auto v = ParseInt(s.get<std::string>())) c.scale = static_cast<int>(*v);
        } else if (s.is_number_integer()) {
          c.scale = s.get<int>();
        }
      }
    }
    out[f["field"].get<std::string>()] = std::move(c);
  }
  return out;
}

std::variant<int64_t, std::string> DecimalToMinor(std::string_view text, int digits) {
  std::string_view s = text;
  const bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (!Digits(whole) || (dot != std::string_view::npos && !Digits(frac))) {
    return fmt::format("\"{}\" is not a decimal number", text);
  }
  for (size_t i = static_cast<size_t>(digits); i < frac.size(); ++i) {
    if (frac[i] != '0') {
      return fmt::format("{} has more decimals than the currency's {}", text, digits);
    }
  }
  int64_t v = 0;
  auto push = [&v](int digit) {
    return !__builtin_mul_overflow(v, 10, &v) && !__builtin_add_overflow(v, digit, &v);
  };
  for (char c : whole) {
    if (!push(c - '0')) return fmt::format("{} is too large", text);
  }
  for (int i = 0; i < digits; ++i) {
    if (!push(static_cast<size_t>(i) < frac.size() ? frac[i] - '0' : 0)) {
      return fmt::format("{} is too large", text);
    }
  }
  return negative ? -v : v;
}

std::optional<std::string> DecimalBytesToText(std::string_view base64, int scale) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (scale < 0 || scale > 38 || base64.empty() || base64.size() % 4 != 0) return std::nullopt;
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < base64.size(); ++i) {
    const char c = base64[i];
    if (c == '=') {
      if (i + 2 < base64.size()) return std::nullopt;
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;
    const size_t k = kAlphabet.find(c);
    if (k == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(k);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Two's complement, big-endian; at most 8 bytes (precision up to 18 digits).
  if (bytes.empty() || bytes.size() > 8) return std::nullopt;
  uint64_t raw = (static_cast<unsigned char>(bytes[0]) & 0x80) ? ~uint64_t{0} : 0;
  for (char b : bytes) raw = (raw << 8) | static_cast<unsigned char>(b);
  const bool negative = (raw >> 63) != 0;
  uint64_t u = negative ? ~raw + 1 : raw;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u != 0);
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) {
      digits.insert(0, static_cast<size_t>(scale) - digits.size() + 1, '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  }
  return (negative ? "-" : "") + digits;
}

std::optional<std::string> MillisToRfc3339(int64_t ms) {
  const int64_t seconds = FloorDiv(ms, 1000);
  if (seconds < kMinSeconds || seconds > kMaxSeconds) return std::nullopt;
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((ms - seconds * 1000) * 1'000'000));
  return google::protobuf::util::TimeUtil::ToString(ts);
}

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
      auto text = AmountText(name, source, v, context);
      if (auto* r = std::get_if<Rejection>(&text)) return std::move(*r);
      if (!out.contains("currency") || !out["currency"].is_string()) {
        return Unmappable(name, fmt::format("{} ({}) needs a currency to count minor units in",
                                            name, SourceName(source)));
      }
      const std::string currency = out["currency"].get<std::string>();
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
        std::optional<int64_t> n;
        if (v.is_number_integer()) n = v.get<int64_t>();
        if (v.is_string()) n = ParseInt(v.get<std::string>());
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
    } else if (stage.empty() || stage == w.won_stage) {
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
  nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
  if (parsed.is_discarded()) {
    return Rejection{Reason::kMalformedJson, "", std::string(what) + " is not JSON (or not UTF-8)"};
  }
  return parsed;
}

Rejection BadEnvelope(std::string message) {
  return Rejection{Reason::kBadEnvelope, "", std::move(message)};
}

}  // namespace closeloop::ingest
