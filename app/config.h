// The service's configuration (SPEC §4 and §10): one YAML file with defaults,
// per-tenant overrides and Kafka passthrough. Every field says its default;
// README's configuration reference mirrors this file. Values; thread-compatible.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ingest/decode.h"
#include "ingest/mapping.h"
#include "matcher/tenant.h"

namespace closeloop::app {

using matcher::Duration;

struct KafkaConfig {
  // Comma-separated brokers. Empty: start the embedded Kafka. Default: ""
  std::string bootstrap_servers;
  // Consumer group of the service. Default: "closeloop"
  std::string group_id = "closeloop";
  // Where to start when no offsets are stored: "earliest" or "latest".
  // Default: "earliest"
  std::string start_from = "earliest";
  // Create the topics closeloop reads and writes if missing. Default: true
  bool create_topics = true;
  // Partitions of topics closeloop creates. Default: 3
  int topic_partitions = 3;
  // transactional.id of the producer that publishes the outbox. One running
  // instance per id: a second one fences the first. Default: "" (group_id
  // followed by "-outbox")
  std::string transactional_id;
  // Any librdkafka property, passed through to every client (e.g.
  // security.protocol, sasl.mechanisms, sasl.username). Default: {}
  std::map<std::string, std::string> properties;
};

// An input topic: its name and wire format.
struct InputTopic {
  std::string name;
  // json | protobuf | confluent | auto | debezium | salesforce-cdc. Default: auto
  ingest::Format format = ingest::Format::kAuto;
  // Source adapters only (debezium, salesforce-cdc), where it is required:
  // source paths -> canonical fields, and the won-predicate (config_mapping.h).
  std::optional<ingest::Mapping> mapping;
};

struct TopicsConfig {
  InputTopic deals{"crm.deals"};                    // Default: crm.deals
  InputTopic orders{"erp.orders"};                  // Default: erp.orders
  InputTopic invoices{"billing.invoices"};          // Default: billing.invoices
  InputTopic payments{"billing.payments"};          // Default: billing.payments
  std::string exceptions = "closeloop.exceptions";  // Default: closeloop.exceptions
  std::string dlq = "closeloop.dlq";                // Default: closeloop.dlq
  std::string commands = "closeloop.commands";      // Default: closeloop.commands
  // The internal topic of re-keyed events between the ingest stage and the
  // matcher tasks; used when pipeline.tasks > 1, with one partition per
  // task. Default: closeloop.events
  std::string events = "closeloop.events";
  // Encoding of exception records: "json" or "protobuf". Default: json
  std::string exceptions_format = "json";

  // The seven standard topics closeloop reads or writes (not routing's).
  std::vector<std::string> Names() const {
    return {deals.name, orders.name, invoices.name, payments.name, exceptions, dlq, commands};
  }
};

// The sources by matcher::Source, as the config, metrics and records name them.
constexpr std::array<std::string_view, matcher::kSourceCount> kSourceNames = {
    "crm", "erp", "billing", "payments"};

struct TimeConfig {
  // A caught-up partition idle this long advances its watermark by the wall
  // clock. Default: 5s
  Duration idle_after = std::chrono::seconds(5);
  // Event times further than this ahead of the wall clock are clamped for
  // watermark purposes. Default: 1d
  Duration max_future_skew = matcher::kDay;
  // A source that received nothing this long is stalled. Default: 1d
  Duration source_silence_limit = matcher::kDay;
  // The same for one source (by matcher::Source: crm, erp, billing,
  // payments), e.g. a payments feed settled once a night; zero: that source
  // takes source_silence_limit. Default: all zero
  std::array<Duration, matcher::kSourceCount> source_silence_limits{};
  // The silence limit of `source`.
  Duration SilenceLimit(matcher::Source source) const {
    const Duration own = source_silence_limits[static_cast<size_t>(source)];
    return own == Duration::zero() ? source_silence_limit : own;
  }
  // Whether caught-up, idle partitions advance by the wall clock (live
  // operation). false: watermarks follow event time only, so a replay gives
  // the same records whenever it runs; deadlines after the newest event
  // wait for newer events. Default: true
  bool follow_wall_clock = true;
};

struct HttpConfig {
  // host:port of /metrics, /healthz, /readyz, /v1/*. Default: 127.0.0.1:9464
  std::string listen = "127.0.0.1:9464";
  // /readyz answers 200 only while the assigned input partitions are behind
  // their high watermarks by at most this many records in total. Default: 1000
  int64_t ready_max_lag = 1000;
  // A file holding the bearer token /v1/* requires ("Authorization: Bearer
  // TOKEN"); the token itself is never in the config or its printout.
  // Empty: /v1/* is open. /metrics, /healthz, /readyz are always open.
  // Default: ""
  std::string bearer_token_file;
  // Largest request body accepted; larger ones get 413. Default: 65536
  int64_t max_request_bytes = 64 * 1024;
  // /v1/* requests per second (all clients together); the rest get 429.
  // 0: unlimited. Default: 50
  int rate_limit_per_second = 50;
  // /v1/* requests per second from one client address. 0: no per-client
  // limit. Default: 20
  int rate_limit_per_client_per_second = 20;
};

struct ReportConfig {
  // Realization (closeloop_realization_ratio, `closeloop report`) is over the
  // deals closed this long before now. Default: 90d
  Duration trailing_period = 90 * matcher::kDay;
};

// The RocksDB state store in state_dir (state/store.h).
struct StoreConfig {
  // Block cache for reads, in MiB. Default: 64
  int block_cache_mb = 64;
  // Memory for all write buffers (memtables) together, in MiB. Default: 32
  int write_buffer_mb = 32;
  // fsync the write-ahead log at every batch: a committed batch then also
  // survives power loss, not only a process crash. Default: false
  bool sync_writes = false;
  // Decoded deal, order and invoice states kept in memory between batches
  // (least recently used dropped first; about 1 KB each). Default: 100000
  int state_cache_entries = 100000;
};

struct PipelineConfig {
  // Most records handled in one batch. Default: 10000
  int batch_max_records = 10000;
  // Most deadline timers fired in one batch. When the watermarks jump (a
  // restart after a long stop, a feed catching up) and more are due, the
  // following batches fire the rest, in order, before more input is read;
  // this bounds a batch's memory. Default: 10000
  int batch_max_timers = 10000;
  // Longest a batch waits to fill; a batch holding records ends sooner when
  // every input partition is at its end. Default: 100ms
  Duration batch_max_wait = std::chrono::milliseconds(100);
  // Matcher tasks. 1: one process reads the input topics and matches
  // (no internal topic). N > 1: an ingest stage (`closeloop run --role
  // ingest`) re-keys every event by tenant onto topics.events, which has N
  // partitions, and matcher task K (`--role matcher --task K`) matches
  // partition K (README "Scaling out"). Default: 1
  int tasks = 1;
};

struct Config {
  KafkaConfig kafka;
  TopicsConfig topics;
  // Directory of the state store. Default: ./closeloop-state
  std::string state_dir = "./closeloop-state";
  StoreConfig store;
  HttpConfig http;
  ReportConfig report;
  TimeConfig time;
  PipelineConfig pipeline;
  ingest::Limits limits;
  // What every tenant inherits (SPEC §4).
  matcher::TenantRules defaults;
  // Per-tenant overrides, already merged over `defaults`.
  std::map<std::string, matcher::TenantRules, std::less<>> tenants;

