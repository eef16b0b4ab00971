// The text forms of config values: durations ("3d"), ratios ("0.005") and the
// whole effective config as YAML in the shape LoadConfigText reads, secrets hidden.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "app/config.h"
#include "app/config_mapping.h"

namespace closeloop::app {
namespace {

// Largest first: FormatDuration takes the first that divides exactly.
constexpr std::pair<std::string_view, int64_t> kUnits[] = {{"w", 7 * matcher::kDay.count()},
                                                           {"d", matcher::kDay.count()},
                                                           {"h", 3'600'000},
                                                           {"m", 60'000},
                                                           {"s", 1'000},
                                                           {"ms", 1}};

const char* FormatName(ingest::Format format) {
  switch (format) {
    case ingest::Format::kAuto:
      return "auto";
    case ingest::Format::kJson:
      return "json";
    case ingest::Format::kProtobuf:
      return "protobuf";
    case ingest::Format::kConfluent:
      return "confluent";
    case ingest::Format::kDebezium:
      return "debezium";
    case ingest::Format::kSalesforceCdc:
      return "salesforce-cdc";
  }
  return "auto";
}

// librdkafka properties that hold credentials or private keys: sasl.password,
// ssl.key.password, ssl.keystore.password, ssl.key.pem,
// sasl.oauthbearer.client.secret, sasl.oauthbearer.config (may embed a client
// secret), and anything named like a token or credential.
}  // namespace

bool IsSecretProperty(std::string key) {
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ends_with = [&](std::string_view suffix) { return key.ends_with(suffix); };
  for (const char* word : {"password", "secret", "token", "credential", "jaas"}) {
    if (key.find(word) != std::string::npos) return true;
  }
  return ends_with(".key") || ends_with("key.pem") || key == "sasl.oauthbearer.config";
}

namespace {

void EmitTopic(YAML::Emitter& out, const char* role, const InputTopic& topic) {
  out << YAML::Key << role << YAML::Value;
  if (!topic.mapping) out << YAML::Flow;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << topic.name;
  out << YAML::Key << "format" << YAML::Value << FormatName(topic.format);
  if (topic.mapping) {  // source adapters (config_mapping.cc)
    out << YAML::Key << "mapping" << YAML::Value;
    EmitMapping(out, *topic.mapping);
  }
  out << YAML::EndMap;
}

void EmitDuration(YAML::Emitter& out, const std::string& key, Duration d) {
  out << YAML::Key << key << YAML::Value << FormatDuration(d);
}

void EmitRules(YAML::Emitter& out, const matcher::TenantRules& r) {
  out << YAML::BeginMap;
  out << YAML::Key << "closed_won_stages" << YAML::Value << YAML::Flow << r.closed_won_stages;
  out << YAML::Key << "lost_stages" << YAML::Value << YAML::Flow << r.lost_stages;
  EmitDuration(out, "order_window", r.order_window);
  EmitDuration(out, "invoice_window", r.invoice_window);
  EmitDuration(out, "milestone_grace", r.milestone_grace);
  EmitDuration(out, "payment_grace", r.payment_grace);
  EmitDuration(out, "orphan_window", r.orphan_window);
  out << YAML::Key << "require_order" << YAML::Value << r.require_order;
  out << YAML::Key << "tolerance" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "ratio" << YAML::Value << FormatRatioPpm(r.tolerance_ppm);
  out << YAML::Key << "absolute_minor" << YAML::Value << r.tolerance_absolute_minor;
  out << YAML::EndMap;
  out << YAML::Key << "required_fields" << YAML::Value << YAML::Flow << r.required_fields;
  out << YAML::Key << "fuzzy_match" << YAML::Value << r.fuzzy_match;
  out << YAML::Key << "escalation_ages" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (Duration age : r.escalation_ages) out << FormatDuration(age);
  out << YAML::EndSeq;
  out << YAML::Key << "severity_amounts_minor" << YAML::Value << YAML::Flow
      << r.severity_amounts_minor;
  out << YAML::Key << "by_currency" << YAML::Value << YAML::BeginMap;
  for (const auto& [currency, amounts] : r.by_currency) {
    out << YAML::Key << currency << YAML::Value << YAML::Flow << YAML::BeginMap;
    if (amounts.tolerance_absolute_minor) {
      out << YAML::Key << "tolerance_absolute_minor" << YAML::Value
          << *amounts.tolerance_absolute_minor;
    }
    if (amounts.severity_amounts_minor) {
      out << YAML::Key << "severity_amounts_minor" << YAML::Value
          << *amounts.severity_amounts_minor;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "default_payment_terms_days" << YAML::Value << r.default_payment_terms_days;
  out << YAML::Key << "routing" << YAML::Value << YAML::BeginMap;
  for (const auto& [kind, route] : r.routing) {
    out << YAML::Key << kind << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "team" << YAML::Value << route.team;
    out << YAML::Key << "topic" << YAML::Value << route.topic;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::EndMap;
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (digits == 0 || ec != std::errc()) return std::nullopt;
  for (const auto& [unit, per] : kUnits) {
    if (text.substr(digits) != unit) continue;
    if (n > std::numeric_limits<int64_t>::max() / per) return std::nullopt;
    return Duration(n * per);
  }
  return std::nullopt;
}

std::string FormatDuration(Duration d) {
  const int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms < 0 && ms != std::numeric_limits<int64_t>::min()) return "-" + FormatDuration(-d);
  for (const auto& [unit, per] : kUnits) {
    if (ms % per == 0) return std::to_string(ms / per) + std::string(unit);
  }
  return std::to_string(ms) + "ms";  // unreachable: the last unit divides everything
}

std::optional<int64_t> ParseRatioPpm(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (!digits(whole) || (dot != std::string_view::npos && !digits(frac)) || frac.size() > 6) {
    return std::nullopt;
  }
  const size_t first = whole.find_first_not_of('0');
  const std::string_view units = first == std::string_view::npos ? "" : whole.substr(first);
  int64_t ppm = 0;
  for (size_t i = 0; i < 6; ++i) ppm = ppm * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  if (units.empty()) return ppm;
  if (units == "1" && ppm == 0) return 1'000'000;
  return std::nullopt;  // above 1
}

std::string FormatRatioPpm(int64_t ppm) {
  const std::string sign = ppm < 0 ? "-" : "";
  const uint64_t v = ppm < 0 ? 0 - static_cast<uint64_t>(ppm) : static_cast<uint64_t>(ppm);
  std::string frac = std::to_string(v % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  frac.erase(frac.find_last_not_of('0') + 1);
  return sign + std::to_string(v / 1'000'000) + (frac.empty() ? "" : "." + frac);
}

std::string FormatRules(const matcher::TenantRules& rules) {
  YAML::Emitter out;
  out.SetBoolFormat(YAML::TrueFalseBool);
  out.SetBoolFormat(YAML::LowerCase);
  EmitRules(out, rules);
  return out.c_str();
}

std::string FormatConfig(const Config& c) {
  YAML::Emitter out;
  out.SetBoolFormat(YAML::TrueFalseBool);
  out.SetBoolFormat(YAML::LowerCase);
  out << YAML::BeginMap;

  out << YAML::Key << "kafka" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "bootstrap_servers" << YAML::Value << c.kafka.bootstrap_servers;
  out << YAML::Key << "group_id" << YAML::Value << c.kafka.group_id;
  out << YAML::Key << "transactional_id" << YAML::Value << c.TransactionalId();
  out << YAML::Key << "start_from" << YAML::Value << c.kafka.start_from;
  out << YAML::Key << "create_topics" << YAML::Value << c.kafka.create_topics;
  out << YAML::Key << "topic_partitions" << YAML::Value << c.kafka.topic_partitions;
  out << YAML::Key << "properties" << YAML::Value << YAML::BeginMap;
  for (const auto& [key, value] : c.kafka.properties) {
    out << YAML::Key << key << YAML::Value
        << (IsSecretProperty(key) ? std::string(kRedacted) : value);
  }
  out << YAML::EndMap << YAML::EndMap;

  out << YAML::Key << "topics" << YAML::Value << YAML::BeginMap;
  EmitTopic(out, "deals", c.topics.deals);
  EmitTopic(out, "orders", c.topics.orders);
  EmitTopic(out, "invoices", c.topics.invoices);
  EmitTopic(out, "payments", c.topics.payments);
  out << YAML::Key << "exceptions" << YAML::Value << c.topics.exceptions;
  out << YAML::Key << "dlq" << YAML::Value << c.topics.dlq;
  out << YAML::Key << "commands" << YAML::Value << c.topics.commands;
  out << YAML::Key << "events" << YAML::Value << c.topics.events;
  out << YAML::Key << "exceptions_format" << YAML::Value << c.topics.exceptions_format;
  out << YAML::EndMap;

  out << YAML::Key << "state_dir" << YAML::Value << c.state_dir;
  out << YAML::Key << "store" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "block_cache_mb" << YAML::Value << c.store.block_cache_mb;
  out << YAML::Key << "write_buffer_mb" << YAML::Value << c.store.write_buffer_mb;
  out << YAML::Key << "sync_writes" << YAML::Value << c.store.sync_writes;
  out << YAML::Key << "state_cache_entries" << YAML::Value << c.store.state_cache_entries;
  out << YAML::EndMap;

  out << YAML::Key << "http" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "listen" << YAML::Value << c.http.listen;
  out << YAML::Key << "ready_max_lag" << YAML::Value << c.http.ready_max_lag;
  out << YAML::Key << "bearer_token_file" << YAML::Value << c.http.bearer_token_file;
  out << YAML::Key << "max_request_bytes" << YAML::Value << c.http.max_request_bytes;
  out << YAML::Key << "rate_limit_per_second" << YAML::Value << c.http.rate_limit_per_second;
  out << YAML::Key << "rate_limit_per_client_per_second" << YAML::Value
      << c.http.rate_limit_per_client_per_second;
  out << YAML::EndMap;

  out << YAML::Key << "report" << YAML::Value << YAML::BeginMap;
  EmitDuration(out, "trailing_period", c.report.trailing_period);
  out << YAML::EndMap;

  out << YAML::Key << "time" << YAML::Value << YAML::BeginMap;
  EmitDuration(out, "idle_after", c.time.idle_after);
  EmitDuration(out, "max_future_skew", c.time.max_future_skew);
  EmitDuration(out, "source_silence_limit", c.time.source_silence_limit);
  out << YAML::Key << "source_silence_limits" << YAML::Value << YAML::BeginMap;
  for (int i = 0; i < matcher::kSourceCount; ++i) {
    EmitDuration(out, std::string(kSourceNames[i]),
                 c.time.SilenceLimit(static_cast<matcher::Source>(i)));
  }
  out << YAML::EndMap;
  out << YAML::Key << "follow_wall_clock" << YAML::Value << c.time.follow_wall_clock;
  out << YAML::EndMap;

  out << YAML::Key << "pipeline" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "batch_max_records" << YAML::Value << c.pipeline.batch_max_records;
  out << YAML::Key << "batch_max_timers" << YAML::Value << c.pipeline.batch_max_timers;
  EmitDuration(out, "batch_max_wait", c.pipeline.batch_max_wait);
  out << YAML::Key << "tasks" << YAML::Value << c.pipeline.tasks;
  out << YAML::EndMap;

  out << YAML::Key << "limits" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max_record_bytes" << YAML::Value << c.limits.max_record_bytes;
  out << YAML::Key << "max_billing_periods" << YAML::Value << c.limits.max_billing_periods;
  out << YAML::EndMap;

  out << YAML::Key << "defaults" << YAML::Value;
  EmitRules(out, c.defaults);
  out << YAML::Key << "tenants" << YAML::Value << YAML::BeginMap;
  for (const auto& [tenant, rules] : c.tenants) {
    out << YAML::Key << tenant << YAML::Value;
    EmitRules(out, rules);
  }
  out << YAML::EndMap;

  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace closeloop::app
