// The wire-shape fixtures of tests/fixtures/ through the configured source
// adapters, without Kafka: what each record becomes (tests/adapters_e2e_test.py
// takes the same files through Kafka and the whole service).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app/config.h"
#include "ingest/adapter.h"
#include "ingest/normalize.h"
#include "matcher/money.h"

namespace closeloop::app {
namespace {

using ingest::Adapted;
using ingest::Rejection;
using nlohmann::json;

const std::string kFixtures = CLOSELOOP_FIXTURES;

// Every record of a fixture through the adapter of its topic, in order.
struct FixtureRun {
  std::vector<std::vector<Adapted>> outputs;  // one entry per fixture record
  std::vector<std::string> topics;            // the role of each record
};

FixtureRun RunFixture(const std::string& config_file, const std::string& fixture_file) {
  auto loaded = LoadConfigFile(kFixtures + "/" + config_file);
  if (auto* e = std::get_if<ConfigError>(&loaded)) ADD_FAILURE() << e->ToString();
  const Config config = std::get<Config>(loaded);
  std::ifstream in(kFixtures + "/" + fixture_file);
  const json fixture = json::parse(in);
  ingest::MemoryRecordCache cache;
  std::map<std::string, std::unique_ptr<ingest::Adapter>> adapters;
  std::map<std::string, std::string> names;
  const std::vector<std::tuple<std::string, const InputTopic*, ingest::DocType>> roles = {
      {"deals", &config.topics.deals, ingest::DocType::kDeal},
      {"orders", &config.topics.orders, ingest::DocType::kOrder},
      {"invoices", &config.topics.invoices, ingest::DocType::kInvoice},
      {"payments", &config.topics.payments, ingest::DocType::kPayment}};
  for (const auto& [role, topic, type] : roles) {
    if (!topic->mapping) continue;
    adapters[role] =
        ingest::MakeAdapter(topic->format, type, *topic->mapping, config.limits, cache);
    names[role] = topic->name;
  }
  FixtureRun run;
  for (const json& r : fixture["records"]) {
    const std::string role = r["topic"];
    const std::string value = r["value"].is_null() ? "" : r["value"].dump();
    const std::string key = r["key"];
    std::vector<Adapted> out;
    adapters.at(role)->Adapt({.topic = names.at(role),
                              .key = key,
                              .value = value,
                              .tombstone = r["value"].is_null(),
                              .kafka_timestamp_ms = 1'780'000'000'000},
                             out);
    run.outputs.push_back(std::move(out));
    run.topics.push_back(role);
  }
  return run;
}

const v1::Event& EventOf(const std::vector<Adapted>& out, size_t i = 0) {
  static const v1::Event kNone;
  if (i >= out.size() || !std::holds_alternative<v1::Event>(out[i])) {
    ADD_FAILURE() << "expected an event at " << i << ", got "
                  << (i < out.size() ? std::get<Rejection>(out[i]).message : "nothing");
    return kNone;
  }
  return std::get<v1::Event>(out[i]);
}

const Rejection& RejectionOf(const std::vector<Adapted>& out) {
  static const Rejection kNone{ingest::Reason::kEmpty, "", "none"};
  if (out.size() != 1 || !std::holds_alternative<Rejection>(out[0])) {
    ADD_FAILURE() << "expected one rejection, got " << out.size() << " outputs";
    return kNone;
  }
  return std::get<Rejection>(out[0]);
}

TEST(AdapterFixtures, SalesforceOpportunityIsWonThroughPartialUpdates) {
  const FixtureRun run = RunFixture("salesforce_sap.yaml", "salesforce_opportunity_won.json");
  ASSERT_EQ(run.outputs.size(), 7u);
  const v1::Deal created = EventOf(run.outputs[0]).deal();
  EXPECT_EQ(created.tenant_id(), "sf-acme");
  EXPECT_EQ(created.deal_id(), "0065e00000AbCdEAAF");
  EXPECT_EQ(created.stage(), "Prospecting");
  EXPECT_EQ(created.amount_minor(), 4800000);
  EXPECT_EQ(created.customer_id(), "0015e00000XyZaBAAV");
  // A partial update keeps what it does not change.
  const v1::Deal updated = EventOf(run.outputs[2]).deal();
  EXPECT_EQ(updated.amount_minor(), 5200000);
  EXPECT_EQ(updated.stage(), "Negotiation/Review");
  EXPECT_EQ(updated.customer_id(), "0015e00000XyZaBAAV");
  EXPECT_EQ(updated.currency(), "USD");
  // One event, two records.
  ASSERT_EQ(run.outputs[3].size(), 2u);
  EXPECT_EQ(EventOf(run.outputs[3], 0).deal().deal_id(), "0065e00000AbCdEAAF");
  EXPECT_EQ(EventOf(run.outputs[3], 1).deal().deal_id(), "0065e00000AbCdFAAV");
  EXPECT_EQ(EventOf(run.outputs[3], 1).deal().owner(), "0055e000004LmNoAAK");
  EXPECT_EQ(EventOf(run.outputs[3], 1).deal().amount_minor(), 950000);
  // The gap goes to the DLQ with its own reason.
  EXPECT_EQ(RejectionOf(run.outputs[4]).reason, ingest::Reason::kCdcGap);
  // The delete withdraws the second opportunity.
  EXPECT_EQ(EventOf(run.outputs[5]).deal().stage(), ingest::kDeletedStage);
  EXPECT_EQ(EventOf(run.outputs[5]).deal().amount_minor(), 950000);
  // Won: IsWon == true makes the stage the won stage.
  const v1::Event& won_event = EventOf(run.outputs[6]);
  const matcher::Deal won = std::get<matcher::Deal>(ingest::ToDocument(won_event));
  EXPECT_EQ(won.stage, "Closed Won");
  EXPECT_EQ(won.amount_minor, 5200000);
  EXPECT_EQ(won.owner, "0055e000004LmNoAAK");
  EXPECT_EQ(won.customer.value, "0015e00000XyZaBAAV");
  EXPECT_EQ(matcher::FormatDate(won.close_time), "2024-03-29");
  EXPECT_EQ(won.event_time.time_since_epoch().count(), 1711706400000);
}

TEST(AdapterFixtures, SapInvoiceReachesItsOrderThroughALinesBaseEntry) {
  const FixtureRun run = RunFixture("salesforce_sap.yaml", "sap_order_invoice.json");
  ASSERT_EQ(run.outputs.size(), 3u);
  const v1::Order order = EventOf(run.outputs[0]).order();
  EXPECT_EQ(order.order_id(), "512");
  EXPECT_EQ(order.deal_id(), "0065e00000AbCdEAAF");
  EXPECT_EQ(order.amount_minor(), 5200000);
  EXPECT_EQ(order.status(), v1::Order::OPEN);
  const v1::Invoice invoice = EventOf(run.outputs[1]).invoice();
  EXPECT_EQ(invoice.invoice_id(), "733");
  EXPECT_EQ(invoice.order_id(), "512");
  EXPECT_EQ(invoice.amount_minor(), 3120000);
  EXPECT_EQ(invoice.issue_time().seconds(), 1712707200);  // 2024-04-10
  const Rejection& two_orders = RejectionOf(run.outputs[2]);
  EXPECT_EQ(two_orders.reason, ingest::Reason::kUnmappable);
  EXPECT_EQ(two_orders.field, "order_id");
  EXPECT_NE(
      two_orders.message.find("DocumentLines[*].BaseEntry has different values (512 and 513)"),
      std::string::npos)
      << two_orders.message;
}

TEST(AdapterFixtures, DebeziumDeletesAndTombstonesWithdrawDeals) {
  const FixtureRun run = RunFixture("debezium_pg_mysql.yaml", "debezium_postgres_deals.json");
  ASSERT_EQ(run.outputs.size(), 8u);
  const v1::Deal d101 = EventOf(run.outputs[0]).deal();
  EXPECT_EQ(d101.deal_id(), "101");
  EXPECT_EQ(d101.stage(), "Closed Won");
  EXPECT_EQ(d101.amount_minor(), 150000);
  EXPECT_EQ(d101.close_time().seconds(), 19783LL * 86400);
  EXPECT_EQ(EventOf(run.outputs[1]).deal().amount_minor(), 275025);
  EXPECT_EQ(EventOf(run.outputs[2]).deal().stage(), "Closed Won");  // "signed" is in the list
  // The delete carries only the primary key; the last document is withdrawn.
  const v1::Deal deleted = EventOf(run.outputs[3]).deal();
  EXPECT_EQ(deleted.deal_id(), "101");
  EXPECT_EQ(deleted.stage(), ingest::kDeletedStage);
  EXPECT_EQ(deleted.amount_minor(), 150000);
  EXPECT_EQ(deleted.event_time().seconds(), 1709546400);
  EXPECT_TRUE(run.outputs[4].empty()) << "the tombstone after an applied delete changes nothing";
  // A tombstone alone deletes too.
  EXPECT_EQ(EventOf(run.outputs[6]).deal().deal_id(), "103");
  EXPECT_EQ(EventOf(run.outputs[6]).deal().stage(), ingest::kDeletedStage);
  EXPECT_EQ(RejectionOf(run.outputs[7]).reason, ingest::Reason::kNoPreviousRecord);
}

TEST(AdapterFixtures, DebeziumDecimalsInAllThreeEncodings) {
  const FixtureRun run = RunFixture("debezium_pg_mysql.yaml", "debezium_mysql_invoices.json");
  ASSERT_EQ(run.outputs.size(), 5u);
  const v1::Invoice precise = EventOf(run.outputs[0]).invoice();
  EXPECT_EQ(precise.amount_minor(), 100050);
  EXPECT_EQ(precise.deal_id(), "105");
  EXPECT_EQ(precise.issue_time().seconds(), 1709632800);
  EXPECT_EQ(precise.due_time().seconds(), 19843LL * 86400);
  const v1::Invoice text = EventOf(run.outputs[1]).invoice();
  EXPECT_EQ(text.amount_minor(), 70025);
  EXPECT_EQ(text.issue_time().seconds(), 1709884800);  // 09:00+01:00
  const v1::Invoice dbl = EventOf(run.outputs[2]).invoice();
  EXPECT_EQ(dbl.amount_minor(), 29975);
  EXPECT_EQ(dbl.issue_time().seconds(), 1709978400);  // micros
  const v1::Invoice flat = EventOf(run.outputs[3]).invoice();
  EXPECT_EQ(flat.amount_minor(), 50000);
  EXPECT_EQ(flat.status(), v1::Invoice::STATUS_UNSPECIFIED);
  const v1::Invoice voided = EventOf(run.outputs[4]).invoice();
  EXPECT_EQ(voided.invoice_id(), "9004");
  EXPECT_EQ(voided.status(), v1::Invoice::VOID);
}

// Truncated and corrupted copies of every fixture record: each yields at
// least one event or rejection (nothing is dropped silently), never a crash.
TEST(AdapterFixtures, DamagedRecordsAreRefusedNotDroppedOrFatal) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"salesforce_sap.yaml", "salesforce_opportunity_won.json"},
      {"salesforce_sap.yaml", "sap_order_invoice.json"},
      {"debezium_pg_mysql.yaml", "debezium_postgres_deals.json"},
      {"debezium_pg_mysql.yaml", "debezium_mysql_invoices.json"}};
  int tried = 0;
  for (const auto& [config_file, fixture_file] : files) {
    const Config config = std::get<Config>(LoadConfigFile(kFixtures + "/" + config_file));
    std::ifstream in(kFixtures + "/" + fixture_file);
    const json fixture = json::parse(in);
    for (const json& r : fixture["records"]) {
      if (r["value"].is_null()) continue;
      const std::string role = r["topic"];
      const InputTopic& topic = role == "deals"    ? config.topics.deals
                                : role == "orders" ? config.topics.orders
                                                   : config.topics.invoices;
      const ingest::DocType type = role == "deals"    ? ingest::DocType::kDeal
                                   : role == "orders" ? ingest::DocType::kOrder
                                                      : ingest::DocType::kInvoice;
      const std::string value = r["value"].dump();
      for (size_t step = 0; step < value.size(); step += 1 + value.size() / 97) {
        for (int variant = 0; variant < 3; ++variant) {
          std::string damaged = value;
          if (variant == 0) damaged.resize(step);
          if (variant == 1) damaged[step] = static_cast<char>(damaged[step] ^ 0x20);
          if (variant == 2) damaged.insert(step, "null,");
          ingest::MemoryRecordCache cache;
          auto adapter = ingest::MakeAdapter(topic.format, type, *topic.mapping, {}, cache);
          std::vector<Adapted> out;
          adapter->Adapt({.topic = topic.name, .key = std::string(r["key"]), .value = damaged},
                         out);
          ++tried;
          ASSERT_FALSE(out.empty()) << damaged;
          for (const Adapted& a : out) {
            if (auto* rej = std::get_if<Rejection>(&a)) {
              EXPECT_FALSE(rej->message.empty());
            }
          }
        }
      }
    }
  }
  EXPECT_GT(tried, 3000);
}

}  // namespace
}  // namespace closeloop::app
