#include "ingest/mapping.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>

#include "closeloop/v1/events.pb.h"
#include "ingest/currency.h"
#include "ingest/map_record.h"

namespace closeloop::ingest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// The id field of each document type.
const char* IdField(DocType type) {
  switch (type) {
    case DocType::kDeal:
      return "deal_id";
    case DocType::kOrder:
      return "order_id";
    case DocType::kInvoice:
      return "invoice_id";
    case DocType::kPayment:
      return "payment_id";
    case DocType::kCommand:
      break;
  }
  return "";
}

bool IsTimeField(const FieldDescriptor* f) {
  return f != nullptr && f->type() == FieldDescriptor::TYPE_MESSAGE &&
         f->message_type()->full_name() == "google.protobuf.Timestamp";
}

bool IsEnumValue(const FieldDescriptor* f, const std::string& name) {
  return f->enum_type()->FindValueByName(name) != nullptr && !name.ends_with("_UNSPECIFIED");
}

// What is wrong with the constant `name` of `mapping` writes into every record
// of its topic, if anything: converted as each record's value is (a time, a
// decimal, a whole number, a billing plan), then an enum name, an id or
// tenant that is not empty, an amount that is not negative. Found at start,
// not by every record on the DLQ.
std::optional<std::string> CheckConstant(DocType type, const Mapping& mapping,
                                         const std::string& name, const FieldDescriptor* f) {
  const FieldSource& source = mapping.fields.at(name);
  Mapping one;
  one.fields[name] = source;
  if (name == "amount") {
    // Its minor digits come from the currency: the mapping's constant, else
    // one of three digits, which takes any amount a currency can.
    const auto currency = mapping.fields.find("currency");
    const bool constant = currency != mapping.fields.end() && currency->second.constant;
    one.fields["currency"] = FieldSource{.constant = constant ? *currency->second.constant : "BHD"};
  }
  const auto mapped = MapRecord(type, one, nlohmann::json::object(), MapContext{});
  if (const auto* r = std::get_if<Rejection>(&mapped)) return r->message;
  const nlohmann::json& out = std::get<nlohmann::json>(mapped);
  const std::string field = name == "amount" ? "amount_minor" : name;
  if (!out.contains(field)) return std::nullopt;
  const nlohmann::json& v = out.at(field);
  if (f->type() == FieldDescriptor::TYPE_ENUM && !IsEnumValue(f, v.get<std::string>())) {
    return "\"" + v.get<std::string>() + "\" is not a value of " + name;
  }
  if ((name == "tenant_id" || name == IdField(type)) && v == "") {
    return "must not be empty: it would be missing from every record";
  }
  if (v.is_number_integer() && v.get<int64_t>() < 0 && field == "amount_minor") {
    return "must not be negative: every record would go to the DLQ as negative_amount";
  }
  return std::nullopt;
}

}  // namespace

const google::protobuf::Descriptor* DescriptorOf(DocType type) {
  switch (type) {
    case DocType::kDeal:
      return v1::Deal::descriptor();
    case DocType::kOrder:
      return v1::Order::descriptor();
    case DocType::kInvoice:
      return v1::Invoice::descriptor();
    case DocType::kPayment:
      return v1::Payment::descriptor();
    case DocType::kCommand:
      break;
  }
  return nullptr;
}

std::optional<std::string> CheckPath(std::string_view path) {
  if (path.empty()) return "the path is empty";
  int stars = 0;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('.', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    const size_t bracket = segment.find('[');
    const std::string_view key = segment.substr(0, bracket);
    if (key.empty()) return "path \"" + std::string(path) + "\" has an empty key";
    if (key.find(']') != std::string_view::npos) {
      return "path \"" + std::string(path) + "\" has a ']' without '['";
    }
    std::string_view rest = bracket == std::string_view::npos ? "" : segment.substr(bracket);
    while (!rest.empty()) {
      const size_t close = rest.find(']');
      if (rest.front() != '[' || close == std::string_view::npos || close == 1) {
        return "path \"" + std::string(path) + "\": expected [N] or [*] after \"" +
               std::string(key) + "\"";
      }
      const std::string_view inside = rest.substr(1, close - 1);
      if (inside == "*") {
        ++stars;
      } else if (!std::all_of(inside.begin(), inside.end(),
                              [](char c) { return c >= '0' && c <= '9'; }) ||
                 inside.size() > 9) {
        return "path \"" + std::string(path) + "\": \"[" + std::string(inside) +
               "]\" is not a list index (a number or *)";
      }
      rest.remove_prefix(close + 1);
    }
    start = end + 1;
  }
  if (stars > 1) return "path \"" + std::string(path) + "\" has more than one [*]";
  return std::nullopt;
}

