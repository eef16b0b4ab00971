// Loading, merging and formatting configs.
#include "app/config_testing.h"
#include "app/listen_address.h"

namespace closeloop::app {
namespace {

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
    EXPECT_EQ(c.http.ready_max_lag, 1000);
    EXPECT_EQ(c.report.trailing_period, 90 * kDay);
    EXPECT_EQ(c.time.idle_after, seconds(5));
    EXPECT_EQ(c.pipeline.batch_max_wait, milliseconds(100));
    EXPECT_EQ(c.pipeline.batch_max_timers, 10000);
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

// The values of testdata/full.yaml; its password as given (check-config
// prints "[redacted]" instead).
void ExpectFullYaml(const Config& c, const std::string& password) {
  EXPECT_EQ(c.kafka.bootstrap_servers, "broker-1:9092,broker-2:9092");
  EXPECT_EQ(c.kafka.group_id, "closeloop-prod");
  EXPECT_EQ(c.kafka.start_from, "latest");
  EXPECT_FALSE(c.kafka.create_topics);
  EXPECT_EQ(c.kafka.topic_partitions, 12);
  EXPECT_EQ(c.kafka.properties.size(), 5u);
  EXPECT_EQ(c.kafka.properties.at("sasl.password"), password);
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
  EXPECT_EQ(c.http.ready_max_lag, 50);
  EXPECT_EQ(c.report.trailing_period, 30 * kDay);
  EXPECT_EQ(c.time.idle_after, seconds(10));
  EXPECT_EQ(c.time.max_future_skew, hours(12));
  EXPECT_EQ(c.time.source_silence_limit, 2 * kDay);
  // A source's own limit, else the general one.
  EXPECT_EQ(c.time.SilenceLimit(matcher::Source::kPayments), 3 * kDay);
  EXPECT_EQ(c.time.SilenceLimit(matcher::Source::kCrm), 2 * kDay);
  EXPECT_EQ(c.time.SilenceLimit(matcher::Source::kBilling), 2 * kDay);
  EXPECT_EQ(c.pipeline.batch_max_records, 500);
  EXPECT_EQ(c.pipeline.batch_max_timers, 2000);
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

TEST(Config, LoadsEverySectionOfAFullFile) {
  auto loaded = LoadConfigFile((kAppDir / "testdata/full.yaml").string());
  ASSERT_TRUE(std::holds_alternative<Config>(loaded)) << std::get<ConfigError>(loaded).ToString();
  ExpectFullYaml(std::get<Config>(loaded), "hunter2");  // only output is redacted
}

// check-config prints every value it read: its output, read back, holds
// each value of the file (not only the same text when printed again).
TEST(Config, FormatOfAFullFileReadsBackWithEveryValue) {
  auto loaded = LoadConfigFile((kAppDir / "testdata/full.yaml").string());
  ASSERT_TRUE(std::holds_alternative<Config>(loaded)) << std::get<ConfigError>(loaded).ToString();
  ExpectFullYaml(Load(FormatConfig(std::get<Config>(loaded))), "[redacted]");
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

// Money thresholds per currency: a tenant's entry for a currency replaces
// the inherited one; a field an entry leaves out is the general one.
TEST(Config, ByCurrencyEntriesReplaceInheritedOnesAndFallBackToTheGeneralAmounts) {
  const Config c = Load(R"(defaults:
  by_currency:
    JPY: {severity_amounts_minor: [15000000, 1500000, 150000], tolerance_absolute_minor: 150}
    IDR: {tolerance_absolute_minor: 1500000}
tenants:
  acme:
    severity_amounts_minor: [300, 200, 100]
    by_currency:
      JPY: {tolerance_absolute_minor: 200}
)");
  const matcher::TenantRules& d = c.defaults;
  EXPECT_THAT(d.SeverityAmounts("JPY"), ElementsAre(15'000'000, 1'500'000, 150'000));
  EXPECT_THAT(d.SeverityAmounts("IDR"), ElementsAre(10'000'000, 1'000'000, 100'000));
  EXPECT_EQ(d.Tolerance(1000, "JPY"), 150);
  EXPECT_EQ(d.Tolerance(1000, "IDR"), 1'500'000);
  EXPECT_EQ(d.Tolerance(1000, "USD"), 100);
  const matcher::TenantRules& acme = c.tenants.at("acme");
  EXPECT_THAT(acme.SeverityAmounts("JPY"), ElementsAre(300, 200, 100));
  EXPECT_EQ(acme.Tolerance(1000, "JPY"), 200);
  EXPECT_EQ(acme.Tolerance(1000, "IDR"), 1'500'000);
  // check-config prints them, and they read back.
  const Config again = Load(FormatConfig(c));
  EXPECT_EQ(again.defaults.by_currency, d.by_currency);
  EXPECT_EQ(again.tenants.at("acme").by_currency, acme.by_currency);
}

TEST(Config, RulesForReturnsTheTenantsRulesOrTheDefaults) {
  const Config c = Load("tenants:\n  acme: {require_order: false}\n");
  EXPECT_EQ(&c.RulesFor("acme"), &c.tenants.at("acme"));
  EXPECT_FALSE(c.RulesFor("acme").require_order);
  EXPECT_EQ(&c.RulesFor("globex"), &c.defaults);
  EXPECT_TRUE(c.RulesFor("globex").require_order);
  EXPECT_EQ(&c.RulesFor(""), &c.defaults);
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

TEST(Config, FormatRedactsSecretKafkaProperties) {
  // Properties librdkafka knows (the config refuses others); the name rule
  // also covers ones it does not, such as a plugin's.
  const Config c = Load(R"(kafka:
  properties:
    security.protocol: SASL_SSL
    sasl.username: svc-closeloop
    sasl.password: hunter2
    ssl.key.password: keypass1
    ssl.keystore.password: storepass1
    ssl.key.pem: "-----BEGIN PRIVATE KEY-----abc"
    sasl.oauthbearer.config: "clientSecret=clientsecret2"
    ssl.key.location: /etc/closeloop/client.key.pem
)");
  const std::string out = FormatConfig(c);
  EXPECT_THAT(out, HasSubstr("SASL_SSL"));
  EXPECT_THAT(out, HasSubstr("svc-closeloop"));
  EXPECT_THAT(out, HasSubstr("/etc/closeloop/client.key.pem"));  // a path, not the key
  for (const char* secret :
       {"hunter2", "keypass1", "storepass1", "BEGIN PRIVATE", "clientsecret2"}) {
    EXPECT_THAT(out, Not(HasSubstr(secret)));
  }
  const Config shown = Load(out);
  for (const char* key : {"sasl.password", "ssl.key.password", "ssl.keystore.password",
                          "ssl.key.pem", "sasl.oauthbearer.config"}) {
    EXPECT_EQ(shown.kafka.properties.at(key), "[redacted]") << key;
  }
  EXPECT_EQ(shown.kafka.properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(shown.kafka.properties.size(), c.kafka.properties.size());
  for (const char* key : {"sasl.oauthbearer.client.secret", "custom.api.key", "my.Token"}) {
    EXPECT_TRUE(IsSecretProperty(key)) << key;
  }
  EXPECT_FALSE(IsSecretProperty("ssl.key.location"));
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

TEST(Config, HttpGuardFieldsHaveSafeDefaultsAndPrintWithoutTheToken) {
  const Config defaults = Load("");
  EXPECT_EQ(defaults.http.listen, "127.0.0.1:9464");  // loopback unless configured
  EXPECT_EQ(defaults.http.bearer_token_file, "");
  EXPECT_EQ(defaults.http.max_request_bytes, 65536);
  EXPECT_EQ(defaults.http.rate_limit_per_second, 50);
  EXPECT_EQ(defaults.http.rate_limit_per_client_per_second, 20);
  const Config c = Load(R"(http:
  bearer_token_file: /run/secrets/closeloop-token
  max_request_bytes: 2048
  rate_limit_per_second: 0
  rate_limit_per_client_per_second: 7
)");
  EXPECT_EQ(c.http.bearer_token_file, "/run/secrets/closeloop-token");
  EXPECT_EQ(c.http.max_request_bytes, 2048);
  EXPECT_EQ(c.http.rate_limit_per_second, 0);
  const Config shown = Load(FormatConfig(c));
  EXPECT_EQ(shown.http.bearer_token_file, c.http.bearer_token_file);
  EXPECT_EQ(shown.http.max_request_bytes, 2048);
  EXPECT_EQ(shown.http.rate_limit_per_second, 0);
  EXPECT_EQ(shown.http.rate_limit_per_client_per_second, 7);
}

// Regression (fuzz_config, ASan stack-use-after-scope): Entries() kept a
// reference to a map key inside yaml-cpp's iterator proxy and read it after
// the proxy died. Under scripts/sanitize.sh this test aborts if it returns.
TEST(Config, MapKeysAreReadSafelyWhileWalkingEveryMap) {
  auto loaded = LoadConfigText("http:\n  listen: 127.0.0.1:1\n  listen: 127.0.0.1:2\n", "dup.yaml");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(loaded));
  const ConfigError& e = std::get<ConfigError>(loaded);
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.field, "http.listen");
  EXPECT_NE(e.message.find("first given on line 2"), std::string::npos) << e.message;
  const Config empty = Load("");
  EXPECT_EQ(empty.http.listen, "127.0.0.1:9464");
}

TEST(ListenAddress, TakesAddressesAndHostNamesAndRefusesTheRest) {
  const auto parsed = [](std::string_view text) {
    const std::optional<ListenAddress> a = ParseListenAddress(text);
    return a ? a->host + " " + std::to_string(a->port) : std::string("refused");
  };
  EXPECT_EQ(parsed("127.0.0.1:9464"), "127.0.0.1 9464");
  EXPECT_EQ(parsed("0.0.0.0:0"), "0.0.0.0 0");
  EXPECT_EQ(parsed("[::1]:65535"), "::1 65535");
  EXPECT_EQ(parsed("[::]:80"), ":: 80");
  EXPECT_EQ(parsed("closeloop.svc.cluster.local:9464"), "closeloop.svc.cluster.local 9464");
  for (std::string_view bad :
       {"", ":80", "host", "host:", "host:65536", "host:99999999999", "host:-1", "host:+1",
        "host:8O", "256.1.1.1:80", "1.2.3:80", "[::1:80", "[]:80", "[nope]:80", "::1:80",
        "bad_host:80", "two words:80"}) {
    EXPECT_EQ(parsed(bad), "refused") << bad;
  }
}

// check-config prints every field it reads: a field testdata/full.yaml
// leaves at its default is printed too, and reads back as set.
TEST(Config, FormatPrintsTheFieldsFullYamlLeavesAtTheirDefaults) {
  const Config c = Load(R"(kafka: {transactional_id: closeloop-tx-7}
topics: {events: closeloop.events.v2}
store: {block_cache_mb: 128, write_buffer_mb: 16, sync_writes: true, state_cache_entries: 5000}
time: {follow_wall_clock: false}
pipeline: {tasks: 4}
)");
  const Config shown = Load(FormatConfig(c));
  EXPECT_EQ(shown.kafka.transactional_id, "closeloop-tx-7");
  EXPECT_EQ(shown.topics.events, "closeloop.events.v2");
  EXPECT_EQ(shown.store.block_cache_mb, 128);
  EXPECT_EQ(shown.store.write_buffer_mb, 16);
  EXPECT_TRUE(shown.store.sync_writes);
  EXPECT_EQ(shown.store.state_cache_entries, 5000);
  EXPECT_FALSE(shown.time.follow_wall_clock);
  EXPECT_EQ(shown.pipeline.tasks, 4);
  EXPECT_EQ(FormatConfig(shown), FormatConfig(c));
}

TEST(Config, PropertiesNamedLikeCredentialsAreSecret) {
  for (const char* key : {"sasl.jaas.config", "ssl.credentials.file", "Custom.Credential"}) {
    EXPECT_TRUE(IsSecretProperty(key)) << key;
  }
  EXPECT_FALSE(IsSecretProperty("sasl.username"));
}

}  // namespace
}  // namespace closeloop::app
