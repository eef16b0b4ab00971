#include "app/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace closeloop::app {
namespace {

using matcher::kDay;
using matcher::Route;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kAppDir = std::filesystem::path(__FILE__).parent_path();

// matcher::Route has no operator==; "team -> topic" compares and prints well.
std::string Show(const Route& r) { return r.team + " -> " + r.topic; }

Config Load(std::string_view yaml) {
  auto loaded = LoadConfigText(yaml, "test.yaml");
  if (auto* error = std::get_if<ConfigError>(&loaded)) {
    ADD_FAILURE() << "refused: " << error->ToString() << "\n" << yaml;
    return Config{};
  }
  return std::get<Config>(std::move(loaded));
}

ConfigError Refuse(std::string_view yaml) {
  auto loaded = LoadConfigText(yaml, "test.yaml");
  if (std::holds_alternative<Config>(loaded)) {
    ADD_FAILURE() << "accepted:\n" << yaml;
    return ConfigError{};
  }
  return std::get<ConfigError>(loaded);
}

// A config the file refuses: where, which field, and part of the message.
struct Refused {
  std::string yaml;
  int line;
  int column;
  std::string field;
  std::string message;
};

void ExpectRefused(const std::vector<Refused>& cases) {
  for (const Refused& c : cases) {
    SCOPED_TRACE(c.yaml);
    const ConfigError e = Refuse(c.yaml);
    EXPECT_EQ(e.file, "test.yaml");
    EXPECT_EQ(e.line, c.line) << e.ToString();
    EXPECT_EQ(e.column, c.column) << e.ToString();
    EXPECT_EQ(e.field, c.field) << e.ToString();
    EXPECT_THAT(e.message, HasSubstr(c.message));
  }
}

TEST(Config, EmptyFileMeansAllDefaults) {
  for (const char* text : {"", "# nothing but a comment\n", "---\n", "\n\n"}) {
    SCOPED_TRACE(text);
    const Config c = Load(text);
    EXPECT_EQ(c.kafka.bootstrap_servers, "");
    EXPECT_EQ(c.kafka.group_id, "closeloop");
    EXPECT_EQ(c.kafka.start_from, "earliest");
    EXPECT_TRUE(c.kafka.create_topics);
    EXPECT_EQ(c.kafka.topic_partitions, 3);
    EXPECT_TRUE(c.kafka.properties.empty());
    EXPECT_EQ(c.topics.deals.name, "crm.deals");
    EXPECT_EQ(c.topics.deals.format, ingest::Format::kAuto);
    EXPECT_EQ(c.topics.payments.name, "billing.payments");
    EXPECT_EQ(c.topics.exceptions, "closeloop.exceptions");
    EXPECT_EQ(c.topics.exceptions_format, "json");
    EXPECT_EQ(c.state_dir, "./closeloop-state");
    EXPECT_EQ(c.http.listen, "127.0.0.1:9464");
    EXPECT_EQ(c.time.idle_after, seconds(5));
    EXPECT_EQ(c.pipeline.batch_max_wait, milliseconds(100));
    EXPECT_EQ(c.limits.max_record_bytes, 1u << 20);
    EXPECT_EQ(c.defaults.order_window, 3 * kDay);
    EXPECT_EQ(c.defaults.tolerance_ppm, 5000);
    EXPECT_EQ(c.defaults.tolerance_absolute_minor, 100);
    EXPECT_THAT(c.defaults.closed_won_stages, ElementsAre("Closed Won"));
    EXPECT_EQ(c.defaults.routing.at("UNPAID").team, "collections");
    EXPECT_TRUE(c.tenants.empty());
    EXPECT_EQ(FormatConfig(c), FormatConfig(Config{}));
  }
}

TEST(Config, SectionsGivenWithNothingInThemKeepTheirDefaults) {
  const Config c = Load("kafka:\ndefaults:\ntenants:\n  acme:\n");
  ASSERT_EQ(c.tenants.count("acme"), 1u);
  Config expected;
  expected.tenants["acme"] = expected.defaults;
  EXPECT_EQ(FormatConfig(c), FormatConfig(expected));
}

TEST(Config, LoadsEverySectionOfAFullFile) {
  auto loaded = LoadConfigFile((kAppDir / "testdata/full.yaml").string());
  ASSERT_TRUE(std::holds_alternative<Config>(loaded)) << std::get<ConfigError>(loaded).ToString();
  const Config& c = std::get<Config>(loaded);
  EXPECT_EQ(c.kafka.bootstrap_servers, "broker-1:9092,broker-2:9092");
  EXPECT_EQ(c.kafka.group_id, "closeloop-prod");
  EXPECT_EQ(c.kafka.start_from, "latest");
  EXPECT_FALSE(c.kafka.create_topics);
  EXPECT_EQ(c.kafka.topic_partitions, 12);
  EXPECT_EQ(c.kafka.properties.size(), 5u);
  EXPECT_EQ(c.kafka.properties.at("sasl.password"), "hunter2");  // only output is redacted
  EXPECT_EQ(c.kafka.properties.at("session.timeout.ms"), "45000");
  EXPECT_EQ(c.topics.deals.name, "sfdc.opportunities");
  EXPECT_EQ(c.topics.deals.format, ingest::Format::kJson);
  EXPECT_EQ(c.topics.orders.format, ingest::Format::kProtobuf);
  EXPECT_EQ(c.topics.invoices.format, ingest::Format::kConfluent);
  EXPECT_EQ(c.topics.payments.name, "stripe.payments");
  EXPECT_EQ(c.topics.payments.format, ingest::Format::kAuto);
  EXPECT_EQ(c.topics.exceptions, "revenue.exceptions");
  EXPECT_EQ(c.topics.dlq, "revenue.dlq");
  EXPECT_EQ(c.topics.commands, "revenue.commands");
  EXPECT_EQ(c.topics.exceptions_format, "protobuf");
  EXPECT_EQ(c.state_dir, "/var/lib/closeloop");
  EXPECT_EQ(c.http.listen, "0.0.0.0:8080");
  EXPECT_EQ(c.time.idle_after, seconds(10));
  EXPECT_EQ(c.time.max_future_skew, hours(12));
  EXPECT_EQ(c.time.source_silence_limit, 2 * kDay);
  EXPECT_EQ(c.pipeline.batch_max_records, 500);
  EXPECT_EQ(c.pipeline.batch_max_wait, milliseconds(250));
  EXPECT_EQ(c.limits.max_record_bytes, 2097152u);
  EXPECT_EQ(c.limits.max_billing_periods, 120);

  const matcher::TenantRules& d = c.defaults;
  EXPECT_THAT(d.closed_won_stages, ElementsAre("Closed Won", "Won"));
  EXPECT_THAT(d.lost_stages, ElementsAre("Closed Lost", "Disqualified"));
  EXPECT_EQ(d.order_window, 2 * kDay);
  EXPECT_EQ(d.invoice_window, 14 * kDay);
  EXPECT_EQ(d.milestone_grace, 3 * kDay);
  EXPECT_EQ(d.payment_grace, milliseconds(0));
  EXPECT_EQ(d.orphan_window, 10 * kDay);
  EXPECT_FALSE(d.require_order);
  EXPECT_EQ(d.tolerance_ppm, 12500);
  EXPECT_EQ(d.tolerance_absolute_minor, 50);
  EXPECT_THAT(d.required_fields, ElementsAre("po_number", "vat_id"));
  EXPECT_FALSE(d.fuzzy_match);
  EXPECT_THAT(d.escalation_ages, ElementsAre(kDay, 7 * kDay, 28 * kDay));
  EXPECT_THAT(d.severity_amounts_minor, ElementsAre(5'000'000, 500'000, 50'000));
  EXPECT_EQ(d.default_payment_terms_days, 45);
  EXPECT_EQ(Show(d.routing.at("UNPAID")), "ar -> revenue.exceptions.ar");
  EXPECT_EQ(Show(d.routing.at("ORPHAN_INVOICE")), "billing -> ");
  EXPECT_EQ(Show(d.routing.at("ORPHAN_ORDER")), "revops -> ");
  EXPECT_EQ(d.routing.size(), 9u);

  ASSERT_EQ(c.tenants.size(), 2u);
  const matcher::TenantRules& globex = c.tenants.at("globex");
  EXPECT_THAT(globex.closed_won_stages, ElementsAre("Closed Won", "Signed"));
  EXPECT_TRUE(globex.require_order);
  EXPECT_EQ(globex.tolerance_ppm, 1'000'000);
  EXPECT_EQ(globex.tolerance_absolute_minor, 50);
  EXPECT_EQ(Show(globex.routing.at("UNPAID")), "globex-collections -> revenue.exceptions.ar");
  EXPECT_EQ(Show(globex.routing.at("MISSING_ORDER")), "revops -> globex.revops");
}

TEST(Config, TenantOverridesInheritEveryOtherFieldFromTheDefaults) {
  // Tenants come first on purpose: the file's order does not matter.
  const Config c = Load(R"(tenants:
  acme:
    required_fields: [po_number]
    tolerance: {ratio: 0.01}
defaults:
  order_window: 5d
  fuzzy_match: false
  tolerance: {ratio: 0.002, absolute_minor: 250}
)");
  const matcher::TenantRules& acme = c.tenants.at("acme");
  EXPECT_THAT(acme.required_fields, ElementsAre("po_number"));
  EXPECT_EQ(acme.tolerance_ppm, 10'000);
  EXPECT_EQ(acme.tolerance_absolute_minor, 250);  // from the overridden defaults
  EXPECT_EQ(acme.order_window, 5 * kDay);         // from the overridden defaults
  EXPECT_FALSE(acme.fuzzy_match);                 // from the overridden defaults
  EXPECT_EQ(acme.invoice_window, 30 * kDay);      // from the built-in defaults
  EXPECT_TRUE(c.defaults.required_fields.empty());
  EXPECT_EQ(c.defaults.tolerance_ppm, 2'000);

  matcher::TenantRules expected = c.defaults;
  expected.required_fields = {"po_number"};
  expected.tolerance_ppm = 10'000;
  Config want = c;
  want.tenants["acme"] = expected;
  EXPECT_EQ(FormatConfig(c), FormatConfig(want));
}

TEST(Config, TenantRoutingMergesOverTheDefaultRoutingPerKindAndField) {
  const Config c = Load(R"(defaults:
  routing:
    UNPAID: {team: ar, topic: closeloop.ar}
tenants:
  acme:
    routing:
      UNPAID: {topic: acme.ar}
      MISSING_ORDER: {team: sales-ops}
)");
  const auto& routing = c.tenants.at("acme").routing;
  EXPECT_EQ(routing.size(), 9u);
  EXPECT_EQ(Show(routing.at("UNPAID")), "ar -> acme.ar");
  EXPECT_EQ(Show(routing.at("MISSING_ORDER")), "sales-ops -> ");
  EXPECT_EQ(Show(routing.at("NOT_BILLABLE")), "sales -> ");
  EXPECT_EQ(Show(routing.at("ORPHAN_INVOICE")), "revops -> ");
  EXPECT_EQ(Show(c.defaults.routing.at("UNPAID")), "ar -> closeloop.ar");
  EXPECT_EQ(Show(c.defaults.routing.at("MISSING_ORDER")), "revops -> ");
}

TEST(Config, RulesForReturnsTheTenantsRulesOrTheDefaults) {
  const Config c = Load("tenants:\n  acme: {require_order: false}\n");
  EXPECT_EQ(&c.RulesFor("acme"), &c.tenants.at("acme"));
  EXPECT_FALSE(c.RulesFor("acme").require_order);
  EXPECT_EQ(&c.RulesFor("globex"), &c.defaults);
  EXPECT_TRUE(c.RulesFor("globex").require_order);
  EXPECT_EQ(&c.RulesFor(""), &c.defaults);
}

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
            "fuzzy_match, escalation_ages, severity_amounts_minor, default_payment_terms_days, "
            "routing");
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
      {"time:\n  idle_after: 5 s\n", 2, 15, "time.idle_after", "expected a duration"},
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
      {"defaults:\n  required_fields: [po_number, iban]\n", 2, 32, "defaults.required_fields[1]",
       "\"iban\" is not one of: po_number, vat_id, billing_entity"},
  });
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
      {"kafka:\n  properties:\n    a.b: x\n    a.b: y\n", 4, 5, "kafka.properties.a.b",
       "duplicate property"},
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