std::vector<std::string> MappableFields(DocType type) {
  std::vector<std::string> out;
  const Descriptor* d = DescriptorOf(type);
  if (d == nullptr) return out;
  for (int i = 0; i < d->field_count(); ++i) out.push_back(d->field(i)->name());
  if (d->FindFieldByName("amount_minor") != nullptr) out.push_back("amount");
  return out;
}

std::optional<MappingError> CheckMapping(DocType type, const Mapping& mapping) {
  const Descriptor* d = DescriptorOf(type);
  if (d == nullptr) return MappingError{"", "the commands topic takes no mapping"};
  const std::vector<std::string> known = MappableFields(type);
  for (const auto& [name, source] : mapping.fields) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return MappingError{name, "not a field of the canonical document; expected one of: " + list};
    }
    if (source.constant && !source.path.empty()) {
      return MappingError{name, "give a path or a value, not both"};
    }
    if (!source.constant) {
      if (auto problem = CheckPath(source.path)) return MappingError{name, *problem};
    }
    const FieldDescriptor* f = d->FindFieldByName(name == "amount" ? "amount_minor" : name);
    if (source.scale && name != "amount") {
      return MappingError{name, "scale applies only to amount (a decimal in major units)"};
    }
    if (source.scale && (*source.scale < 0 || *source.scale > 18)) {
      return MappingError{name, "scale must be between 0 and 18"};
    }
    if (source.time_unit && !IsTimeField(f)) {
      return MappingError{name, "time_unit applies only to time fields"};
    }
    if (!source.values.empty() && f->type() != FieldDescriptor::TYPE_STRING &&
        f->type() != FieldDescriptor::TYPE_ENUM) {
      return MappingError{name, "values applies only to text and enum fields"};
    }
    if (f->type() == FieldDescriptor::TYPE_ENUM) {
      for (const auto& [from, to] : source.values) {
        if (!IsEnumValue(f, to)) {
          return MappingError{
              name, "\"" + to + "\" (for source value \"" + from + "\") is not a value of " + name};
        }
      }
    }
    // A currency the mapping writes itself is known now: a typo would send
    // every record of the topic to the DLQ as bad_currency.
    if (name == "currency") {
      if (source.constant && !IsIsoCurrency(*source.constant)) {
        return MappingError{name, "\"" + *source.constant + "\" is not an ISO 4217 currency code"};
      }
      for (const auto& [from, to] : source.values) {
        if (!IsIsoCurrency(to)) {
          return MappingError{name, "\"" + to + "\" (for source value \"" + from +
                                        "\") is not an ISO 4217 currency code"};
        }
      }
    }
    if (source.constant) {
      if (auto problem = CheckConstant(type, mapping, name, f)) return MappingError{name, *problem};
    }
  }
  if (mapping.fields.contains("amount") && mapping.fields.contains("amount_minor")) {
    return MappingError{"amount", "map amount (major units) or amount_minor, not both"};
  }
  if (!mapping.fields.contains("tenant_id")) {
    return MappingError{"tenant_id", "must be mapped (a path, or {value: TENANT})"};
  }
  if (!mapping.fields.contains(IdField(type))) {
    return MappingError{IdField(type), "must be mapped: it identifies the document"};
  }
  if (mapping.won_when) {
    if (type != DocType::kDeal) return MappingError{"won_when", "applies only to the deals topic"};
    if (auto problem = CheckPath(mapping.won_when->path)) {
      return MappingError{"won_when", *problem};
    }
    if (mapping.won_when->any_of.empty()) {
      return MappingError{"won_when", "needs equals: VALUE or in: [VALUES]"};
    }
    if (mapping.won_when->won_stage.empty()) {
      return MappingError{"won_when", "won_stage must not be empty"};
    }
  } else if (type == DocType::kDeal && !mapping.fields.contains("stage")) {
    return MappingError{"stage", "must be mapped unless won_when says when a deal is won"};
  }
  return std::nullopt;
}

}  // namespace closeloop::ingest
