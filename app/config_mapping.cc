#include "app/config_mapping.h"

#include <charconv>
#include <map>
#include <optional>

#include "app/config_walk.h"

namespace closeloop::app {
namespace {

struct Refused {
  ConfigError error;
};

class MappingReader {
 public:
  MappingReader(const std::string& file, const std::string& path) : file_(file), path_(path) {}

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& field,
                         const std::string& message) const {
    const YAML::Mark mark = at.Mark();
    const bool known = !mark.is_null();
    throw Refused{
        ConfigError{file_, known ? mark.line + 1 : 0, known ? mark.column + 1 : 0, field, message}};
  }

  // Lines where each key of one map was first given.
  using Seen = std::map<std::string, int>;

  // A key of a map under `field`: plain text without control characters,
  // given once (yaml-cpp keeps both of a duplicate, and the last would win),
  // as config_walk's keys.
  std::string Key(const YAML::Node& key, const std::string& field, Seen& seen) const {
    if (!key.IsScalar()) Fail(key, field, "a field name must be plain text");
    const std::string& name = key.Scalar();
    if (std::string bad = config_walk::ControlCharacterIn(name, false); !bad.empty()) {
      Fail(key, field, bad);
    }
    auto [prev, inserted] = seen.emplace(name, key.Mark().line + 1);
    if (!inserted) {
      Fail(key, field + "." + name,
           "duplicate field; first given on line " + std::to_string(prev->second));
    }
    return name;
  }

  std::string Scalar(const YAML::Node& node, const std::string& field, bool allow_empty) const {
    if (!node.IsScalar()) Fail(node, field, "expected text");
    if (!allow_empty && node.Scalar().empty()) Fail(node, field, "must not be empty");
    if (std::string bad = config_walk::ControlCharacterIn(node.Scalar(), false); !bad.empty()) {
      Fail(node, field, bad);
    }
    return node.Scalar();
  }

  ingest::FieldSource Source(const YAML::Node& value, const std::string& field) const {
    ingest::FieldSource s;
    if (value.IsScalar()) {
      s.path = Scalar(value, field, false);
      return s;
    }
    if (!value.IsMap()) {
      Fail(value, field, "expected a source path, or a map with path or value");
    }
    Seen seen;
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string key = Key(it->first, field, seen);
      const std::string sub = field + "." + key;
      const YAML::Node v = it->second;
      if (key == "path") {
        s.path = Scalar(v, sub, false);
      } else if (key == "value") {
        s.constant = Scalar(v, sub, true);
      } else if (key == "values") {
        if (!v.IsMap()) Fail(v, sub, "expected a map of source value: canonical value");
        Seen values;
        for (auto e = v.begin(); e != v.end(); ++e) {
          const std::string from = Key(e->first, sub, values);
          s.values[from] = Scalar(e->second, sub + "." + from, false);
        }
      } else if (key == "scale") {
        const std::string text = Scalar(v, sub, false);
        int n = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc() || ptr != text.data() + text.size()) {
          Fail(v, sub, "expected a whole number, got \"" + text + "\"");
        }
        s.scale = n;
      } else if (key == "time_unit") {
        const std::string text = Scalar(v, sub, false);
        if (text == "days") {
          s.time_unit = ingest::TimeUnit::kDays;
        } else if (text == "millis") {
          s.time_unit = ingest::TimeUnit::kMillis;
        } else if (text == "micros") {
          s.time_unit = ingest::TimeUnit::kMicros;
        } else if (text == "nanos") {
          s.time_unit = ingest::TimeUnit::kNanos;
        } else {
          Fail(v, sub, "\"" + text + "\" is not one of: days, millis, micros, nanos");
        }
      } else {
        Fail(it->first, sub,
             "unknown field; expected one of: path, value, values, scale, time_unit");
      }
    }
    if (s.path.empty() && !s.constant) Fail(value, field, "needs a path or a value");
    if (!s.path.empty() && s.constant) Fail(value, field, "give a path or a value, not both");
    return s;
  }

  ingest::WonWhen Won(const YAML::Node& node, const std::string& field) const {
    if (!node.IsMap())
      Fail(node, field, "expected a map: {field: PATH, equals: VALUE} or in: [...]");
    ingest::WonWhen w;
    bool has_test = false;
    Seen seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = Key(it->first, field, seen);
      const std::string sub = field + "." + key;
      const YAML::Node v = it->second;
      if (key == "field") {
        w.path = Scalar(v, sub, false);
      } else if (key == "equals" || key == "in") {
        if (has_test) Fail(it->first, sub, "give equals or in, not both");
        has_test = true;
        if (key == "equals") {
          w.any_of.push_back(Scalar(v, sub, false));
        } else {
          if (!v.IsSequence() || v.size() == 0) Fail(v, sub, "expected a non-empty list of values");
          for (size_t i = 0; i < v.size(); ++i) {
            w.any_of.push_back(Scalar(v[i], sub + "[" + std::to_string(i) + "]", false));
          }
        }
      } else if (key == "won_stage") {
        w.won_stage = Scalar(v, sub, false);
      } else {
        Fail(it->first, sub, "unknown field; expected one of: field, equals, in, won_stage");
      }
    }
    if (w.path.empty()) Fail(node, field, "needs field: the source path to test");
    if (!has_test) Fail(node, field, "needs equals: VALUE or in: [VALUES]");
    return w;
  }

  ingest::Mapping Read(ingest::DocType type, const YAML::Node& mapping,
                       const YAML::Node& won_when) const {
    const std::string mpath = path_ + ".mapping";
    if (!mapping.IsMap()) Fail(mapping, mpath, "expected a map of canonical field: source path");
    ingest::Mapping m;
    std::map<std::string, YAML::Node> keys;
    Seen seen;
    for (auto it = mapping.begin(); it != mapping.end(); ++it) {
      const std::string name = Key(it->first, mpath, seen);
      const std::string field = mpath + "." + name;
      keys[name] = it->first;
      m.fields[name] = Source(it->second, field);
    }
    const bool has_won = won_when.IsDefined() && !won_when.IsNull();
    if (has_won) m.won_when = Won(won_when, path_ + ".won_when");
    if (auto problem = ingest::CheckMapping(type, m)) {
      if (problem->field == "won_when" && has_won) {
        Fail(won_when, path_ + ".won_when", problem->message);
      }
      auto key = keys.find(problem->field);
      if (key != keys.end()) {
        const YAML::Node value = mapping[problem->field];
        Fail(value.IsScalar() ? value : key->second, mpath + "." + problem->field,
             problem->message);
      }
      Fail(mapping, mpath + "." + problem->field, problem->message);
    }
    return m;
  }

 private:
  const std::string& file_;
  const std::string& path_;
};