  // The rules of `tenant`: its overrides, or the defaults when not listed.
  const matcher::TenantRules& RulesFor(std::string_view tenant) const;
  // kafka.transactional_id, or its default.
  std::string TransactionalId() const {
    return kafka.transactional_id.empty() ? kafka.group_id + "-outbox" : kafka.transactional_id;
  }
};

// Where and why a config was refused.
struct ConfigError {
  std::string file;
  int line = 0;       // 1-based; 0 when unknown
  int column = 0;     // 1-based; 0 when unknown
  std::string field;  // dotted path, e.g. "tenants.acme.order_window"
  std::string message;
  // "FILE:LINE:COL: field FIELD: MESSAGE" (without what is unknown)
  std::string ToString() const;
};

// Parses "500ms", "30s", "15m", "12h", "3d", "2w". Returns nullopt on anything
// else (no sign, no fractions, no unit-less numbers).
std::optional<Duration> ParseDuration(std::string_view text);
// The shortest exact form, e.g. 72h -> "3d".
std::string FormatDuration(Duration d);

// Parses a ratio written as a decimal in [0, 1] with at most 6 decimal places
// ("0.005", "1", "0.0125") into parts per million (5000, 1000000, 12500),
// digit by digit: money rules never meet floating point. Returns nullopt on
// anything else ("1.5", "5e-3", "0.0000001", "-0.1").
std::optional<int64_t> ParseRatioPpm(std::string_view text);
// 5000 -> "0.005": the shortest decimal that ParseRatioPpm reads back.
std::string FormatRatioPpm(int64_t ppm);

// Whether a bootstrap list (HOST:PORT, comma-separated) names a broker:
// librdkafka takes one that names none ("," or " ") and waits for ever.
bool NamesABroker(std::string_view servers);
// Why a --bootstrap flag is refused, for CLI11 (empty when it is not).
std::string CheckBootstrapFlag(const std::string& servers);

// Reads and validates a config. Unknown fields, wrong types, bad durations,
// bad enum values and impossible values are errors naming the line and field.
std::variant<Config, ConfigError> LoadConfigFile(const std::string& path);
// Same, from text; `file` is used in error messages.
std::variant<Config, ConfigError> LoadConfigText(std::string_view yaml, const std::string& file);

// Whether a librdkafka property holds a credential or private key
// (sasl.password, ssl.key.password, ...): never printed or logged; kRedacted
// stands where its value would.
bool IsSecretProperty(std::string key);
inline constexpr std::string_view kRedacted = "[redacted]";

// A tenant's rules as FormatConfig shows them, every field: two texts are
// equal exactly when the rules are.
std::string FormatRules(const matcher::TenantRules& rules);

// The effective config as YAML, every default filled in. Secrets in
// kafka.properties (passwords, keys, tokens) are shown as "[redacted]".
std::string FormatConfig(const Config& config);

}  // namespace closeloop::app
