// Configs that are refused, and how the refusal names file, line and field.
#include <functional>

#include "app/config_testing.h"

namespace closeloop::app {
namespace {

TEST(Config, RejectsUnknownTenantField) {
  ExpectRefused(
      {{"defaults:\n  order_window: 3d\ntenants:\n  acme:\n    order_windw: 5d\n", 5, 5,
        "tenants.acme.order_windw", "unknown field; expected one of: closed_won_stages"}});
  const ConfigError e = Refuse("tenants:\n  acme:\n    order_windw: 5d\n");
  EXPECT_THAT(e.message, HasSubstr("order_window"));
  EXPECT_EQ(e.ToString(),
            "test.yaml:3:5: field tenants.acme.order_windw: unknown field; expected one of: "
            "closed_won_stages, lost_stages, order_window, invoice_window, milestone_grace, "
            "payment_grace, orphan_window, require_order, tolerance, required_fields, "
            "fuzzy_match, escalation_ages, severity_amounts_minor, by_currency, "
            "default_payment_terms_days, routing");
}

TEST(Config, RejectsUnknownFieldsAtEveryLevel) {
  ExpectRefused({
      {"kafak:\n  group_id: x\n", 1, 1, "kafak", "unknown field; expected one of: kafka, topics"},
      {"kafka:\n  group: x\n", 2, 3, "kafka.group", "expected one of: bootstrap_servers"},
      {"topics:\n  orders: {name: erp.orders, fmt: json}\n", 2, 30, "topics.orders.fmt",
       "expected one of: name, format"},
      {"topics:\n  refunds: x\n", 2, 3, "topics.refunds", "unknown field"},
      {"http:\n  listen: 127.0.0.1:1\n  port: 2\n", 3, 3, "http.port", "unknown field"},
      {"time:\n  idle: 5s\n", 2, 3, "time.idle", "unknown field"},
      {"time:\n  source_silence_limits: {paymnts: 4d}\n", 2, 27,
       "time.source_silence_limits.paymnts", "expected one of: crm, erp, billing, payments"},
      {"pipeline:\n  batch_size: 1\n", 2, 3, "pipeline.batch_size", "unknown field"},
      {"limits:\n  max_bytes: 1\n", 2, 3, "limits.max_bytes", "unknown field"},
      {"defaults:\n  tolerance: {ratio: 0.01, abs: 5}\n", 2, 28, "defaults.tolerance.abs",
       "expected one of: ratio, absolute_minor"},
      {"defaults:\n  routing:\n    UNPAYED: {team: x}\n", 3, 5, "defaults.routing.UNPAYED",
       "unknown exception kind; expected one of: "},
      {"defaults:\n  routing:\n    UNPAID: {team: x, owner: y}\n", 3, 23,
       "defaults.routing.UNPAID.owner", "expected one of: team, topic"},
  });
}

TEST(Config, RejectsWrongTypes) {
  ExpectRefused({
      {"- a\n- b\n", 1, 1, "", "expected a map, got a list"},
      {"kafka: [a]\n", 1, 8, "kafka", "expected a map, got a list"},
      {"kafka:\n  group_id: {a: 1}\n", 2, 13, "kafka.group_id", "expected a string, got a map"},
      {"kafka:\n  topic_partitions: yes\n", 2, 21, "kafka.topic_partitions",
       "expected a whole number, got \"yes\""},
      {"kafka:\n  topic_partitions: 2.5\n", 2, 21, "kafka.topic_partitions",
       "expected a whole number"},
      {"kafka:\n  properties: {sasl.username: [a]}\n", 2, 31, "kafka.properties.sasl.username",
       "expected a string, got a list"},
      {"topics:\n  deals: [a]\n", 2, 10, "topics.deals", "expected a string, got a list"},
      {"state_dir:\n", 1, 1, "state_dir", "expected a string, got nothing"},
      {"defaults:\n  require_order: yes\n", 2, 18, "defaults.require_order",
       "expected true or false, got \"yes\""},
      {"defaults:\n  closed_won_stages: Closed Won\n", 2, 22, "defaults.closed_won_stages",
       "expected a list, got \"Closed Won\""},
      {"defaults:\n  required_fields: [po_number, {a: b}]\n", 2, 32, "defaults.required_fields[1]",
       "expected a string, got a map"},
      {"defaults:\n  tolerance: 0.01\n", 2, 14, "defaults.tolerance", "expected a map"},
      {"tenants: [acme]\n", 1, 10, "tenants", "expected a map, got a list"},
  });
}

TEST(Config, RejectsBadDurations) {
  ExpectRefused({
      {"defaults:\n  order_window: 3\n", 2, 17, "defaults.order_window",
       "a duration needs a unit: write 3s, 3d"},
      {"defaults:\n  order_window: 3 days\n", 2, 17, "defaults.order_window",
       "expected a duration"},
      {"defaults:\n  order_window: 1.5d\n", 2, 17, "defaults.order_window", "expected a duration"},
      {"defaults:\n  order_window: -1d\n", 2, 17, "defaults.order_window", "expected a duration"},
      {"defaults:\n  order_window: 0d\n", 2, 17, "defaults.order_window",
       "must be longer than zero"},
      {"defaults:\n  invoice_window: 100000d\n", 2, 19, "defaults.invoice_window",
       "must be at most 36500d"},
      // Too large for the arithmetic too: still a duration, still too long.
      {"defaults:\n  invoice_window: 9999999999999999d\n", 2, 19, "defaults.invoice_window",
       "must be at most 36500d"},
      {"defaults:\n  invoice_window: 99999999999999999999w\n", 2, 19, "defaults.invoice_window",
       "must be at most 36500d"},
      {"time:\n  idle_after: 5 s\n", 2, 15, "time.idle_after", "expected a duration"},
      {"time:\n  source_silence_limits: {crm: 0s}\n", 2, 32, "time.source_silence_limits.crm",
       "must be longer than zero"},
      {"pipeline:\n  batch_max_wait: {ms: 5}\n", 2, 19, "pipeline.batch_max_wait",
       "expected a duration"},
      {"defaults:\n  escalation_ages: [7d, 30d, 30d]\n", 2, 30, "defaults.escalation_ages[2]",
       "ages must increase"},
      {"defaults:\n  escalation_ages: [7d, 0s]\n", 2, 25, "defaults.escalation_ages[1]",
       "must be longer than zero"},
  });
  // Graces may be zero: "due means due".
  EXPECT_EQ(Load("defaults: {payment_grace: 0s, milestone_grace: 0d}\n").defaults.payment_grace,
            milliseconds(0));
}

TEST(Config, RejectsInvalidFormatAndEnumNames) {
  ExpectRefused({
      {"topics:\n  orders: {name: erp.orders, format: avro}\n", 2, 38, "topics.orders.format",
       "\"avro\" is not one of: auto, json, protobuf, confluent"},
      {"topics:\n  exceptions_format: xml\n", 2, 22, "topics.exceptions_format",
       "is not one of: json, protobuf"},
      {"kafka:\n  start_from: middle\n", 2, 15, "kafka.start_from",
       "is not one of: earliest, latest"},
      {"kafka:\n  bootstrap_servers: \", \"\n", 2, 22, "kafka.bootstrap_servers",
       "names no broker"},
      {"defaults:\n  required_fields: [po_number, iban]\n", 2, 32, "defaults.required_fields[1]",
       "\"iban\" is not one of: po_number, vat_id, billing_entity"},
  });
}

// fuzz_config: yaml-cpp 0.7's LoadAll never returns on this input (its parser
// keeps yielding empty documents, allocating until memory runs out).
TEST(Config, MalformedTextWhereTheParserStallsIsRefused) {
  const std::string text = "- a: b\n  c:\n    (x in (\n\"y\",\n    \"z\"\n    )  )  \n    )";
  EXPECT_THAT(Refuse(text).message, HasSubstr("more than one YAML document"));
}

TEST(Config, RejectsDuplicateKeys) {
  ExpectRefused({
      {"kafka: {}\nkafka: {}\n", 2, 1, "kafka", "duplicate field; first given on line 1"},
      {"kafka:\n  group_id: a\n  group_id: b\n", 3, 3, "kafka.group_id",
       "duplicate field; first given on line 2"},
      {"tenants:\n  acme: {}\n  acme: {}\n", 3, 3, "tenants.acme",
       "duplicate tenant; first given on line 2"},
      {"tenants:\n  acme:\n    require_order: true\n    require_order: false\n", 4, 5,
       "tenants.acme.require_order", "duplicate field"},
      {"kafka:\n  properties:\n    client.rack: x\n    client.rack: y\n", 4, 5,
       "kafka.properties.client.rack", "duplicate property"},
      // librdkafka's own refusals, at the line rather than when the clients
      // are made.
      {"kafka:\n  properties:\n    bogus.property: x\n", 3, 21, "kafka.properties.bogus.property",
       "librdkafka refuses it: No such configuration property"},
      {"kafka:\n  properties:\n    session.timeout.ms: abc\n", 3, 25,
       "kafka.properties.session.timeout.ms", "librdkafka refuses it: Invalid value"},
  });
}

TEST(Config, RejectsToleranceRatioOutsideZeroToOne) {
  ExpectRefused({
      {"defaults:\n  tolerance: {ratio: 1.5}\n", 2, 22, "defaults.tolerance.ratio",
       "expected a decimal from 0 to 1 with at most 6 decimal places"},
      {"defaults:\n  tolerance: {ratio: -0.1}\n", 2, 22, "defaults.tolerance.ratio",
       "got \"-0.1\""},
      {"tenants:\n  acme:\n    tolerance:\n      ratio: 2\n", 4, 14, "tenants.acme.tolerance.ratio",
       "from 0 to 1"},
      {"defaults:\n  tolerance: {ratio: 0.0000001}\n", 2, 22, "defaults.tolerance.ratio",
       "at most 6 decimal places"},
      {"defaults:\n  tolerance: {ratio: [0.1]}\n", 2, 22, "defaults.tolerance.ratio", "got a list"},
  });
}

TEST(Config, RejectsImpossibleValues) {
  ExpectRefused({
      {"kafka:\n  topic_partitions: 0\n", 2, 21, "kafka.topic_partitions",
       "must be between 1 and 10000"},
      {"kafka:\n  group_id: \"\"\n", 2, 13, "kafka.group_id", "must not be empty"},
      {"kafka:\n  properties:\n    bootstrap.servers: b:9092\n", 3, 5,
       "kafka.properties.bootstrap.servers", "set kafka.bootstrap_servers instead"},
      {"topics:\n  deals: crm deals\n", 2, 10, "topics.deals", "is not a Kafka topic name"},
      {"topics:\n  dlq: crm.deals\n", 2, 8, "topics.dlq",
       "topic \"crm.deals\" is already used by topics.deals"},
      {"topics:\n  orders: x\n  invoices: {name: x}\n", 3, 13, "topics.invoices",
       "already used by topics.orders"},
      {"http:\n  listen: localhost\n", 2, 11, "http.listen", "expected HOST:PORT"},
      {"http:\n  listen: \"host:99999\"\n", 2, 11, "http.listen", "expected HOST:PORT"},
      {"http:\n  listen: \"256.1.1.1:9464\"\n", 2, 11, "http.listen", "expected HOST:PORT"},
      {"http:\n  listen: \"[::1:9464\"\n", 2, 11, "http.listen", "expected HOST:PORT"},
      {"http:\n  listen: \"bad_host:9464\"\n", 2, 11, "http.listen", "expected HOST:PORT"},
      {"http:\n  listen: \"127.0.0.1:+80\"\n", 2, 11, "http.listen", "expected HOST:PORT"},
      {"defaults:\n  routing:\n    UNPAID: {topic: crm.deals}\n", 3, 21,
       "defaults.routing.UNPAID.topic", "topic \"crm.deals\" is topics.deals; a route copies"},
      {"topics:\n  dlq: dead\ntenants:\n  acme:\n    routing:\n      UNPAID:\n        topic: "
       "dead\n",
       7, 16, "tenants.acme.routing.UNPAID.topic", "is topics.dlq"},
      {"defaults:\n  routing:\n    UNPAID: {topic: closeloop.exceptions}\n", 3, 21,
       "defaults.routing.UNPAID.topic", "is topics.exceptions"},
      {"limits:\n  max_record_bytes: -1\n", 2, 21, "limits.max_record_bytes", "must be between"},
      {"store:\n  state_cache_entries: 10\n", 2, 24, "store.state_cache_entries",
       "must be between 1000 and 100000000"},
      {"defaults:\n  tolerance: {absolute_minor: -1}\n", 2, 31, "defaults.tolerance.absolute_minor",
       "must be at least 0"},
      {"defaults:\n  closed_won_stages: []\n", 2, 22, "defaults.closed_won_stages",
       "at least one stage"},
      {"tenants:\n  acme:\n    lost_stages: [Lost, closed won]\n", 3, 18,
       "tenants.acme.lost_stages", "stage \"Closed Won\" is both won and lost"},
      {"tenants:\n  acme:\n    lost_stages: [\" closed won \"]\n", 3, 18,
       "tenants.acme.lost_stages", "stage \"Closed Won\" is both won and lost"},
      {"defaults:\n  closed_won_stages: [Won, deleted]\n", 2, 22, "defaults.closed_won_stages",
       "stage \"deleted\" is both won and lost (source adapters give it to a deal its CRM "
       "deleted)"},
      {"defaults:\n  required_fields: [vat_id, vat_id]\n", 2, 29, "defaults.required_fields[1]",
       "listed twice"},
      {"defaults:\n  severity_amounts_minor: [100, 10]\n", 2, 27, "defaults.severity_amounts_minor",
       "expected exactly 3 amounts"},
      {"defaults:\n  severity_amounts_minor: [100, 100, 10]\n", 2, 33,
       "defaults.severity_amounts_minor[1]", "amounts must decrease"},
      {"defaults:\n  severity_amounts_minor: [100, 10, 0]\n", 2, 37,
       "defaults.severity_amounts_minor[2]", "must be at least 1"},
      {"defaults:\n  by_currency:\n    yen: {}\n", 3, 10, "defaults.by_currency.yen",
       "\"yen\" is not an ISO 4217 currency code"},
      {"defaults:\n  by_currency:\n    JPY: {severity_amounts_minor: [1, 2, 3]}\n", 3, 39,
       "defaults.by_currency.JPY.severity_amounts_minor[1]", "amounts must decrease"},
      {"defaults:\n  by_currency:\n    JPY: {tolerance: 5}\n", 3, 11,
       "defaults.by_currency.JPY.tolerance", "unknown field"},
      {"defaults:\n  default_payment_terms_days: -1\n", 2, 31,
       "defaults.default_payment_terms_days", "must be between 0 and 3650"},
      {"defaults:\n  routing:\n    UNPAID: {team: \"\"}\n", 3, 20, "defaults.routing.UNPAID.team",
       "must not be empty"},
      {"tenants:\n  \"\": {}\n", 2, 3, "tenants.", "a tenant id must not be empty"},
      {"kafka: {}\n---\ntopics: {}\n", 2, 1, "", "more than one YAML document"},
      // fuzz_config: a property name with bytes that do not print back.
      {"kafka:\n  properties:\n    \"sasl\\x85x\": a\n", 3, 5, "kafka.properties.sasl\xC2\x85x",
       "not a librdkafka property name"},
      // fuzz_config: two tenant names differing only in bytes that are not
      // UTF-8 printed as one (yaml-cpp prints such bytes as U+FFFD).
      {"tenants:\n  acme: {}\n  pg-\xff: {}\n  pg-\xfe: {}\n", 3, 0, "",
       "not UTF-8 text; a config must be UTF-8"},
      // fuzz_config: a raw NUL in a tenant name printed back as a byte that
      // is not UTF-8.
      {std::string("tenants:\n  acm\0e: {}\n", 21), 2, 6, "",
       "a control character (byte 0); config text must be printable"},
      // fuzz_config: a carriage return inside a value, raw or escaped, and
      // in a name: yaml-cpp printed "sswkrd:\r" unquoted, which reads back as
      // a map value.
      {"kafka:\n  properties:\n    ld: sswkrd:\r \n", 3, 9, "kafka.properties.ld",
       "holds a control character (byte 13); config text must be printable"},
      {"kafka:\n  properties:\n    ld: \"a:\\r\"\n", 3, 9, "kafka.properties.ld",
       "holds a control character (byte 13)"},
      {"tenants:\n  \"acme\\r\": {}\n", 2, 3, "tenants.acme\r",
       "name holds a control character (byte 13)"},
  });
}

TEST(Config, ReportsYamlSyntaxErrorsWithTheirLine) {
  ExpectRefused({
      {"kafka:\n  group_id: a\n   bad: 2\n", 3, 7, "", "YAML syntax"},
      {"defaults:\n  closed_won_stages: [\"Closed Won\"\n  lost_stages: []\n", 3, 3, "",
       "YAML syntax"},
      {"kafka: *nowhere\n", 1, 8, "", "YAML syntax"},
  });
}

TEST(Config, MissingFileIsAnErrorWithoutALine) {
  auto loaded = LoadConfigFile("/nonexistent/closeloop/config.yaml");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(loaded));
  const ConfigError& e = std::get<ConfigError>(loaded);
  EXPECT_EQ(e.file, "/nonexistent/closeloop/config.yaml");
  EXPECT_EQ(e.line, 0);
  EXPECT_EQ(e.ToString(),
            "/nonexistent/closeloop/config.yaml: cannot open: No such file or directory");

