// The strict YAML walk under the config reader (config.cc): maps that refuse
// keys they do not know, typed scalars, and refusals naming the file, line,
// column and dotted field path. Private to closeloop_config. Thread-compatible.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/config.h"

namespace closeloop::app::config_walk {

using StringList = std::vector<std::string>;

// Thrown by Walker from deep in the walk up to LoadConfigText, which returns
// it as a value. Never crosses closeloop_config's boundary.
struct Refusal {
  ConfigError error;
};

// The error at `mark` (yaml-cpp counts from 0; a null mark has no place).
ConfigError ErrorAt(const std::string& file, const YAML::Mark& mark, const std::string& field,
                    const std::string& message);

// One map entry or list item being read.
struct Field {
  std::string name;
  std::string path;  // dotted, e.g. "tenants.acme.order_window"
  YAML::Node key;    // the item itself for list items
  YAML::Node value;
};

// "a, b, c".
std::string Join(const StringList& names);
bool Contains(const StringList& list, const std::string& s);
bool IsDigits(std::string_view s);
// What is wrong with `s` if it holds a control character (tab aside, and
// line feed where `allow_line_feed`); empty if nothing. yaml-cpp prints such
// text unquoted, and it may not read back the same (a ':' before a carriage
// return reads as a map value: fuzz_config), and no config value needs one.
std::string ControlCharacterIn(std::string_view s, bool allow_line_feed);

// Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".
bool IsTopicName(const std::string& s);
// "a map", "a list", "\"text\"" or "nothing", for messages.
std::string Describe(const YAML::Node& node);

// Reads the values of one config file. Every method throws Refusal on input
// it does not accept.
class Walker {
 public:
  explicit Walker(std::string file) : file_(std::move(file)) {}

 protected:
  using Setter = std::function<void(const Field&)>;
  using Setters = std::vector<std::pair<std::string, Setter>>;

  Setter TextTo(std::string* out, bool allow_empty) const {
    return [=, this](const Field& f) { *out = Text(f, allow_empty); };
  }
  Setter TopicTo(std::string* out, bool allow_empty) const {
    return [=, this](const Field& f) { *out = Topic(f, allow_empty); };
  }
  Setter BoolTo(bool* out) const {
    return [=, this](const Field& f) { *out = Bool(f); };
  }
  template <class T>
  Setter IntTo(T* out, int64_t min, int64_t max) const {
    return [=, this](const Field& f) { *out = static_cast<T>(Int(f, min, max)); };
  }
  Setter DurTo(Duration* out, bool allow_zero) const {
    return [=, this](const Field& f) { *out = Dur(f, allow_zero); };
  }

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& field,
                         const std::string& message) const;
  // A missing value has the mark of whatever follows it; points at its key instead.
  [[noreturn]] void Fail(const Field& f, const std::string& message) const;

  // The entries of the map in `f` (nothing: none), checked for plain, distinct
  // keys among `allowed` (empty: any key); `what` names a key in messages.
  std::vector<Field> Entries(const Field& f, const StringList& allowed,
                             const std::string& what = "field") const;
  // Reads the map in `section` with one setter per allowed key; returns what was given.
  std::vector<Field> Apply(const Field& section, const Setters& setters) const;
  // The items of the list in `f`.
  std::vector<Field> Items(const Field& f) const;

  std::string Text(const Field& f, bool allow_empty) const;
  std::string OneOf(const Field& f, const StringList& choices) const;
  // A Kafka topic name: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".
  std::string Topic(const Field& f, bool allow_empty) const;
  bool Bool(const Field& f) const;
  int64_t Int(const Field& f, int64_t min, int64_t max) const;
  // At most 36500 days (keeps event-time arithmetic far from overflow); zero
  // only when `allow_zero`.
  Duration Dur(const Field& f, bool allow_zero) const;
  // "host:port" with a numeric port.
  std::string Listen(const Field& f) const;

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

}  // namespace closeloop::app::config_walk
