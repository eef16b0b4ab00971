// Reading and validating the YAML config (SPEC §4, §10). The walk is strict:
// every map rejects keys it does not know, and every refusal names the file,
// line, column and dotted field path. The walk's primitives (typed values,
// strict maps) live in config_walk.cc, the text forms of values (durations,
// ratios) and FormatConfig in config_format.cc, source adapter mappings in
// config_mapping.cc, tenants' rules in config_rules.cc.
#include "app/config.h"

#include <librdkafka/rdkafkacpp.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "app/config_mapping.h"
#include "app/config_rules.h"
#include "app/config_walk.h"
#include "app/text_file.h"
#include "ingest/utf8.h"

namespace closeloop::app {
namespace {

using config_walk::Describe;
using config_walk::ErrorAt;
using config_walk::Field;
using config_walk::Refusal;
using config_walk::StringList;
using config_walk::TopicRoles;
using matcher::TenantRules;

// The sections of the config, read over the defaults in config.h.
class Reader : public config_walk::RulesReader {
 public:
  using RulesReader::RulesReader;

  Config Read(const YAML::Node& root) const {
    Config c;
    std::optional<Field> defaults, tenants, topics;
    Apply(
        Field{"", "", root, root},
        {{"kafka", [&](const Field& f) { ReadKafka(f, c.kafka); }},
         {"topics",
          [&](const Field& f) {
            topics = f;
            ReadTopics(f, c.topics);
          }},
         {"state_dir", TextTo(&c.state_dir, false)},
         {"store",
          [&](const Field& f) {
            Apply(f, {{"block_cache_mb", IntTo(&c.store.block_cache_mb, 1, 1 << 20)},
                      {"write_buffer_mb", IntTo(&c.store.write_buffer_mb, 1, 1 << 20)},
                      {"sync_writes", BoolTo(&c.store.sync_writes)},
                      {"state_cache_entries",
                       IntTo(&c.store.state_cache_entries, 1000, 100'000'000)}});
          }},
         {"http",
          [&](const Field& f) {
            Apply(f,
                  {{"listen", [&](const Field& l) { c.http.listen = Listen(l); }},
                   {"ready_max_lag", IntTo(&c.http.ready_max_lag, 0, int64_t{1} << 50)},
                   {"bearer_token_file", TextTo(&c.http.bearer_token_file, true)},
                   {"max_request_bytes", IntTo(&c.http.max_request_bytes, 1024, int64_t{1} << 30)},
                   {"rate_limit_per_second", IntTo(&c.http.rate_limit_per_second, 0, 1'000'000)},
                   {"rate_limit_per_client_per_second",
                    IntTo(&c.http.rate_limit_per_client_per_second, 0, 1'000'000)}});
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
                      {"source_silence_limits",
                       [&](const Field& by_source) {
                         Setters each;
                         for (int i = 0; i < matcher::kSourceCount; ++i) {
                           each.emplace_back(std::string(kSourceNames[i]),
                                             DurTo(&c.time.source_silence_limits[i], false));
                         }
                         Apply(by_source, each);
                       }},
                      {"follow_wall_clock", BoolTo(&c.time.follow_wall_clock)}});
          }},
         {"pipeline",
          [&](const Field& f) {
            Apply(f, {{"batch_max_records", IntTo(&c.pipeline.batch_max_records, 1, 1'000'000)},
                      {"batch_max_timers", IntTo(&c.pipeline.batch_max_timers, 1, 1'000'000)},
                      {"batch_max_wait", DurTo(&c.pipeline.batch_max_wait, false)},
                      {"tasks", IntTo(&c.pipeline.tasks, 1, 1024)}});
          }},
         {"limits",
          [&](const Field& f) {
            Apply(f, {{"max_record_bytes", IntTo(&c.limits.max_record_bytes, 1, 1 << 30)},
                      {"max_billing_periods", IntTo(&c.limits.max_billing_periods, 1, 1'000'000)}});
          }},
         {"defaults", [&](const Field& f) { defaults = f; }},
         {"tenants", [&](const Field& f) { tenants = f; }}});
    // Tenants inherit the defaults wherever the two sections sit in the file.
    if (defaults) ReadRules(*defaults, c.defaults, c.topics);
    if (tenants) {
      for (const Field& t : Entries(*tenants, {}, "tenant")) {
        if (t.name.empty()) Fail(t.key.Mark(), t.path, "a tenant id must not be empty");
        TenantRules rules = c.defaults;
        ReadRules(t, rules, c.topics);
        c.tenants.emplace(t.name, std::move(rules));
      }
    }
    if (topics) {
      if (std::string why = WonStageProblem(c); !why.empty()) Fail(WonWhenOf(*topics), why);
    }
    return c;
  }

 private:
  // topics.deals.won_when, which ReadTopics has read already.
  Field WonWhenOf(const Field& topics) const {
    for (const Field& role : Entries(topics, {})) {
      if (role.name != "deals") continue;
      for (const Field& f : Entries(role, {})) {
        if (f.name == "won_when") return f;
      }
    }
    return topics;
  }