const char* TimeUnitName(ingest::TimeUnit unit) {
  switch (unit) {
    case ingest::TimeUnit::kDays:
      return "days";
    case ingest::TimeUnit::kMillis:
      return "millis";
    case ingest::TimeUnit::kMicros:
      return "micros";
    case ingest::TimeUnit::kNanos:
      return "nanos";
  }
  return "millis";
}

}  // namespace

std::variant<ingest::Mapping, ConfigError> ReadMapping(const std::string& file,
                                                       const std::string& path,
                                                       ingest::DocType type,
                                                       const YAML::Node& mapping,
                                                       const YAML::Node& won_when) {
  try {
    return MappingReader(file, path).Read(type, mapping, won_when);
  } catch (const Refused& r) {
    return r.error;
  }
}

std::string WonStageProblem(const Config& c) {
  const std::optional<ingest::Mapping>& m = c.topics.deals.mapping;
  if (!m || !m->won_when) return "";
  std::vector<std::string> carried;  // "": the defaults
  const auto tenant = m->fields.find("tenant_id");
  if (tenant != m->fields.end() && tenant->second.constant) {
    carried.push_back(*tenant->second.constant);
  } else if (tenant != m->fields.end() && !tenant->second.values.empty()) {
    for (const auto& [from, to] : tenant->second.values) carried.push_back(to);
  } else {
    carried.push_back("");
    for (const auto& [name, rules] : c.tenants) carried.push_back(name);
  }
  const std::string& won = m->won_when->won_stage;
  for (const std::string& t : carried) {
    const auto configured = c.tenants.find(t);
    const matcher::TenantRules& rules =
        configured == c.tenants.end() ? c.defaults : configured->second;
    if (rules.IsClosedWon(won)) continue;
    const std::string whose = t.empty()                       ? "the defaults"
                              : configured == c.tenants.end() ? "tenant " + t + " (the defaults)"
                                                              : "tenant " + t;
    return "won_stage \"" + won + "\" is not one of the closed_won_stages of " + whose + " [" +
           config_walk::Join(rules.closed_won_stages) +
           "]: no deal won on this topic would ever be checked";
  }
  return "";
}

void EmitMapping(YAML::Emitter& out, const ingest::Mapping& mapping) {
  out << YAML::BeginMap;
  for (const auto& [name, s] : mapping.fields) {
    out << YAML::Key << name << YAML::Value;
    const bool plain = s.constant == std::nullopt && s.values.empty() && !s.scale && !s.time_unit;
    if (plain) {
      out << s.path;
      continue;
    }
    out << YAML::Flow << YAML::BeginMap;
    if (s.constant) {
      out << YAML::Key << "value" << YAML::Value << *s.constant;
    } else {
      out << YAML::Key << "path" << YAML::Value << s.path;
    }
    if (!s.values.empty()) {
      out << YAML::Key << "values" << YAML::Value << YAML::BeginMap;
      for (const auto& [from, to] : s.values) out << YAML::Key << from << YAML::Value << to;
      out << YAML::EndMap;
    }
    if (s.scale) out << YAML::Key << "scale" << YAML::Value << *s.scale;
    if (s.time_unit) out << YAML::Key << "time_unit" << YAML::Value << TimeUnitName(*s.time_unit);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  if (mapping.won_when) {
    const ingest::WonWhen& w = *mapping.won_when;
    out << YAML::Key << "won_when" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "field" << YAML::Value << w.path;
    if (w.any_of.size() == 1) {
      out << YAML::Key << "equals" << YAML::Value << w.any_of.front();
    } else {
      out << YAML::Key << "in" << YAML::Value << YAML::Flow << w.any_of;
    }
    out << YAML::Key << "won_stage" << YAML::Value << w.won_stage;
    out << YAML::EndMap;
  }
}

}  // namespace closeloop::app
