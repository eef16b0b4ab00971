// The strict YAML walk under the config reader: see config_walk.h.
#include "app/config_walk.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <optional>

#include "app/listen_address.h"

namespace closeloop::app::config_walk {
namespace {

// Longest duration a field accepts: keeps event-time arithmetic far from overflow.
constexpr Duration kMaxDuration = 36500 * matcher::kDay;

}  // namespace

bool IsTopicName(const std::string& s) {
  if (s.empty() || s.size() > 249 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

ConfigError ErrorAt(const std::string& file, const YAML::Mark& mark, const std::string& field,
                    const std::string& message) {
  const bool known = !mark.is_null();  // yaml-cpp counts from 0
  return ConfigError{file, known ? mark.line + 1 : 0, known ? mark.column + 1 : 0, field, message};
}

std::string Join(const StringList& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool Contains(const StringList& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string Describe(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return node.IsScalar() ? "\"" + node.Scalar() + "\"" : "nothing";
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string ControlCharacterIn(std::string_view s, bool allow_line_feed) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && !(c == '\n' && allow_line_feed)) || c == 0x7F) {
      return "holds a control character (byte " + std::to_string(c) +
             "); config text must be printable";
    }
  }
  return "";
}

void Walker::Fail(const YAML::Mark& mark, const std::string& field,
                  const std::string& message) const {
  throw Refusal{ErrorAt(file_, mark, field, message)};
}

void Walker::Fail(const Field& f, const std::string& message) const {
  Fail(f.value.IsNull() ? f.key.Mark() : f.value.Mark(), f.path, message);
}

std::vector<Field> Walker::Entries(const Field& f, const StringList& allowed,
                                   const std::string& what) const {
  std::vector<Field> out;
  if (f.value.IsNull()) return out;
  if (!f.value.IsMap()) Fail(f, "expected a map, got " + Describe(f.value));
  std::map<std::string, int> seen;  // key -> 1-based line
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    // A copy: `it->first` lives in a proxy that dies with this statement
    // (a reference here was a stack-use-after-scope found by fuzz_config).
    const YAML::Node key = it->first;
    if (!key.IsScalar()) Fail(key.Mark(), f.path, "a " + what + " name must be plain text");
    const std::string& name = key.Scalar();
    const std::string path = f.path.empty() ? name : f.path + "." + name;
    if (std::string bad = ControlCharacterIn(name, false); !bad.empty()) {
      Fail(key.Mark(), path, "a " + what + " name " + bad);
    }
    if (!allowed.empty() && !Contains(allowed, name)) {
      Fail(key.Mark(), path, "unknown " + what + "; expected one of: " + Join(allowed));
    }
    auto [prev, inserted] = seen.emplace(name, key.Mark().line + 1);
    if (!inserted) {
      Fail(key.Mark(), path,
           "duplicate " + what + "; first given on line " + std::to_string(prev->second));
    }
    out.push_back(Field{name, path, key, it->second});
  }
  return out;
}

std::vector<Field> Walker::Apply(const Field& section, const Setters& setters) const {
  StringList names;
  for (const auto& [name, set] : setters) names.push_back(name);
  std::vector<Field> given = Entries(section, names);
  for (const Field& f : given) {
    for (const auto& [name, set] : setters) {
      if (name == f.name) set(f);
    }
  }
  return given;
}

std::vector<Field> Walker::Items(const Field& f) const {
  if (!f.value.IsSequence()) Fail(f, "expected a list, got " + Describe(f.value));
  std::vector<Field> out;
  for (size_t i = 0; i < f.value.size(); ++i) {
    const YAML::Node item = f.value[i];
    out.push_back(Field{f.name, f.path + "[" + std::to_string(i) + "]", item, item});
  }
  return out;
}

std::string Walker::Text(const Field& f, bool allow_empty) const {
  if (allow_empty && f.value.IsNull()) return "";
  if (!f.value.IsScalar()) Fail(f, "expected a string, got " + Describe(f.value));
  if (!allow_empty && f.value.Scalar().empty()) Fail(f, "must not be empty");
  if (std::string bad = ControlCharacterIn(f.value.Scalar(), true); !bad.empty()) Fail(f, bad);
  return f.value.Scalar();
}

std::string Walker::OneOf(const Field& f, const StringList& choices) const {
  std::string s = Text(f, true);
  if (!Contains(choices, s)) Fail(f, "\"" + s + "\" is not one of: " + Join(choices));
  return s;
}

std::string Walker::Topic(const Field& f, bool allow_empty) const {
  std::string s = Text(f, allow_empty);
  if (!s.empty() && !IsTopicName(s)) {
    Fail(f, "\"" + s + "\" is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)");
  }
  return s;
}

bool Walker::Bool(const Field& f) const {
  const std::string s = f.value.IsScalar() ? f.value.Scalar() : "";
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  Fail(f, "expected true or false, got " + Describe(f.value));
}

int64_t Walker::Int(const Field& f, int64_t min, int64_t max) const {
  const std::string s = f.value.IsScalar() ? f.value.Scalar() : "";
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ptr != end || ec == std::errc::invalid_argument) {
    Fail(f, "expected a whole number, got " + Describe(f.value));
  }
  if (ec == std::errc::result_out_of_range || v < min || v > max) {
    // Out of int64's range, v is unset: the sign says which end was passed.
    const bool too_large = ec == std::errc::result_out_of_range ? s.front() != '-' : v > max;
    if (max != std::numeric_limits<int64_t>::max()) {
      Fail(f, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    Fail(f, too_large ? "must be at most " + std::to_string(max)
                      : "must be at least " + std::to_string(min));
  }
  return v;
}

Duration Walker::Dur(const Field& f, bool allow_zero) const {
  const std::string s = f.value.IsScalar() ? f.value.Scalar() : "";
  if (IsDigits(s)) Fail(f, "a duration needs a unit: write " + s + "s, " + s + "d, ...");
  std::optional<Duration> d = ParseDuration(s);
  const std::string too_long = "must be at most " + FormatDuration(kMaxDuration);
  if (!d) {
    // Digits and a unit that ParseDuration refused: more milliseconds than int64 holds.
    const size_t unit_at = s.find_first_not_of("0123456789");
    if (unit_at != 0 && unit_at != std::string::npos &&
        Contains({"ms", "s", "m", "h", "d", "w"}, s.substr(unit_at))) {
      Fail(f, too_long);
    }
    Fail(f, "expected a duration: a whole number and one of ms, s, m, h, d, w (e.g. 3d), got " +
                Describe(f.value));
  }
  if (*d > kMaxDuration) Fail(f, too_long);
  if (!allow_zero && d->count() == 0) Fail(f, "must be longer than zero");
  return *d;
}

std::string Walker::Listen(const Field& f) const {
  std::string s = Text(f, false);
  if (!ParseListenAddress(s)) {
    Fail(f, std::string("expected ") + kListenAddressForm + ", e.g. 127.0.0.1:9464, got \"" + s +
                "\"");
  }
  return s;
}

}  // namespace closeloop::app::config_walk