  void ReadKafka(const Field& section, KafkaConfig& k) const {
    Apply(section, {{"bootstrap_servers",
                     [&](const Field& f) {
                       k.bootstrap_servers = Text(f, true);
                       if (!k.bootstrap_servers.empty() && !NamesABroker(k.bootstrap_servers)) {
                         Fail(f,
                              "names no broker: give HOST:PORT[,HOST:PORT...], or leave it "
                              "empty for the embedded broker");
                       }
                     }},
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
    const std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    for (const Field& p : Entries(section, {}, "property")) {
      if (p.name.empty()) Fail(p.key.Mark(), p.path, "a property name must not be empty");
      // librdkafka's names are lower-case words joined by dots; anything
      // else (control bytes, invalid UTF-8) is a typo librdkafka refuses
      // later, and does not even print back as the same YAML.
      if (!std::all_of(p.name.begin(), p.name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
          })) {
        Fail(p.key.Mark(), p.path,
             "not a librdkafka property name (letters, digits, '.', '_', '-')");
      }
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
      // librdkafka's own check, here rather than when the clients are made,
      // so that check-config and the start refuse it naming the line. Some
      // messages quote the value: not a secret's.
      std::string error;
      if (conf->set(p.name, out[p.name], error) != RdKafka::Conf::CONF_OK) {
        Fail(p, "librdkafka refuses it: " +
                    (IsSecretProperty(p.name) ? std::string("(value redacted)") : error));
      }
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
    auto read = ReadMapping(file(), topic.path, type, mapping->value,
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
                        {"events", TopicTo(&t.events, false)},
                        {"exceptions_format", [&](const Field& f) {
                           t.exceptions_format = OneOf(f, {"json", "protobuf"});
                         }}});
    // Two roles on one topic would feed closeloop its own output or mix inputs.
    const std::vector<std::pair<std::string, std::string>> roles = TopicRoles(t);
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
};

// Notes where each YAML document starts and nothing else. yaml-cpp 0.7's
// LoadAll loops for ever, allocating, when its parser stops making progress
// on some malformed inputs (found by fuzz_config; fixed upstream after 0.7),
// so documents are counted here with a bound and only the first is built.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

std::string ConfigError::ToString() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line);
  if (line > 0 && column > 0) s += ":" + std::to_string(column);
  s += ": ";
  if (!field.empty()) s += "field " + field + ": ";
  return s + message;
}

const matcher::TenantRules& Config::RulesFor(std::string_view tenant) const {
  auto it = tenants.find(std::string(tenant));
  return it == tenants.end() ? defaults : it->second;
}

bool NamesABroker(std::string_view servers) {
  // librdkafka splits the list at commas and skips the spaces around entries.
  return servers.find_first_not_of(", \t\r\n") != std::string_view::npos;
}

std::string CheckBootstrapFlag(const std::string& servers) {
  if (NamesABroker(servers)) return "";
  return "names no broker: expected HOST:PORT[,HOST:PORT...], got \"" + servers + "\"";
}

std::variant<Config, ConfigError> LoadConfigText(std::string_view yaml, const std::string& file) {
  // YAML is printable Unicode text. yaml-cpp reads other bytes as they come
  // but does not print them back (bytes that are not UTF-8 become U+FFFD, a
  // raw NUL an invalid byte), so two names differing only there would print
  // as one (fuzz_config found two tenants that did, each way).
  int line = 1;
  for (std::string_view rest = yaml; !rest.empty(); ++line) {
    const std::string_view text = rest.substr(0, std::min(rest.find('\n'), rest.size()));
    if (!ingest::IsValidUtf8(text)) {
      return ConfigError{file, line, 0, "", "not UTF-8 text; a config must be UTF-8"};
    }
    for (size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7F) {
        return ConfigError{
            file, line, static_cast<int>(i + 1), "",
            "a control character (byte " + std::to_string(c) + "); config text must be printable"};
      }
    }
    rest.remove_prefix(std::min(text.size() + 1, rest.size()));
  }
  try {
    const std::string text(yaml);
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts documents;
    while (documents.starts.size() < 2 && parser.HandleNextDocument(documents)) {
    }
    if (documents.starts.size() > 1) {
      return ErrorAt(file, documents.starts[1], "", "more than one YAML document; a config is one");
    }
    return Reader(file).Read(documents.starts.empty() ? YAML::Node() : YAML::Load(text));
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
  // Far beyond any config: thousands of tenants fit in a megabyte.
  constexpr size_t kMaxConfigBytes = 16 << 20;
  const absl::StatusOr<std::string> text = ReadTextFile(path, kMaxConfigBytes);
  if (!text.ok()) return ConfigError{path, 0, 0, "", std::string(text.status().message())};
  return LoadConfigText(*text, path);
}

}  // namespace closeloop::app
