#include "ingest/json_error.h"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ingest/utf8.h"

namespace closeloop::ingest {
namespace {

// The parser's error shapes (converter::ErrorListener in protobuf 3.21):
//   syntax:        "<what>\n<input excerpt>\n^"
//   unknown key:   "[(<path>) ]<key>: Cannot find field."
//   list:          "[(<path>) ]<key>: Proto field is not repeating, cannot start list."
//   bad value:     "[(<path>)]: invalid value <value> for type <type>"
// <path> holds field names, dots and [indexes] only; <key> and <value> are
// input, so they are found by the fixed text around them.
constexpr std::string_view kCannotFindField = ": Cannot find field.";
constexpr std::string_view kNotRepeating = ": Proto field is not repeating, cannot start list.";
constexpr std::string_view kNoName = ": Proto fields must have a name.";
constexpr std::string_view kInvalidValue = ": invalid value ";
constexpr std::string_view kForType = " for type ";
constexpr std::string_view kScalarObject = "Starting an object on a scalar field";
constexpr std::string_view kTimeFormat = "Invalid time format: ";
constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com/";
constexpr std::string_view kTimeExample = "2024-03-01T10:00:00Z";

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '[' || c == ']';
}

struct Located {
  std::string_view path;  // empty at the root
  std::string_view rest;
};

Located SplitLocation(std::string_view message) {
  if (message.starts_with('(')) {
    const size_t close = message.find(')');
    if (close != std::string_view::npos) {
      const std::string_view path = message.substr(1, close - 1);
      if (std::all_of(path.begin(), path.end(), IsPathChar)) {
        std::string_view rest = message.substr(close + 1);
        if (rest.starts_with(' ')) rest.remove_prefix(1);
        return {path, rest};
      }
    }
  }
  return {{}, message};
}

std::string Join(std::string_view path, std::string_view name) {
  if (path.empty()) return std::string(name);
  return fmt::format("{}.{}", path, name);
}

Rejection Reject(Reason reason, std::string field, std::string message) {
  return Rejection{reason, std::move(field), std::move(message)};
}

// "ONE_TIME, MILESTONES or RECURRING": the names a person may write.
std::string EnumNames(const google::protobuf::EnumDescriptor& type) {
  std::string names;
  for (int i = 0, n = type.value_count(); i < n; ++i) {
    const std::string& name = type.value(i)->name();
    if (name.ends_with("_UNSPECIFIED")) continue;
    if (!names.empty()) names.append(i + 1 == n ? " or " : ", ");
    names.append(name);
  }
  return names;
}

std::string_view Expected(std::string_view type) {
  if (type == "TYPE_INT64") return "an integer from -2^63 to 2^63-1";
  if (type == "TYPE_INT32") return "an integer from -2^31 to 2^31-1";
  if (type == "TYPE_STRING") return "a string";
  if (type == "TYPE_BOOL") return "true or false";
  return "a value of another type";
}

Rejection BadValue(std::string_view path, std::string_view body) {
  const size_t for_type = body.rfind(kForType);
  const std::string_view value = body.substr(0, for_type);
  const std::string_view type = for_type == std::string_view::npos
                                    ? std::string_view()
                                    : body.substr(for_type + kForType.size());
  if (value.starts_with(kScalarObject)) {
    // Here protobuf names the field where the type would be.
    std::string field = Join(path, type);
    std::string message =
        fmt::format("field {} is a JSON object where the contract has a single value", field);
    return Reject(Reason::kWrongType, std::move(field), std::move(message));
  }
  const std::string field(path);
  if (value.starts_with("Field '")) {  // a google.protobuf.Timestamp
    const size_t text = value.find(kTimeFormat);
    if (text != std::string_view::npos) {
      return Reject(
          Reason::kUnparseableTime, field,
          fmt::format("field {} is \"{}\", which is not an RFC 3339 time as closeloop reads "
                      "them (upper-case T, and Z or a +hh:mm offset) such as {}",
                      field, Excerpt(value.substr(text + kTimeFormat.size())), kTimeExample));
    }
    return Reject(Reason::kWrongType, field,
                  fmt::format("field {} must be a string holding an RFC 3339 time such as {}",
                              field, kTimeExample));
  }
  if (type.starts_with(kTypeUrlPrefix)) {
    const auto* enum_type = google::protobuf::DescriptorPool::generated_pool()->FindEnumTypeByName(
        std::string(type.substr(kTypeUrlPrefix.size())));
    if (enum_type != nullptr && value.starts_with('"')) {
      return Reject(Reason::kUnknownEnum, field,
                    fmt::format("field {} is {}, which is not one of {}", field, Excerpt(value),
                                EnumNames(*enum_type)));
    }
    if (enum_type != nullptr) {
      return Reject(Reason::kWrongType, field,
                    fmt::format("field {} is {}; it must be one of {}", field, Excerpt(value),
                                EnumNames(*enum_type)));
    }
    return Reject(Reason::kWrongType, field,
                  fmt::format("field {} is {}; it must be a JSON object", field, Excerpt(value)));
  }
  return Reject(
      Reason::kWrongType, field,
      fmt::format("field {} is {}; it must be {}", field, Excerpt(value), Expected(type)));
}

// protobuf's JSON name of a field name: underscores dropped, the letter
// after each one upper-cased ("amount_minor" -> "amountMinor"). Both
// spellings of a field give the same name.
std::string JsonName(std::string_view key) {
  std::string name;
  name.reserve(key.size());
  bool upper = false;
  for (char c : key) {
    if (c == '_') {
      upper = true;
      continue;
    }
    name.push_back(upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    upper = false;
  }
  return name;
}

// A SAX handler that stops at the first object naming a field twice. Each
// open object keeps its keys and checks them when it closes (sorted, so a
// hostile object with many keys costs n log n, not n^2); the path of objects
// and list indexes leading to it names the field as ClassifyJsonError does
// ("billing_plan.milestones[1].due_time").
class DuplicateFinder : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::optional<std::string> found;

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override { return Value(); }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override {
    frames_.push_back({});
    return true;
  }
  bool key(string_t& key) override {
    frames_.back().names.push_back({JsonName(key), key});
    return true;
  }
  bool end_object() override {
    std::vector<std::pair<std::string, std::string>>& names = frames_.back().names;
    std::stable_sort(names.begin(), names.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto twice =
        std::adjacent_find(names.begin(), names.end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; });
    if (twice != names.end()) {
      found = Join(PathTo(frames_.size() - 1), twice->second);
      return false;
    }
    frames_.pop_back();
    return Value();
  }
  bool start_array(std::size_t) override {
    frames_.push_back({.array = true});
    return true;
  }
  bool end_array() override {
    frames_.pop_back();
    return Value();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  struct Frame {
    bool array = false;
    size_t index = 0;  // a list's next element
    // An object's keys so far, the current one last: (JSON name, as written).
    std::vector<std::pair<std::string, std::string>> names;
  };
  // A value ended: the next one in a list has the next index.
  bool Value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    return true;
  }
  // The path of the value the frames below `depth` lead to.
  std::string PathTo(size_t depth) const {
    std::string path;
    for (size_t i = 0; i < depth; ++i) {
      if (frames_[i].array) {
        path += fmt::format("[{}]", frames_[i].index);
      } else {
        path = Join(path, frames_[i].names.back().second);
      }
    }
    return path;
  }
  std::vector<Frame> frames_;
};

}  // namespace