  auto directory = LoadConfigFile(kAppDir.string());
  ASSERT_TRUE(std::holds_alternative<ConfigError>(directory));
  EXPECT_EQ(std::get<ConfigError>(directory).line, 0);
}

// A file that never ends, or one of gigabytes, is refused once it passes
// 16 MiB, not read until memory runs out.
TEST(Config, EndlessOrHugeFileIsRefused) {
  auto endless = LoadConfigFile("/dev/zero");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(endless));
  EXPECT_EQ(std::get<ConfigError>(endless).ToString(),
            "/dev/zero: holds more than 16777216 bytes; is it the right file?");
}

TEST(Config, ErrorsFormatAsFileLineColumnFieldMessage) {
  EXPECT_EQ((ConfigError{"c.yaml", 5, 3, "tenants.acme.x", "unknown field"}).ToString(),
            "c.yaml:5:3: field tenants.acme.x: unknown field");
  EXPECT_EQ((ConfigError{"c.yaml", 0, 0, "kafka", "bad"}).ToString(), "c.yaml: field kafka: bad");
  EXPECT_EQ((ConfigError{"c.yaml", 2, 7, "", "YAML syntax: x"}).ToString(),
            "c.yaml:2:7: YAML syntax: x");
}

// Kafka's topic name rule at its edges: 249 characters, "." and "..".
TEST(Config, TopicNamesFollowKafkasRuleAtItsEdges) {
  const std::string longest(249, 't');
  EXPECT_EQ(Load("topics:\n  dlq: " + longest + "\n").topics.dlq, longest);
  ExpectRefused({
      {"topics:\n  dlq: " + longest + "x\n", 2, 8, "topics.dlq", "is not a Kafka topic name"},
      {"topics:\n  dlq: \".\"\n", 2, 8, "topics.dlq", "is not a Kafka topic name"},
      {"topics:\n  exceptions: \"..\"\n", 2, 15, "topics.exceptions", "is not a Kafka topic name"},
  });
}

