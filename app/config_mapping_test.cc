// topics.<role>.mapping and won_when: what the config accepts, how
// check-config prints it, and every refusal with its line, column and field.
#include <gtest/gtest.h>

#include "app/config_testing.h"

namespace closeloop::app {
namespace {

TEST(ConfigMapping, ReadsEveryFormOfASource) {
  const Config c = Load(R"(topics:
  orders:
    name: sap.orders
    format: debezium
    mapping:
      tenant_id: {value: acme}
      order_id: DocEntry
      deal_id: U_CRM.DealId
      amount: {path: DocTotal, scale: 2}
      currency: DocCur
      event_time: {path: UpdateTs, time_unit: micros}
      status: {path: Cancelled, values: {tNO: OPEN, tYES: CANCELLED}}
  deals:
    format: salesforce-cdc
    mapping: {tenant_id: {value: acme}, deal_id: Id, stage: StageName}
    won_when: {field: StageName, in: [Closed Won, Signed], won_stage: Won}
tenants:
  acme: {closed_won_stages: [Won]}
)");
  ASSERT_TRUE(c.topics.orders.mapping.has_value());
  const ingest::Mapping& m = *c.topics.orders.mapping;
  EXPECT_EQ(c.topics.orders.format, ingest::Format::kDebezium);
  EXPECT_EQ(m.fields.at("tenant_id").constant, "acme");
  EXPECT_EQ(m.fields.at("deal_id").path, "U_CRM.DealId");
  EXPECT_EQ(m.fields.at("amount").scale, 2);
  EXPECT_EQ(m.fields.at("event_time").time_unit, ingest::TimeUnit::kMicros);
  EXPECT_EQ(m.fields.at("status").values.at("tYES"), "CANCELLED");
  ASSERT_TRUE(c.topics.deals.mapping->won_when.has_value());
  EXPECT_THAT(c.topics.deals.mapping->won_when->any_of, ElementsAre("Closed Won", "Signed"));
  EXPECT_EQ(c.topics.deals.mapping->won_when->won_stage, "Won");
  EXPECT_EQ(c.topics.deals.format, ingest::Format::kSalesforceCdc);

  // check-config prints it, and what it prints reads back the same.
  const Config again = Load(FormatConfig(c));
  EXPECT_EQ(FormatConfig(again), FormatConfig(c));
  EXPECT_EQ(again.topics.orders.mapping->fields.at("status").values.at("tNO"), "OPEN");
  EXPECT_EQ(again.topics.orders.mapping->fields.at("amount").scale, 2);
  EXPECT_EQ(again.topics.deals.mapping->won_when->any_of.size(), 2u);
}

TEST(ConfigMapping, RefusalsNameTheFieldAndPlace) {
  ExpectRefused({
      {"topics:\n  deals:\n    format: debezium\n", 3, 13, "topics.deals.format",
       "format debezium needs a mapping"},
      {"topics:\n  deals:\n    mapping: {deal_id: Id}\n", 3, 5, "topics.deals.mapping",
       "needs format debezium or salesforce-cdc"},
      {"topics:\n  deals:\n    format: debezium\n    mapping:\n      tenant_id: {value: a}\n"
       "      deal_id: Id\n      stage: S\n      amout: Amount\n",
       8, 14, "topics.deals.mapping.amout", "not a field of the canonical document"},
      {"topics:\n  deals:\n    format: debezium\n    mapping:\n      tenant_id: {value: a}\n"
       "      stage: S\n",
       5, 7, "topics.deals.mapping.deal_id", "must be mapped"},
      {"topics:\n  orders:\n    format: debezium\n    mapping:\n      tenant_id: {value: a}\n"
       "      order_id: Lines[x].Id\n",
       6, 17, "topics.orders.mapping.order_id", "is not a list index"},
      {"topics:\n  orders:\n    format: debezium\n    mapping:\n      tenant_id: {value: a}\n"
       "      order_id: Id\n      currency: {path: Cur, scale: 2}\n",
       7, 7, "topics.orders.mapping.currency", "scale applies only to amount"},
      {"topics:\n  orders:\n    format: debezium\n    mapping:\n      tenant_id: {value: a}\n"
       "      order_id: Id\n      status: {path: S, values: {Y: GONE}}\n",
       7, 7, "topics.orders.mapping.status", "\"GONE\" (for source value \"Y\") is not a value"},
      {"topics:\n  orders:\n    format: debezium\n    mapping:\n      tenant_id: {value: a}\n"
       "      order_id: Id\n      event_time: {path: T, time_unit: hours}\n",
       7, 40, "topics.orders.mapping.event_time.time_unit", "\"hours\" is not one of"},
      {"topics:\n  orders:\n    format: debezium\n    mapping:\n      tenant_id: {value: a}\n"
       "      order_id: Id\n      amount: {path: T, unit: x}\n",
       7, 25, "topics.orders.mapping.amount.unit", "unknown field"},
      {"topics:\n  orders:\n    format: debezium\n    mapping:\n      tenant_id: {value: a}\n"
       "      order_id: Id\n    won_when: {field: IsWon, equals: true}\n",
       7, 15, "topics.orders.won_when", "applies only to the deals topic"},
      {"topics:\n  deals:\n    format: salesforce-cdc\n    mapping:\n      tenant_id: {value: a}\n"
       "      deal_id: Id\n    won_when: {field: IsWon}\n",
       7, 15, "topics.deals.won_when", "needs equals"},
      {"topics:\n  deals:\n    format: salesforce-cdc\n    mapping:\n      tenant_id: {value: a}\n"
       "      deal_id: Id\n",
       5, 7, "topics.deals.mapping.stage", "unless won_when"},
  });
}

// A won_stage a tenant does not count as won would leave every deal won on
// the topic unchecked: refused, for each tenant the topic can carry.
TEST(ConfigMapping, WonStageMustBeWonForEveryTenantTheTopicCarries) {
  constexpr char kDeals[] =
      "topics:\n  deals:\n    format: salesforce-cdc\n    mapping:\n      tenant_id: %s\n"
      "      deal_id: Id\n    won_when: {field: IsWon, equals: true%s}\n";
  auto deals = [&](const std::string& tenant, const std::string& won_stage) {
    char text[512];
    std::snprintf(text, sizeof text, kDeals, tenant.c_str(), won_stage.c_str());
    return std::string(text);
  };
  ExpectRefused({
      // The one tenant a constant names, on the defaults.
      {deals("{value: a}", ", won_stage: Won"), 7, 15, "topics.deals.won_when",
       "won_stage \"Won\" is not one of the closed_won_stages of tenant a (the defaults) "
       "[Closed Won]: no deal won on this topic would ever be checked"},
      // A tenant from a column may be any: the defaults and every tenant configured.
      {deals("Company__c", "") + "tenants:\n  b: {closed_won_stages: [Signed]}\n", 7, 15,
       "topics.deals.won_when", "closed_won_stages of tenant b [Signed]"},
      {deals("Company__c", ", won_stage: Signed") +
           "tenants:\n  b: {closed_won_stages: [Signed]}\n",
       7, 15, "topics.deals.won_when", "closed_won_stages of the defaults [Closed Won]"},
  });
  // Stages compare case-insensitively, as the matcher compares them.
  Load(deals("{value: a}", ", won_stage: closed won"));
  // Mapped tenant values name the tenants the topic carries: only those count.
  Load(deals("{path: Org, values: {\"1\": a}}", ", won_stage: Signed") +
       "tenants:\n  a: {closed_won_stages: [Signed]}\n  b: {closed_won_stages: [Won]}\n");
}

constexpr char kOrders[] =
    "topics:\n  orders:\n    format: debezium\n    mapping:\n      tenant_id: {value: a}\n"
    "      order_id: Id\n";

// A source is a path or a constant, with modifiers that must read whole.
TEST(ConfigMapping, RefusesSourcesThatAreNeitherOrBothOrMalformed) {
  ExpectRefused({
      {std::string(kOrders) + "      amount: {path: T, scale: 2x}\n", 7, 32,
       "topics.orders.mapping.amount.scale", "expected a whole number, got \"2x\""},
      {std::string(kOrders) + "      currency: {values: {E: EUR}}\n", 7, 17,
       "topics.orders.mapping.currency", "needs a path or a value"},
      {std::string(kOrders) + "      currency: {path: C, value: EUR}\n", 7, 17,
       "topics.orders.mapping.currency", "give a path or a value, not both"},
      {std::string(kOrders) + "      currency: {path: \"C\\x7F\"}\n", 7, 24,
       "topics.orders.mapping.currency.path", "holds a control character (byte 127)"},
      {std::string(kOrders) + "      order_id: Other\n", 7, 7, "topics.orders.mapping.order_id",
       "duplicate field"},
      {std::string(kOrders) + "      currency: {path: [C]}\n", 7, 24,
       "topics.orders.mapping.currency.path", "expected text"},
      {std::string(kOrders) + "      currency: {path: \"\"}\n", 7, 24,
       "topics.orders.mapping.currency.path", "must not be empty"},
      {std::string(kOrders) + "      currency: {path: \"C\\n\"}\n", 7, 24,
       "topics.orders.mapping.currency.path", "holds a control character (byte 10)"},
      {std::string(kOrders) + "      status: {path: S, values: {Y: \"\"}}\n", 7, 37,
       "topics.orders.mapping.status.values.Y", "must not be empty"},
      // Past int's range: from_chars reads it all but stores nothing.
      {std::string(kOrders) + "      amount: {path: T, scale: 99999999999}\n", 7, 32,
       "topics.orders.mapping.amount.scale", "expected a whole number, got \"99999999999\""},
  });
}

// Inside a mapping, as everywhere in the config, a key is plain text given
// once: yaml-cpp keeps both of a duplicate, and the last would win.
TEST(ConfigMapping, RefusesDuplicateAndNonTextKeysAtTheirLine) {
  ExpectRefused({
      {std::string(kOrders) + "      currency: {path: C, path: D}\n", 7, 27,
       "topics.orders.mapping.currency.path", "duplicate field; first given on line 7"},
      {std::string(kOrders) + "      status: {path: S, values: {Y: OPEN, Y: CANCELLED}}\n", 7, 43,
       "topics.orders.mapping.status.values.Y", "duplicate field; first given on line 7"},
      {std::string(kOrders) + "      ~: x\n", 7, 7, "topics.orders.mapping",
       "a field name must be plain text"},
      {std::string(kOrders) + "      currency: {{a: b}: C}\n", 7, 18,
       "topics.orders.mapping.currency", "a field name must be plain text"},
      {"topics:\n  deals:\n    format: salesforce-cdc\n    mapping:\n      tenant_id: {value: a}\n"
       "      deal_id: Id\n    won_when: {field: S, field: T, equals: W}\n",
       7, 26, "topics.deals.won_when.field", "duplicate field; first given on line 7"},
  });
}

// A constant the mapping writes into every record is converted once at
// start, as each record's value would be: a bad one is refused with its
// line, not found by every record of the topic on the DLQ.
TEST(ConfigMapping, RefusesAConstantEveryRecordWouldBeRefusedFor) {
  ExpectRefused({
      {std::string(kOrders) + "      event_time: {value: not a time}\n", 7, 7,
       "topics.orders.mapping.event_time", "not a date or time"},
      {std::string(kOrders) + "      currency: {value: USD}\n      amount: {value: lots}\n", 8, 7,
       "topics.orders.mapping.amount", "\"lots\" is not a decimal number"},
      {std::string(kOrders) + "      status: {value: NOPE}\n", 7, 7, "topics.orders.mapping.status",
       "\"NOPE\" is not a value of status"},
      {std::string(kOrders) + "      status: {value: X, values: {X: NOPE}}\n", 7, 7,
       "topics.orders.mapping.status", "\"NOPE\" (for source value \"X\") is not a value"},
      {std::string(kOrders) + "      amount_minor: {value: \"-5\"}\n", 7, 7,
       "topics.orders.mapping.amount_minor", "must not be negative"},
      {"topics:\n  orders:\n    format: debezium\n    mapping:\n      tenant_id: {value: \"\"}\n"
       "      order_id: Id\n",
       5, 7, "topics.orders.mapping.tenant_id", "must not be empty"},
  });
  // Good constants of every kind pass.
  Load(std::string(kOrders) +
       "      event_time: {value: \"2026-01-02T03:04:05Z\"}\n      currency: {value: EUR}\n"
       "      amount: {value: \"12.50\"}\n      status: {value: CANCELLED}\n");
}

// An empty constant, and an empty source value to map, are data like any
// other: an order with no CRM reference, a blank status column.
TEST(ConfigMapping, AcceptsAnEmptyConstantAndAnEmptySourceValue) {
  const Config c = Load(std::string(kOrders) +
                        "      deal_id: {value: \"\"}\n"
                        "      status: {path: S, values: {\"\": OPEN, X: CANCELLED}}\n");
  EXPECT_EQ(c.topics.orders.mapping->fields.at("deal_id").constant, "");
  EXPECT_EQ(c.topics.orders.mapping->fields.at("status").values.at(""), "OPEN");
}

// A currency the mapping writes itself is checked at start, as by_currency's
// codes are, not found wrong by every record on the DLQ.
TEST(ConfigMapping, RefusesACurrencyThatIsNotIso4217) {
  ExpectRefused({
      {std::string(kOrders) + "      currency: {value: usd}\n", 7, 7,
       "topics.orders.mapping.currency", "\"usd\" is not an ISO 4217 currency code"},
      {std::string(kOrders) + "      currency: {path: C, values: {\"1\": USD, \"2\": GPB}}\n", 7, 7,
       "topics.orders.mapping.currency",
       "\"GPB\" (for source value \"2\") is not an ISO 4217 currency code"},
  });
}

TEST(ConfigMapping, RefusesWonWhenWithoutOneTestAndAField) {
  constexpr char kDeals[] =
      "topics:\n  deals:\n    format: salesforce-cdc\n    mapping:\n      tenant_id: {value: a}\n"
      "      deal_id: Id\n";
  ExpectRefused({
      {std::string(kDeals) + "    won_when: {field: S, equals: W, in: [X]}\n", 7, 37,
       "topics.deals.won_when.in", "give equals or in, not both"},
      {std::string(kDeals) + "    won_when: {field: S, in: []}\n", 7, 30,
       "topics.deals.won_when.in", "expected a non-empty list of values"},
      {std::string(kDeals) + "    won_when: {equals: W}\n", 7, 15, "topics.deals.won_when",
       "needs field: the source path to test"},
      {std::string(kDeals) + "    won_when: true\n", 7, 15, "topics.deals.won_when",
       "expected a map"},
      {std::string(kDeals) + "    won_when: {field: S, in: {a: b}}\n", 7, 30,
       "topics.deals.won_when.in", "expected a non-empty list of values"},
      {std::string(kDeals) + "    won_when: {field: S, in: [X, \"\"]}\n", 7, 34,
       "topics.deals.won_when.in[1]", "must not be empty"},
      {std::string(kDeals) + "    won_when: {field: S, equals: W, won_stage: \"\"}\n", 7, 48,
       "topics.deals.won_when.won_stage", "must not be empty"},
      {std::string(kDeals) + "    won_when: {field: S, equals: W, stage: X}\n", 7, 37,
       "topics.deals.won_when.stage", "unknown field; expected one of: field, equals, in"},
  });
}

// Each time unit is read as itself, and check-config prints it back so.
TEST(ConfigMapping, TimeUnitsReadAndPrintAsThemselves) {
  const std::vector<std::pair<std::string, ingest::TimeUnit>> units = {
      {"days", ingest::TimeUnit::kDays},
      {"millis", ingest::TimeUnit::kMillis},
      {"micros", ingest::TimeUnit::kMicros},
      {"nanos", ingest::TimeUnit::kNanos}};
  for (const auto& [name, unit] : units) {
    SCOPED_TRACE(name);
    const Config c =
        Load(std::string(kOrders) + "      event_time: {path: T, time_unit: " + name + "}\n");
    EXPECT_EQ(c.topics.orders.mapping->fields.at("event_time").time_unit, unit);
    const std::string shown = FormatConfig(c);
    EXPECT_THAT(shown, HasSubstr("time_unit: " + name));
    EXPECT_EQ(Load(shown).topics.orders.mapping->fields.at("event_time").time_unit, unit);
  }
}

// A tenant mapped from source values can only be one of those values: each
// must count won_stage as won.
TEST(ConfigMapping, WonStageIsCheckedForEveryMappedTenantValue) {
  ExpectRefused(
      {{"topics:\n  deals:\n    format: salesforce-cdc\n    mapping:\n"
        "      tenant_id: {path: Org, values: {\"1\": a, \"2\": b}}\n"
        "      deal_id: Id\n    won_when: {field: IsWon, equals: true, won_stage: "
        "Signed}\ntenants:\n  a: {closed_won_stages: [Signed]}\n",
        7, 15, "topics.deals.won_when",
        "closed_won_stages of tenant b (the defaults) [Closed Won]"}});
}

}  // namespace
}  // namespace closeloop::app
