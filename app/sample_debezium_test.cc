// The sample company produced as Debezium change events and read back through
// the debezium adapter gives the very documents of its canonical form, and the
// matcher raises the very same exception records from both.
#include "app/sample_debezium.h"

#include <gtest/gtest.h>

#include <map>

#include "app/config.h"
#include "ingest/adapter.h"
#include "ingest/decode.h"
#include "ingest/normalize.h"
#include "matcher/engine.h"
#include "matcher/memory_store.h"
#include "matcher/watermarks.h"

namespace closeloop::app {
namespace {

using matcher::EventTime;

constexpr EventTime kNow = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23));

struct Timed {
  matcher::Document doc;
  EventTime time;
};

std::vector<matcher::ExceptionRecord> RunEngine(const std::vector<Timed>& docs,
                                                const matcher::TenantDirectory& tenants) {
  matcher::MemoryStore store;
  matcher::Engine engine(tenants, store);
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    wm.SetPartitionCount(static_cast<matcher::Source>(s), 1);
  }
  std::vector<matcher::ExceptionRecord> out;
  for (const Timed& d : docs) {
    engine.Apply(d.doc, wm, out);
    wm.AdvanceAll(d.time);
    engine.Advance(wm, out);
  }
  wm.AdvanceAll(kNow);
  engine.Advance(wm, out);
  return out;
}

ingest::DocType TypeOf(const std::string& kind) {
  if (kind == "deals") return ingest::DocType::kDeal;
  if (kind == "orders") return ingest::DocType::kOrder;
  if (kind == "invoices") return ingest::DocType::kInvoice;
  return ingest::DocType::kPayment;
}

TEST(SampleDebezium, YieldsTheSameDocumentsAndExceptionsAsTheCanonicalForm) {
  const SampleCompany company = GenerateSampleCompany({.seed = 7, .now = kNow});
  const matcher::TenantDirectory tenants = SampleTenants(company);

  // Canonical: what the service makes of the events as JSON.
  std::vector<Timed> canonical;
  for (const v1::Event& e : company.events) {
    canonical.push_back({ingest::ToDocument(e), ingest::EventTimeOf(e)});
  }

  // Debezium: the rendered records through the configured adapters.
  auto loaded = LoadConfigText(DebeziumTopicsYaml() + company.tenants_yaml, "sample-debezium");
  ASSERT_TRUE(std::holds_alternative<Config>(loaded))
      << std::get<ConfigError>(loaded).ToString() << "\n"
      << DebeziumTopicsYaml();
  const Config config = std::get<Config>(loaded);
  ingest::MemoryRecordCache cache;
  std::map<std::string, std::unique_ptr<ingest::Adapter>> adapters;
  for (const auto& [kind, topic] : std::vector<std::pair<std::string, const InputTopic*>>{
           {"deals", &config.topics.deals},
           {"orders", &config.topics.orders},
           {"invoices", &config.topics.invoices},
           {"payments", &config.topics.payments}}) {
    ASSERT_EQ(topic->format, ingest::Format::kDebezium);
    adapters[kind] =
        ingest::MakeAdapter(topic->format, TypeOf(kind), *topic->mapping, config.limits, cache);
  }
  const std::vector<DebeziumRecord> records = RenderDebezium(company);
  ASSERT_EQ(records.size(), company.events.size());
  std::vector<Timed> adapted;
  for (size_t i = 0; i < records.size(); ++i) {
    const DebeziumRecord& r = records[i];
    std::vector<ingest::Adapted> out;
    adapters.at(r.topic_kind)
        ->Adapt({.topic = "sample." + r.topic_kind, .key = r.key, .value = r.value}, out);
    ASSERT_EQ(out.size(), 1u) << r.value;
    if (auto* rejection = std::get_if<ingest::Rejection>(&out[0])) {
      FAIL() << "record " << i << " refused (" << ingest::ReasonName(rejection->reason)
             << "): " << rejection->message << "\n"
             << r.value;
    }
    const v1::Event& e = std::get<v1::Event>(out[0]);
    adapted.push_back({ingest::ToDocument(e), ingest::EventTimeOf(e)});
    EXPECT_TRUE(adapted.back().doc == canonical[i].doc)
        << "record " << i << " differs from its canonical form:\n"
        << company.events[i].DebugString() << "\n"
        << e.DebugString();
    EXPECT_EQ(adapted.back().time, canonical[i].time) << "record " << i;
  }

  const auto expected = RunEngine(canonical, tenants);
  const auto got = RunEngine(adapted, tenants);
  ASSERT_FALSE(expected.empty());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i] == expected[i]) << "exception record " << i << ": " << got[i].exception_id
                                       << " vs " << expected[i].exception_id;
  }
  // Every planted problem is among them.
  for (const PlantedProblem& p : company.planted) {
    bool found = false;
    for (const auto& r : got) found |= r.tenant.value == p.tenant && r.kind == p.kind;
    EXPECT_TRUE(found) << p.tenant << " " << matcher::KindName(p.kind) << " " << p.subject_id;
  }
}

}  // namespace
}  // namespace closeloop::app