// A tab is text; DEL is a control character like the bytes below 0x20.
TEST(Config, DeleteIsAControlCharacterAndTabIsNot) {
  ExpectRefused(
      {{"state_dir: \"a\\x7Fb\"\n", 1, 12, "state_dir", "holds a control character (byte 127)"}});
  EXPECT_EQ(Load("state_dir: \"a\\tb\"\n").state_dir, "a\tb");
  // A PEM property spans lines: line feeds are text in a value.
  const Config c = Load(
      "kafka:\n  properties:\n    ssl.certificate.pem: |\n      -----BEGIN CERTIFICATE-----\n"
      "      MIIB\n      -----END CERTIFICATE-----\n");
  EXPECT_EQ(c.kafka.properties.at("ssl.certificate.pem"),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
}

TEST(Config, BooleansTakeYamlsThreeSpellings) {
  for (const char* yes : {"true", "True", "TRUE"}) {
    EXPECT_TRUE(Load(std::string("store: {sync_writes: ") + yes + "}\n").store.sync_writes) << yes;
  }
  for (const char* no : {"false", "False", "FALSE"}) {
    EXPECT_FALSE(Load(std::string("kafka: {create_topics: ") + no + "}\n").kafka.create_topics)
        << no;
  }
}

// The upper bounds the README gives are accepted; one more is refused.
TEST(Config, BoundsAreInclusive) {
  const Config c = Load(
      "kafka: {topic_partitions: 10000}\npipeline: {tasks: 1024, batch_max_timers: 1000000}\n"
      "store: {state_cache_entries: 100000000}\ndefaults: {invoice_window: 36500d}\n");
  EXPECT_EQ(c.kafka.topic_partitions, 10000);
  EXPECT_EQ(c.pipeline.tasks, 1024);
  EXPECT_EQ(c.pipeline.batch_max_timers, 1'000'000);
  EXPECT_EQ(c.store.state_cache_entries, 100'000'000);
  EXPECT_EQ(c.defaults.invoice_window, 36500 * kDay);
  ExpectRefused({
      {"pipeline: {tasks: 1025}\n", 1, 19, "pipeline.tasks", "must be between 1 and 1024"},
      {"defaults: {invoice_window: 36501d}\n", 1, 28, "defaults.invoice_window",
       "must be at most 36500d"},
  });
}

// A number beyond what a field holds says so, on fields with no upper bound
// of their own too (not "must be at least 0" for 20 digits).
TEST(Config, NumbersTooLargeForAnyBoundSayTheyAreTooLarge) {
  ExpectRefused({
      {"defaults:\n  tolerance: {absolute_minor: 99999999999999999999}\n", 2, 31,
       "defaults.tolerance.absolute_minor", "must be at most 9223372036854775807"},
      {"defaults:\n  severity_amounts_minor: [99999999999999999999, 10, 1]\n", 2, 28,
       "defaults.severity_amounts_minor[0]", "must be at most 9223372036854775807"},
      {"defaults:\n  tolerance: {absolute_minor: -99999999999999999999}\n", 2, 31,
       "defaults.tolerance.absolute_minor", "must be at least 0"},
      {"kafka:\n  topic_partitions: 99999999999999999999\n", 2, 21, "kafka.topic_partitions",
       "must be between 1 and 10000"},
  });
}

// Fields whose default is "" take an empty value written as nothing.
TEST(Config, EmptyValueOfAFieldThatMayBeEmptyIsEmpty) {
  const Config c = Load(
      "kafka:\n  bootstrap_servers:\n  transactional_id:\n"
      "http:\n  bearer_token_file:\n");
  EXPECT_EQ(c.kafka.bootstrap_servers, "");
  EXPECT_EQ(c.kafka.transactional_id, "");
  EXPECT_EQ(c.http.bearer_token_file, "");
}

// Every bounded number of README's configuration reference: both ends are
// accepted, one beyond either end is refused naming the line, the field and
// the range.
TEST(Config, EveryBoundedNumberIsRefusedJustOutsideItsReadmeRange) {
  struct Bound {
    std::string section, field;
    int64_t min, max;
    std::function<int64_t(const Config&)> get;
  };
  const std::vector<Bound> bounds = {
      {"kafka", "topic_partitions", 1, 10'000,
       [](const Config& c) { return c.kafka.topic_partitions; }},
      {"store", "block_cache_mb", 1, 1'048'576,
       [](const Config& c) { return c.store.block_cache_mb; }},
      {"store", "write_buffer_mb", 1, 1'048'576,
       [](const Config& c) { return c.store.write_buffer_mb; }},
      {"store", "state_cache_entries", 1000, 100'000'000,
       [](const Config& c) { return c.store.state_cache_entries; }},
      {"http", "ready_max_lag", 0, int64_t{1} << 50,
       [](const Config& c) { return c.http.ready_max_lag; }},
      {"http", "max_request_bytes", 1024, int64_t{1} << 30,
       [](const Config& c) { return c.http.max_request_bytes; }},
      {"http", "rate_limit_per_second", 0, 1'000'000,
       [](const Config& c) { return c.http.rate_limit_per_second; }},
      {"http", "rate_limit_per_client_per_second", 0, 1'000'000,
       [](const Config& c) { return c.http.rate_limit_per_client_per_second; }},
      {"pipeline", "batch_max_records", 1, 1'000'000,
       [](const Config& c) { return c.pipeline.batch_max_records; }},
      {"pipeline", "batch_max_timers", 1, 1'000'000,
       [](const Config& c) { return c.pipeline.batch_max_timers; }},
      {"pipeline", "tasks", 1, 1024, [](const Config& c) { return c.pipeline.tasks; }},
      {"limits", "max_record_bytes", 1, int64_t{1} << 30,
       [](const Config& c) { return static_cast<int64_t>(c.limits.max_record_bytes); }},
      {"limits", "max_billing_periods", 1, 1'000'000,
       [](const Config& c) { return c.limits.max_billing_periods; }},
      {"defaults", "default_payment_terms_days", 0, 3650,
       [](const Config& c) { return c.defaults.default_payment_terms_days; }},
  };
  for (const Bound& b : bounds) {
    SCOPED_TRACE(b.section + "." + b.field);
    auto yaml = [&](int64_t v) {
      return b.section + ":\n  " + b.field + ": " + std::to_string(v) + "\n";
    };
    EXPECT_EQ(b.get(Load(yaml(b.min))), b.min);
    EXPECT_EQ(b.get(Load(yaml(b.max))), b.max);
    const std::string range =
        "must be between " + std::to_string(b.min) + " and " + std::to_string(b.max);
    const int column = static_cast<int>(b.field.size()) + 5;  // after "  FIELD: "
    ExpectRefused({{yaml(b.min - 1), 2, column, b.section + "." + b.field, range},
                   {yaml(b.max + 1), 2, column, b.section + "." + b.field, range}});
  }
}

// README: a duration is "more than zero except milestone_grace and
// payment_grace". Every other duration refuses 0s, naming its line.
TEST(Config, EveryDurationButTheGracesIsRefusedAtZero) {
  const std::vector<std::pair<std::string, std::string>> durations = {
      {"report", "trailing_period"},  {"time", "idle_after"},
      {"time", "max_future_skew"},    {"time", "source_silence_limit"},
      {"pipeline", "batch_max_wait"}, {"defaults", "order_window"},
      {"defaults", "invoice_window"}, {"defaults", "orphan_window"}};
  for (const auto& [section, field] : durations) {
    ExpectRefused({{section + ":\n  " + field + ": 0s\n", 2, static_cast<int>(field.size()) + 5,
                    section + "." + field, "must be longer than zero"}});
  }
  const Config graces = Load("tenants:\n  acme: {milestone_grace: 0s, payment_grace: 0ms}\n");
  EXPECT_EQ(graces.tenants.at("acme").milestone_grace, milliseconds(0));
  EXPECT_EQ(graces.tenants.at("acme").payment_grace, milliseconds(0));
}

// README: bootstrap.servers, group.id and transactional.id are refused in
// kafka.properties, each naming the field that sets it.
TEST(Config, PropertiesThatHaveTheirOwnFieldAreRefusedNamingIt) {
  ExpectRefused({
      {"kafka:\n  properties:\n    group.id: other\n", 3, 5, "kafka.properties.group.id",
       "set kafka.group_id instead"},
      {"kafka:\n  properties:\n    transactional.id: other-outbox\n", 3, 5,
       "kafka.properties.transactional.id", "set kafka.transactional_id instead"},
  });
}

// topics.events is one of `topics` like the others: no other role may use
// its name, and no route may copy exception records to it (the matcher
// tasks would read them as input).
TEST(Config, TheEventsTopicPlaysOneRoleAndGetsNoRouteCopies) {
  ExpectRefused({
      {"topics:\n  events: crm.deals\n", 2, 11, "topics.events",
       "topic \"crm.deals\" is already used by topics.deals"},
      {"defaults:\n  routing:\n    UNPAID: {topic: closeloop.events}\n", 3, 21,
       "defaults.routing.UNPAID.topic", "topic \"closeloop.events\" is topics.events"},
  });
}

// A raw DEL byte is refused wherever it is, in a comment too, as the bytes
// below 0x20 are (yaml-cpp would skip it there, and print it back nowhere).
TEST(Config, ARawDeleteByteIsRefusedEvenInAComment) {
  ExpectRefused({{"kafka: {}\n# a \x7F comment\n", 2, 5, "",
                  "a control character (byte 127); config text must be printable"}});
}

// A property librdkafka refuses names it without the value when the value
// is a secret: a config error is printed and logged.
TEST(Config, APropertyLibrdkafkaRefusesIsNamedWithoutASecretsValue) {
  const ConfigError e = Refuse("kafka:\n  properties:\n    my.password: hunter2\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.field, "kafka.properties.my.password");
  EXPECT_EQ(e.message, "librdkafka refuses it: (value redacted)");
}

}  // namespace
}  // namespace closeloop::app
