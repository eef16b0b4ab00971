// Reading and validating the YAML config (SPEC §4, §10). The walk is strict:
// every map rejects keys it does not know, and every refusal names the file,
// line, column and dotted field path. The walk's primitives (typed values,
// strict maps) live in config_walk.cc, the text forms of values (durations,
// ratios) and FormatConfig in config_format.cc, source adapter mappings in
// config_mapping.cc.
#include "app/config.h"

#include <librdkafka/rdkafkacpp.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "app/config_mapping.h"
#include "app/config_walk.h"
#include "ingest/currency.h"
#include "ingest/utf8.h"

namespace closeloop::app {
namespace {

using config_walk::Describe;
using config_walk::ErrorAt;
using config_walk::Field;
using config_walk::Refusal;
using config_walk::StringList;
using matcher::TenantRules;

// The sections of the config, read over the defaults in config.h.
class Reader : public config_walk::Walker {
 public:
  using Walker::Walker;

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
  // Each topic closeloop reads or writes, by its field under `topics`.
  static std::vector<std::pair<std::string, std::string>> TopicRoles(const TopicsConfig& t) {
    return {{"deals", t.deals.name},       {"orders", t.orders.name},
            {"invoices", t.invoices.name}, {"payments", t.payments.name},
            {"exceptions", t.exceptions},  {"dlq", t.dlq},
            {"commands", t.commands},      {"events", t.events}};
  }

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

  StringList Stages(const Field& f, bool allow_none) const {
    StringList out;
    for (const Field& item : Items(f)) out.push_back(Text(item, false));
    if (out.empty() && !allow_none) Fail(f, "must list at least one stage");
    return out;
  }

  // Applies the fields given in `section` over `r` (the defaults, or a
  // tenant's copy of them).
  void ReadRules(const Field& section, TenantRules& r, const TopicsConfig& topics) const {
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
           {"by_currency", [&](const Field& f) { ReadByCurrency(f, r); }},
           {"default_payment_terms_days", IntTo(&r.default_payment_terms_days, 0, 3650)},
           {"routing", [&](const Field& f) { ReadRouting(f, r.routing, topics); }}});
    if (stages) {
      for (const std::string& won : r.closed_won_stages) {
        if (!r.IsLost(won)) continue;
        Fail(*stages, "stage \"" + won + "\" is both won and lost" +
                          (matcher::IsDeletedStage(won)
                               ? " (source adapters give it to a deal its CRM deleted)"
                               : ""));
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
      if (config_walk::Contains(out, name)) Fail(item, "\"" + name + "\" is listed twice");
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

  // Each currency given here replaces the inherited entry; a field an entry
  // leaves out is the tenant's general one.
  void ReadByCurrency(const Field& section, TenantRules& r) const {
    for (const Field& c : Entries(section, {}, "currency")) {
      if (!ingest::IsIsoCurrency(c.name)) {
        Fail(c, "\"" + c.name + "\" is not an ISO 4217 currency code (e.g. JPY)");
      }
      TenantRules::CurrencyAmounts& amounts = r.by_currency[c.name];
      amounts = {};
      Apply(c, {{"tolerance_absolute_minor",
                 [&](const Field& f) {
                   amounts.tolerance_absolute_minor =
                       Int(f, 0, std::numeric_limits<int64_t>::max());
                 }},
                {"severity_amounts_minor",
                 [&](const Field& f) { amounts.severity_amounts_minor = SeverityAmounts(f); }}});
    }
  }

  // Each kind given here merges over the inherited route: unmentioned kinds and
  // fields keep theirs.
  // A route's topic gets copies of exception records: one closeloop reads
  // would feed it its own output, and the exceptions topic would get each
  // record twice.
  void ReadRouting(const Field& section, std::map<std::string, matcher::Route>& routing,
                   const TopicsConfig& topics) const {
    StringList kinds;
    for (const auto& [kind, route] : TenantRules::DefaultRouting()) kinds.push_back(kind);
    for (const Field& k : Entries(section, kinds, "exception kind")) {
      matcher::Route& route = routing[k.name];
      auto topic = [&](const Field& f) {
        route.topic = Topic(f, true);
        for (const auto& [role, name] : TopicRoles(topics)) {
          if (route.topic == name) {
            Fail(f, "topic \"" + name + "\" is topics." + role +
                        "; a route copies exception records to a topic of its own (empty: "
                        "only topics.exceptions)");
          }
        }
      };
      Apply(k, {{"team", TextTo(&route.team, false)}, {"topic", topic}});
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
  std::ifstream in(path, std::ios::binary);
  if (!in) return ConfigError{path, 0, 0, "", std::string("cannot open: ") + std::strerror(errno)};
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return ConfigError{path, 0, 0, "", "cannot read the file"};
  return LoadConfigText(text, path);
}

}  // namespace closeloop::app