TEST(Config, ParsesToleranceRatioExactlyIntoPartsPerMillion) {
  const std::vector<std::pair<std::string, int64_t>> good = {
      {"0.005", 5000},       {"0.0125", 12500},       {"1", 1'000'000}, {"0", 0},
      {"1.0", 1'000'000},    {"0.000001", 1},         {"0.5", 500'000}, {"00.25", 250'000},
      {"0.999999", 999'999}, {"1.000000", 1'000'000}, {"0.1", 100'000}};
  for (const auto& [text, ppm] : good) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseRatioPpm(text), ppm);
    EXPECT_EQ(Load("defaults: {tolerance: {ratio: " + text + "}}\n").defaults.tolerance_ppm, ppm);
  }
  EXPECT_EQ(Load("defaults: {tolerance: {ratio: \"0.01\"}}\n").defaults.tolerance_ppm, 10'000);
  for (const char* bad :
       {"0.0000001", "0.0050000", "1.5", "1.000001", "2", "5e-3", ".5", "1.", "0.5%", "abc", "",
        "-0.1", "+0.1", "0,5", " 0.5", "0.5 ", "0x1", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseRatioPpm(bad), std::nullopt);
  }
  const std::vector<std::pair<int64_t, std::string>> formatted = {
      {5000, "0.005"}, {12500, "0.0125"}, {1'000'000, "1"},
      {0, "0"},        {1, "0.000001"},   {500'000, "0.5"}};
  for (const auto& [ppm, text] : formatted) {
    EXPECT_EQ(FormatRatioPpm(ppm), text);
    EXPECT_EQ(ParseRatioPpm(FormatRatioPpm(ppm)), ppm);
  }
}

TEST(Config, ParsesDurationsWithExactlyOneUnit) {
  const std::vector<std::pair<std::string, milliseconds>> good = {
      {"500ms", milliseconds(500)}, {"30s", seconds(30)}, {"15m", minutes(15)},
      {"12h", hours(12)},           {"3d", 3 * kDay},     {"2w", 14 * kDay},
      {"0s", milliseconds(0)},      {"007s", seconds(7)}, {"1500ms", milliseconds(1500)}};
  for (const auto& [text, d] : good) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseDuration(text), d);
  }
  for (const char* bad :
       {"", "3", "d", "ms", "3 d", "-3d", "+3d", "1.5h", "3D", "3dd", "3y", " 3d", "3d ", "1h30m",
        "3e2s", "9223372036854775807w", "99999999999999999999ms"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseDuration(bad), std::nullopt);
  }
}

