// Reading and validating the YAML config (SPEC §4, §10). The walk is strict:
// every map rejects keys it does not know, and every refusal names the file,
// line, column and dotted field path. The text forms of values (durations,
// ratios) and FormatConfig live in config_format.cc.
#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "app/config_mapping.h"

namespace closeloop::app {
namespace {

using matcher::kDay;
using matcher::TenantRules;
using StringList = std::vector<std::string>;

// Longest duration a field accepts: keeps event-time arithmetic far from overflow.
constexpr Duration kMaxDuration = 36500 * kDay;

// Thrown only inside this file, from deep in the walk up to LoadConfigText,
// which returns it as a value.
struct Refusal {
  ConfigError error;
};

ConfigError ErrorAt(const std::string& file, const YAML::Mark& mark, const std::string& field,
                    const std::string& message) {
  const bool known = !mark.is_null();  // yaml-cpp counts from 0
  return ConfigError{file, known ? mark.line + 1 : 0, known ? mark.column + 1 : 0, field, message};
}

// One map entry or list item being read.
struct Field {
  std::string name;
  std::string path;  // dotted, e.g. "tenants.acme.order_window"
  YAML::Node key;    // the item itself for list items
  YAML::Node value;
};

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

// Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".
bool IsTopicName(const std::string& s) {
  if (s.empty() || s.size() > 249 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Config Read(const YAML::Node& root) const {
    Config c;
    std::optional<Field> defaults, tenants;
    Apply(
        Field{"", "", root, root},
        {{"kafka", [&](const Field& f) { ReadKafka(f, c.kafka); }},
         {"topics", [&](const Field& f) { ReadTopics(f, c.topics); }},
         {"state_dir", TextTo(&c.state_dir, false)},
         {"store",
          [&](const Field& f) {
            Apply(f, {{"block_cache_mb", IntTo(&c.store.block_cache_mb, 1, 1 << 20)},
                      {"write_buffer_mb", IntTo(&c.store.write_buffer_mb, 1, 1 << 20)},
                      {"sync_writes", BoolTo(&c.store.sync_writes)}});
          }},
         {"http",
          [&](const Field& f) {
            Apply(f,
                  {{"listen", [&](const Field& l) { c.http.listen = Listen(l); }},
                   {"ready_max_lag", IntTo(&c.http.ready_max_lag, 0, int64_t{1} << 50)},
                   {"bearer_token_file", TextTo(&c.http.bearer_token_file, true)},
                   {"max_request_bytes", IntTo(&c.http.max_request_bytes, 1024, int64_t{1} << 30)},
                   {"rate_limit_per_second", IntTo(&c.http.rate_limit_per_second, 0, 1'000'000)}});
          }},
         {"report",
          [&](const Field& f) {
            Apply(f, {{"trailing_period", DurTo(&c.report.trailing_period, false)}});
          }},
         {"time",
          [&](const Field& f) {
            Apply(f, {{"idle_after", DurTo(&c.time.idle_after, false)},
                      {"max_future_skew", DurTo(&c.time.max_future_skew, false)},
                      {"source_silence_limit", DurTo(&c.time.source_silence_limit, false)},
                      {"follow_wall_clock", BoolTo(&c.time.follow_wall_clock)}});
          }},
         {"pipeline",
          [&](const Field& f) {
            Apply(f, {{"batch_max_records", IntTo(&c.pipeline.batch_max_records, 1, 1'000'000)},
                      {"batch_max_wait", DurTo(&c.pipeline.batch_max_wait, false)}});
          }},
         {"limits",
          [&](const Field& f) {
            Apply(f, {{"max_record_bytes", IntTo(&c.limits.max_record_bytes, 1, 1 << 30)},
                      {"max_billing_periods", IntTo(&c.limits.max_billing_periods, 1, 1'000'000)}});
          }},
         {"defaults", [&](const Field& f) { defaults = f; }},
         {"tenants", [&](const Field& f) { tenants = f; }}});
    // Tenants inherit the defaults wherever the two sections sit in the file.
    if (defaults) ReadRules(*defaults, c.defaults);
    if (tenants) {
      for (const Field& t : Entries(*tenants, {}, "tenant")) {
        if (t.name.empty()) Fail(t.key.Mark(), t.path, "a tenant id must not be empty");
        TenantRules rules = c.defaults;
        ReadRules(t, rules);
        c.tenants.emplace(t.name, std::move(rules));
      }
    }
    return c;
  }

 private:
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
                         const std::string& message) const {
    throw Refusal{ErrorAt(file_, mark, field, message)};
  }
  // A missing value has the mark of whatever follows it; point at its key instead.
  [[noreturn]] void Fail(const Field& f, const std::string& message) const {
    Fail(f.value.IsNull() ? f.key.Mark() : f.value.Mark(), f.path, message);
  }

  // The entries of the map in `f` (nothing: none), checked for plain, distinct
  // keys among `allowed` (empty: any key); `what` names a key in messages.
  std::vector<Field> Entries(const Field& f, const StringList& allowed,
                             const std::string& what = "field") const {
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

  // Reads the map in `section` with one setter per allowed key; returns what was given.
  std::vector<Field> Apply(const Field& section, const Setters& setters) const {
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

  std::vector<Field> Items(const Field& f) const {
    if (!f.value.IsSequence()) Fail(f, "expected a list, got " + Describe(f.value));
    std::vector<Field> out;
    for (size_t i = 0; i < f.value.size(); ++i) {
      const YAML::Node item = f.value[i];
      out.push_back(Field{f.name, f.path + "[" + std::to_string(i) + "]", item, item});
    }
    return out;
  }

  std::string Text(const Field& f, bool allow_empty) const {
    if (allow_empty && f.value.IsNull()) return "";
    if (!f.value.IsScalar()) Fail(f, "expected a string, got " + Describe(f.value));
    if (!allow_empty && f.value.Scalar().empty()) Fail(f, "must not be empty");
    return f.value.Scalar();
  }

  std::string OneOf(const Field& f, const StringList& choices) const {
    std::string s = Text(f, true);
    if (!Contains(choices, s)) Fail(f, "\"" + s + "\" is not one of: " + Join(choices));
    return s;
  }

  std::string Topic(const Field& f, bool allow_empty) const {
    std::string s = Text(f, allow_empty);
    if (!s.empty() && !IsTopicName(s)) {
      Fail(f, "\"" + s + "\" is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)");
    }
    return s;
  }

  bool Bool(const Field& f) const {
    const std::string s = f.value.IsScalar() ? f.value.Scalar() : "";
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    Fail(f, "expected true or false, got " + Describe(f.value));
  }

  int64_t Int(const Field& f, int64_t min, int64_t max) const {
    const std::string s = f.value.IsScalar() ? f.value.Scalar() : "";
    int64_t v = 0;
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, v);
    if (s.empty() || ptr != end || ec == std::errc::invalid_argument) {
      Fail(f, "expected a whole number, got " + Describe(f.value));
    }
    if (ec == std::errc::result_out_of_range || v < min || v > max) {
      Fail(f, max == std::numeric_limits<int64_t>::max()
                  ? "must be at least " + std::to_string(min)
                  : "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return v;
  }

  Duration Dur(const Field& f, bool allow_zero) const {
    const std::string s = f.value.IsScalar() ? f.value.Scalar() : "";
    if (IsDigits(s)) Fail(f, "a duration needs a unit: write " + s + "s, " + s + "d, ...");
    std::optional<Duration> d = ParseDuration(s);
    if (!d) {
      Fail(f, "expected a duration: a whole number and one of ms, s, m, h, d, w (e.g. 3d), got " +
                  Describe(f.value));
    }
    if (*d > kMaxDuration) Fail(f, "must be at most " + FormatDuration(kMaxDuration));
    if (!allow_zero && d->count() == 0) Fail(f, "must be longer than zero");
    return *d;
  }

  // "host:port" with a numeric port.
  std::string Listen(const Field& f) const {
    std::string s = Text(f, false);
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || !IsDigits(s.substr(colon + 1)) ||
        s.size() - colon - 1 > 5 || std::stoi(s.substr(colon + 1)) > 65535) {
      Fail(f, "expected HOST:PORT, e.g. 127.0.0.1:9464, got \"" + s + "\"");
    }
    return s;
  }

  void ReadKafka(const Field& section, KafkaConfig& k) const {
    Apply(section, {{"bootstrap_servers", TextTo(&k.bootstrap_servers, true)},
                    {"group_id", TextTo(&k.group_id, false)},
                    {"transactional_id", TextTo(&k.transactional_id, true)},
                    {"start_from",
                     [&](const Field& f) {
                       k.start_from = OneOf(f, {"earliest", "latest"});
                     }},
                    {"create_topics", BoolTo(&k.create_topics)},
                    {"topic_partitions", IntTo(&k.topic_partitions, 1, 10'000)},
                    {"properties", [&](const Field& f) { ReadProperties(f, k.properties); }}});
  }

  void ReadProperties(const Field& section, std::map<std::string, std::string>& out) const {
    for (const Field& p : Entries(section, {}, "property")) {
      if (p.name.empty()) Fail(p.key.Mark(), p.path, "a property name must not be empty");
      // Set through their own fields; a second way to say the same thing only confuses.
      if (p.name == "transactional.id") {
        Fail(p.key.Mark(), p.path, "set kafka.transactional_id instead");
      }
      if (p.name == "bootstrap.servers" || p.name == "group.id") {
        Fail(p.key.Mark(), p.path,
             std::string("set kafka.") + (p.name == "group.id" ? "group_id" : "bootstrap_servers") +
                 " instead");
      }
      out[p.name] = Text(p, true);
    }
  }

  InputTopic ReadInputTopic(const Field& f, InputTopic t, ingest::DocType type) const {
    if (!f.value.IsMap()) {
      t.name = Topic(f, false);
      return t;
    }
    std::optional<Field> mapping, won_when;
    std::optional<Field> format;
    Apply(f, {{"name", [&](const Field& e) { t.name = Topic(e, false); }},
              {"format",
               [&](const Field& e) {
                 format = e;
                 const std::string s = OneOf(
                     e, {"auto", "json", "protobuf", "confluent", "debezium", "salesforce-cdc"});
                 t.format = s == "json"             ? ingest::Format::kJson
                            : s == "protobuf"       ? ingest::Format::kProtobuf
                            : s == "confluent"      ? ingest::Format::kConfluent
                            : s == "debezium"       ? ingest::Format::kDebezium
                            : s == "salesforce-cdc" ? ingest::Format::kSalesforceCdc
                                                    : ingest::Format::kAuto;
               }},
              // Source adapters (config_mapping.cc).
              {"mapping", [&](const Field& e) { mapping = e; }},
              {"won_when", [&](const Field& e) { won_when = e; }}});
    ReadAdapterMapping(f, format, mapping, won_when, type, t);
    return t;
  }

  // Source adapters: a mapping is required by debezium and salesforce-cdc
  // and refused by the canonical formats.
  void ReadAdapterMapping(const Field& topic, const std::optional<Field>& format,
                          const std::optional<Field>& mapping, const std::optional<Field>& won_when,
                          ingest::DocType type, InputTopic& t) const {
    const bool adapter =
        t.format == ingest::Format::kDebezium || t.format == ingest::Format::kSalesforceCdc;
    if (!adapter) {
      if (mapping)
        Fail(mapping->key.Mark(), mapping->path, "needs format debezium or salesforce-cdc");
      if (won_when) {
        Fail(won_when->key.Mark(), won_when->path, "needs format debezium or salesforce-cdc");
      }
      return;
    }
    if (!mapping) Fail(*format, "format " + format->value.Scalar() + " needs a mapping");
    auto read = ReadMapping(file_, topic.path, type, mapping->value,
                            won_when ? won_when->value : YAML::Node());
    if (auto* error = std::get_if<ConfigError>(&read)) throw Refusal{*error};
    t.mapping = std::get<ingest::Mapping>(std::move(read));
  }

  void ReadTopics(const Field& section, TopicsConfig& t) const {
    auto input = [&](InputTopic* topic, ingest::DocType type) {
      return [this, topic, type](const Field& f) { *topic = ReadInputTopic(f, *topic, type); };
    };
    using ingest::DocType;
    const std::vector<Field> given =
        Apply(section, {{"deals", input(&t.deals, DocType::kDeal)},
                        {"orders", input(&t.orders, DocType::kOrder)},
                        {"invoices", input(&t.invoices, DocType::kInvoice)},
                        {"payments", input(&t.payments, DocType::kPayment)},
                        {"exceptions", TopicTo(&t.exceptions, false)},
                        {"dlq", TopicTo(&t.dlq, false)},
                        {"commands", TopicTo(&t.commands, false)},
                        {"exceptions_format", [&](const Field& f) {
                           t.exceptions_format = OneOf(f, {"json", "protobuf"});
                         }}});
    // Two roles on one topic would feed closeloop its own output or mix inputs.
    const std::vector<std::pair<std::string, std::string>> roles = {
        {"deals", t.deals.name},       {"orders", t.orders.name},    {"invoices", t.invoices.name},
        {"payments", t.payments.name}, {"exceptions", t.exceptions}, {"dlq", t.dlq},
        {"commands", t.commands}};
    for (size_t i = 0; i < roles.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (roles[i].second != roles[j].second) continue;
        // Blame the role the file set; defaults never collide with each other.
        auto it = std::find_if(given.begin(), given.end(),
                               [&](const Field& f) { return f.name == roles[i].first; });
        const bool blame_i = it != given.end();
        if (!blame_i) {
          it = std::find_if(given.begin(), given.end(),
                            [&](const Field& f) { return f.name == roles[j].first; });
        }
        Fail(*it, "topic \"" + roles[i].second + "\" is already used by topics." +
                      (blame_i ? roles[j].first : roles[i].first));
      }
    }
  }

  StringList Stages(const Field& f, bool allow_none) const {
    StringList out;
    for (const Field& item : Items(f)) out.push_back(Text(item, false));
    if (out.empty() && !allow_none) Fail(f, "must list at least one stage");
    return out;
  }

  // Applies the fields given in `section` over `r` (the defaults, or a
  // tenant's copy of them).
  void ReadRules(const Field& section, TenantRules& r) const {
    std::optional<Field> stages;  // the last stage list given here, for the overlap check
    Apply(section,
          {{"closed_won_stages",
            [&](const Field& f) { r.closed_won_stages = Stages(f, false), stages = f; }},
           {"lost_stages", [&](const Field& f) { r.lost_stages = Stages(f, true), stages = f; }},
           {"order_window", DurTo(&r.order_window, false)},
           {"invoice_window", DurTo(&r.invoice_window, false)},
           {"milestone_grace", DurTo(&r.milestone_grace, true)},
           {"payment_grace", DurTo(&r.payment_grace, true)},
           {"orphan_window", DurTo(&r.orphan_window, false)},
           {"require_order", BoolTo(&r.require_order)},
           {"tolerance", [&](const Field& f) { ReadTolerance(f, r); }},
           {"required_fields", [&](const Field& f) { r.required_fields = RequiredFields(f); }},
           {"fuzzy_match", BoolTo(&r.fuzzy_match)},
           {"escalation_ages", [&](const Field& f) { r.escalation_ages = EscalationAges(f); }},
           {"severity_amounts_minor",
            [&](const Field& f) { r.severity_amounts_minor = SeverityAmounts(f); }},
           {"default_payment_terms_days", IntTo(&r.default_payment_terms_days, 0, 3650)},
           {"routing", [&](const Field& f) { ReadRouting(f, r.routing); }}});
    if (stages) {
      for (const std::string& won : r.closed_won_stages) {
        if (r.IsLost(won)) Fail(*stages, "stage \"" + won + "\" is both won and lost");
      }
    }
  }

  void ReadTolerance(const Field& section, TenantRules& r) const {
    Apply(section, {{"ratio",
                     [&](const Field& f) {
                       std::optional<int64_t> ppm =
                           ParseRatioPpm(f.value.IsScalar() ? f.value.Scalar() : "");
                       if (!ppm) {
                         Fail(f,
                              "expected a decimal from 0 to 1 with at most 6 decimal places "
                              "(e.g. 0.005 for 0.5%), got " +
                                  Describe(f.value));
                       }
                       r.tolerance_ppm = *ppm;
                     }},
                    {"absolute_minor",
                     IntTo(&r.tolerance_absolute_minor, 0, std::numeric_limits<int64_t>::max())}});
  }

  StringList RequiredFields(const Field& f) const {
    const StringList known = {"po_number",     "vat_id", "billing_entity",     "customer_id",
                              "customer_name", "owner",  "payment_terms_days", "currency"};
    StringList out;
    for (const Field& item : Items(f)) {
      std::string name = OneOf(item, known);
      if (Contains(out, name)) Fail(item, "\"" + name + "\" is listed twice");
      out.push_back(std::move(name));
    }
    return out;
  }

  std::vector<Duration> EscalationAges(const Field& f) const {
    std::vector<Duration> out;
    for (const Field& item : Items(f)) {
      Duration age = Dur(item, false);
      if (!out.empty() && age <= out.back()) {
        Fail(item, "ages must increase; this one is not longer than " + FormatDuration(out.back()));
      }
      out.push_back(age);
    }
    return out;
  }

  std::vector<int64_t> SeverityAmounts(const Field& f) const {
    std::vector<Field> items = Items(f);
    if (items.size() != 3) {
      Fail(f, "expected exactly 3 amounts (from P1, P2, P3), got " + std::to_string(items.size()));
    }
    std::vector<int64_t> out;
    for (const Field& item : items) {
      int64_t amount = Int(item, 1, std::numeric_limits<int64_t>::max());
      if (!out.empty() && amount >= out.back()) {
        Fail(item, "amounts must decrease (P1 highest); this one is not below " +
                       std::to_string(out.back()));
      }
      out.push_back(amount);
    }
    return out;
  }

  // Each kind given here merges over the inherited route: unmentioned kinds and
  // fields keep theirs.
  void ReadRouting(const Field& section, std::map<std::string, matcher::Route>& routing) const {
    StringList kinds;
    for (const auto& [kind, route] : TenantRules::DefaultRouting()) kinds.push_back(kind);
    for (const Field& k : Entries(section, kinds, "exception kind")) {
      matcher::Route& route = routing[k.name];
      Apply(k, {{"team", TextTo(&route.team, false)}, {"topic", TopicTo(&route.topic, true)}});
    }
  }

  std::string file_;
};

}  // namespace

std::string ConfigError::ToString() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  s += ": ";
  if (!field.empty()) s += "field " + field + ": ";
  return s + message;
}

const matcher::TenantRules& Config::RulesFor(std::string_view tenant) const {
  auto it = tenants.find(std::string(tenant));
  return it == tenants.end() ? defaults : it->second;
}

std::variant<Config, ConfigError> LoadConfigText(std::string_view yaml, const std::string& file) {
  try {
    const std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml));
    if (docs.size() > 1) {
      return ErrorAt(file, docs[1].Mark(), "", "more than one YAML document; a config is one");
    }
    return Reader(file).Read(docs.empty() ? YAML::Node() : docs[0]);
  } catch (const Refusal& r) {
    return r.error;
  } catch (const YAML::Exception& e) {  // syntax errors, with the place they were found
    return ErrorAt(file, e.mark, "", "YAML syntax: " + e.msg);
  }
}

std::variant<Config, ConfigError> LoadConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return ConfigError{path, 0, 0, "", "is a directory, not a config file"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ConfigError{path, 0, 0, "", std::string("cannot open: ") + std::strerror(errno)};
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return ConfigError{path, 0, 0, "", "cannot read the file"};
  return LoadConfigText(text, path);
}

}  // namespace closeloop::app
