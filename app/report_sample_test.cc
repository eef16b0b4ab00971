// `closeloop report --format json` against the real pipeline on the sample
// company: booked, billed and collected per tenant and currency equal the sums
// computed directly from the generated documents.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "app/embedded_kafka.h"
#include "app/http_server.h"
#include "app/pipeline.h"
#include "app/report_cli.h"
#include "app/sample_company.h"
#include "app/sample_producer.h"
#include "ingest/input.h"

namespace closeloop::app {
namespace {

struct Money {
  int64_t booked = 0, billed = 0, collected = 0;
  bool operator==(const Money&) const = default;
};
using Sums = std::map<std::pair<std::string, std::string>, Money>;  // tenant, currency

// The books as a person would add them up from the documents: won deals'
// amounts; their invoices (by deal id, by order id, or the customer's only
// deal for an invoice with neither); successful payments on those invoices.
Sums SumDocuments(const SampleCompany& company) {
  const matcher::TenantDirectory tenants = SampleTenants(company);
  std::map<std::string, const v1::Deal*> won;                   // tenant/deal
  std::map<std::string, std::string> order_deal;                // tenant/order -> deal
  std::map<std::string, std::vector<std::string>> by_customer;  // tenant/customer -> deals
  for (const v1::Event& e : company.events) {
    if (e.has_deal() &&
        tenants.For(matcher::TenantId{e.deal().tenant_id()}).IsClosedWon(e.deal().stage())) {
      won[e.deal().tenant_id() + "/" + e.deal().deal_id()] = &e.deal();
      by_customer[e.deal().tenant_id() + "/" + e.deal().customer_id()].push_back(
          e.deal().deal_id());
    }
    if (e.has_order()) {
      order_deal[e.order().tenant_id() + "/" + e.order().order_id()] = e.order().deal_id();
    }
  }
  Sums books;
  for (const auto& [key, deal] : won)
    books[{deal->tenant_id(), deal->currency()}].booked += deal->amount_minor();
  std::map<std::string, const v1::Deal*> invoice_deal;  // tenant/invoice
  for (const v1::Event& e : company.events) {
    if (!e.has_invoice()) continue;
    const v1::Invoice& i = e.invoice();
    const std::string t = i.tenant_id() + "/";
    std::string deal = i.deal_id();
    if (deal.empty() && !i.order_id().empty()) deal = order_deal[t + i.order_id()];
    if (deal.empty() && i.order_id().empty() && by_customer[t + i.customer_id()].size() == 1) {
      deal = by_customer[t + i.customer_id()][0];
    }
    auto it = won.find(t + deal);
    if (deal.empty() || it == won.end()) continue;
    EXPECT_EQ(i.kind(), v1::Invoice::INVOICE);
    invoice_deal[t + i.invoice_id()] = it->second;
    books[{i.tenant_id(), i.currency()}].billed += i.amount_minor();
  }
  for (const v1::Event& e : company.events) {
    if (!e.has_payment() || e.payment().status() != v1::Payment::SUCCEEDED) continue;
    const v1::Payment& p = e.payment();
    if (invoice_deal.contains(p.tenant_id() + "/" + p.invoice_id())) {
      books[{p.tenant_id(), p.currency()}].collected += p.amount_minor();
    }
  }
  return books;
}

TEST(ReportOnSampleCompany, BooksEqualTheSumsOfTheGeneratedDocuments) {
  auto kafka = EmbeddedKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  const SampleCompany company =
      GenerateSampleCompany({.seed = 7, .now = ingest::WallNow(), .deals_per_tenant = 80});
  auto loaded = LoadConfigText(company.tenants_yaml + "time:\n  idle_after: 1s\n", "test");
  ASSERT_TRUE(std::holds_alternative<Config>(loaded));
  Config config = std::get<Config>(std::move(loaded));
  const std::filesystem::path state =
      std::filesystem::path(testing::TempDir()) / "report_sample_state";
  std::filesystem::remove_all(state);
  config.state_dir = state.string();
  const std::string& bootstrap = (*kafka)->bootstrap();
  for (const std::string& t : config.topics.Names()) {
    ASSERT_TRUE((*kafka)->CreateTopic(t, config.kafka.topic_partitions).ok());
  }
  ASSERT_TRUE(ProduceSampleCompany(company, config, bootstrap,
                                   {.json_only = true, .include_bad_records = false})
                  .ok());

  SnapshotBox snapshots;
  auto http = HttpServer::Start("127.0.0.1:0", snapshots);
  ASSERT_TRUE(http.ok()) << http.status();
  Pipeline pipeline(config, bootstrap, &snapshots);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(pipeline.Start(stop).ok());
  ASSERT_TRUE(pipeline.Run(stop, /*until_idle=*/true).ok());

  std::ostringstream out, err;
  ASSERT_EQ(RunReportCli({.urls = {"http://" + (*http)->address()}, .format = ReportFormat::kJson},
                         out, err),
            0)
      << err.str();
  const nlohmann::json report = nlohmann::json::parse(out.str());
  Sums reported;
  for (const nlohmann::json& b : report.at("books")) {
    reported[{b.at("tenant"), b.at("currency")}] = {b.at("booked_minor"), b.at("billed_minor"),
                                                    b.at("collected_minor")};
  }
  const Sums expected = SumDocuments(company);
  ASSERT_EQ(expected.size(), 2u);
  for (const auto& [key, m] : expected) {
    ASSERT_TRUE(reported.contains(key)) << key.first << " " << key.second;
    EXPECT_EQ(reported[key].booked, m.booked) << key.first;
    EXPECT_EQ(reported[key].billed, m.billed) << key.first;
    EXPECT_EQ(reported[key].collected, m.collected) << key.first;
    EXPECT_GT(m.collected, 0);
  }
  EXPECT_EQ(reported.size(), expected.size());
  // Every exception the report lists as open is one the pipeline published.
  int64_t open = 0;
  for (const nlohmann::json& o : report.at("open_exceptions")) open += o.at("count").get<int64_t>();
  EXPECT_EQ(open, static_cast<int64_t>(pipeline.books().open().size()));
  EXPECT_GT(open, 0);
}

}  // namespace
}  // namespace closeloop::app