TEST(Config, FormatsDurationsInTheLargestExactUnit) {
  const std::vector<std::pair<milliseconds, std::string>> table = {{milliseconds(0), "0s"},
                                                                   {milliseconds(500), "500ms"},
                                                                   {milliseconds(1500), "1500ms"},
                                                                   {seconds(1), "1s"},
                                                                   {seconds(90), "90s"},
                                                                   {seconds(60), "1m"},
                                                                   {hours(25), "25h"},
                                                                   {hours(72), "3d"},
                                                                   {7 * kDay, "1w"},
                                                                   {14 * kDay, "2w"},
                                                                   {30 * kDay, "30d"},
                                                                   {-seconds(5), "-5s"}};
  for (const auto& [d, text] : table) {
    EXPECT_EQ(FormatDuration(d), text);
    if (d.count() >= 0) {
      EXPECT_EQ(ParseDuration(text), d);
    }
  }
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
      {"limits:\n  max_record_bytes: -1\n", 2, 21, "limits.max_record_bytes", "must be between"},
      {"defaults:\n  tolerance: {absolute_minor: -1}\n", 2, 31, "defaults.tolerance.absolute_minor",
       "must be at least 0"},
      {"defaults:\n  closed_won_stages: []\n", 2, 22, "defaults.closed_won_stages",
       "at least one stage"},
      {"tenants:\n  acme:\n    lost_stages: [Lost, closed won]\n", 3, 18,
       "tenants.acme.lost_stages", "stage \"Closed Won\" is both won and lost"},
      {"defaults:\n  required_fields: [vat_id, vat_id]\n", 2, 29, "defaults.required_fields[1]",
       "listed twice"},
      {"defaults:\n  severity_amounts_minor: [100, 10]\n", 2, 27, "defaults.severity_amounts_minor",
       "expected exactly 3 amounts"},
      {"defaults:\n  severity_amounts_minor: [100, 100, 10]\n", 2, 33,
       "defaults.severity_amounts_minor[1]", "amounts must decrease"},
      {"defaults:\n  severity_amounts_minor: [100, 10, 0]\n", 2, 37,
       "defaults.severity_amounts_minor[2]", "must be at least 1"},
      {"defaults:\n  default_payment_terms_days: -1\n", 2, 31,
       "defaults.default_payment_terms_days", "must be between 0 and 3650"},
      {"defaults:\n  routing:\n    UNPAID: {team: \"\"}\n", 3, 20, "defaults.routing.UNPAID.team",
       "must not be empty"},
      {"tenants:\n  \"\": {}\n", 2, 3, "tenants.", "a tenant id must not be empty"},
      {"kafka: {}\n---\ntopics: {}\n", 3, 1, "", "more than one YAML document"},
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

TEST(Config, ErrorsFormatAsFileLineColumnFieldMessage) {
  EXPECT_EQ((ConfigError{"c.yaml", 5, 3, "tenants.acme.x", "unknown field"}).ToString(),
            "c.yaml:5:3: field tenants.acme.x: unknown field");
  EXPECT_EQ((ConfigError{"c.yaml", 0, 0, "kafka", "bad"}).ToString(), "c.yaml: field kafka: bad");
  EXPECT_EQ((ConfigError{"c.yaml", 2, 7, "", "YAML syntax: x"}).ToString(),
            "c.yaml:2:7: YAML syntax: x");
}

TEST(Config, FormatRedactsSecretKafkaProperties) {
  const Config c = Load(R"(kafka:
  properties:
    security.protocol: SASL_SSL
    sasl.username: svc-closeloop
    sasl.password: hunter2
    ssl.key.password: keypass1
    ssl.keystore.password: storepass1
    ssl.key.pem: "-----BEGIN PRIVATE KEY-----abc"
    sasl.oauthbearer.client.secret: clientsecret1
    sasl.oauthbearer.config: "clientSecret=clientsecret2"
    custom.api.key: apikey1
    my.Token: token1
    ssl.key.location: /etc/closeloop/client.key.pem
)");
  const std::string out = FormatConfig(c);
  EXPECT_THAT(out, HasSubstr("SASL_SSL"));
  EXPECT_THAT(out, HasSubstr("svc-closeloop"));
  EXPECT_THAT(out, HasSubstr("/etc/closeloop/client.key.pem"));  // a path, not the key
  for (const char* secret : {"hunter2", "keypass1", "storepass1", "BEGIN PRIVATE", "clientsecret1",
                             "clientsecret2", "apikey1", "token1"}) {
    EXPECT_THAT(out, Not(HasSubstr(secret)));
  }
  const Config shown = Load(out);
  for (const char* key : {"sasl.password", "ssl.key.password", "ssl.keystore.password",
                          "ssl.key.pem", "sasl.oauthbearer.client.secret",
                          "sasl.oauthbearer.config", "custom.api.key", "my.Token"}) {
    EXPECT_EQ(shown.kafka.properties.at(key), "[redacted]") << key;
  }
  EXPECT_EQ(shown.kafka.properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(shown.kafka.properties.size(), c.kafka.properties.size());
}

TEST(Config, FormatReadsBackToTheSameEffectiveConfig) {
  auto loaded = LoadConfigFile((kAppDir / "testdata/full.yaml").string());
  ASSERT_TRUE(std::holds_alternative<Config>(loaded));
  Config c = std::get<Config>(loaded);
  // Strings YAML would otherwise read as something else must survive too.
  c.defaults.closed_won_stages = {"yes", "true", "123", "null", "~", "a: b", "#won", " padded "};
  c.kafka.properties["client.rack"] = "";
  c.state_dir = "'quoted' \"dir\"";
  c.tenants["acme corp"] = c.defaults;
  const std::string once = FormatConfig(c);
  EXPECT_NE(once, FormatConfig(Config{}));
  const Config again = Load(once);
  EXPECT_EQ(FormatConfig(again), once);
  EXPECT_THAT(again.defaults.closed_won_stages,
              ElementsAre("yes", "true", "123", "null", "~", "a: b", "#won", " padded "));
  EXPECT_EQ(again.state_dir, c.state_dir);
  EXPECT_EQ(again.tenants.count("acme corp"), 1u);
  EXPECT_EQ(again.tenants.at("globex").routing.at("UNPAID").team, "globex-collections");
  EXPECT_EQ(again.topics.invoices.format, ingest::Format::kConfluent);
}

TEST(Config, FormatOfTheDefaultsReadsBackToTheDefaults) {
  const std::string text = FormatConfig(Config{});
  EXPECT_THAT(text, HasSubstr("ratio: 0.005"));
  EXPECT_THAT(text, HasSubstr("order_window: 3d"));
  EXPECT_THAT(text, HasSubstr("escalation_ages: [1w, 30d, 90d]"));
  EXPECT_EQ(FormatConfig(Load(text)), text);
}

// Every key the formatter writes, i.e. every field, at any depth.
std::vector<std::string> FieldNames(const std::string& yaml) {
  std::vector<std::string> names;
  std::istringstream in(yaml);
  for (std::string line; std::getline(in, line);) {
    for (size_t i = 0; i < line.size(); ++i) {
      const bool starts = i == 0 || line[i - 1] == ' ' || line[i - 1] == '{';
      if (!starts || !std::islower(static_cast<unsigned char>(line[i]))) continue;
      const size_t end = line.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", i);
      if (end != std::string::npos && line[end] == ':') names.push_back(line.substr(i, end - i));
    }
  }
  return names;
}

TEST(Config, ExampleConfigShowsEveryFieldWithItsDefault) {
  const std::string path = (kAppDir / "example-config.yaml").string();
  auto loaded = LoadConfigFile(path);
  ASSERT_TRUE(std::holds_alternative<Config>(loaded)) << std::get<ConfigError>(loaded).ToString();
  Config example = std::get<Config>(loaded);
  EXPECT_EQ(example.tenants.size(), 2u);
  example.tenants.clear();  // examples, not defaults
  EXPECT_EQ(FormatConfig(example), FormatConfig(Config{}));

  std::ifstream in(path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::vector<std::string> names = FieldNames(FormatConfig(Config{}));
  EXPECT_GT(names.size(), 40u);
  for (const std::string& name : names) {
    EXPECT_THAT(text, HasSubstr(name + ":")) << "example-config.yaml does not show " << name;
  }
}

}  // namespace
}  // namespace closeloop::app