std::optional<Rejection> DuplicateFieldIn(std::string_view json) {
  DuplicateFinder finder;
  nlohmann::json::sax_parse(json, &finder, nlohmann::json::input_format_t::json, true);
  if (!finder.found) return std::nullopt;
  std::string field = Excerpt(*finder.found, kMaxFieldNameBytes);
  std::string message = fmt::format(
      "field {} is given more than once in one JSON object (as written, or once in snake_case "
      "and once in camelCase); readers may keep different values, so the record is refused",
      field);
  return Reject(Reason::kDuplicateField, std::move(field), std::move(message));
}

Rejection ClassifyJsonError(std::string_view status_message) {
  const auto [path, rest] = SplitLocation(status_message);
  if (rest.ends_with(kCannotFindField)) {
    // The key is input: keep what lands in DLQ headers short.
    std::string field = Excerpt(Join(path, rest.substr(0, rest.size() - kCannotFindField.size())),
                                kMaxFieldNameBytes);
    std::string message = fmt::format(
        "the record has a field {}, which the contract does not define (names are "
        "snake_case or camelCase)",
        field);
    return Reject(Reason::kUnknownField, std::move(field), std::move(message));
  }
  if (rest.ends_with(kNoName)) {
    return Reject(Reason::kUnknownField, std::string(path),
                  "the record has a field with an empty name");
  }
  if (rest.ends_with(kNotRepeating)) {
    std::string field =
        Excerpt(Join(path, rest.substr(0, rest.size() - kNotRepeating.size())), kMaxFieldNameBytes);
    std::string message =
        fmt::format("field {} is a JSON list where the contract has a single value", field);
    return Reject(Reason::kWrongType, std::move(field), std::move(message));
  }
  if (rest.starts_with(kInvalidValue)) return BadValue(path, rest.substr(kInvalidValue.size()));

  const std::string_view first_line = status_message.substr(0, status_message.find('\n'));
  if (first_line.find("Root element must be a message") != std::string_view::npos) {
    return Reject(Reason::kMalformedJson, "", "the record is JSON but not a JSON object");
  }
  if (first_line.find("surrogate") != std::string_view::npos ||
      first_line.find("UTF-8") != std::string_view::npos) {
    return Reject(Reason::kInvalidUtf8, "",
                  fmt::format("the JSON text is not valid Unicode ({})", first_line));
  }
  return Reject(Reason::kMalformedJson, "",
                fmt::format("the record is not valid JSON ({})", first_line));
}

}  // namespace closeloop::ingest
