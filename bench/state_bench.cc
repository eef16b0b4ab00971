// State store benchmark (Google Benchmark): the matcher over RocksStore on
// the generated sample company, committing every `batch` documents, against
// the same run over MemoryStore. Prints events/s and the store's size on
// disk; asserts nothing. See bench/README.md.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <variant>
#include <vector>

#include "app/sample_company.h"
#include "ingest/normalize.h"
#include "matcher/engine.h"
#include "matcher/memory_store.h"
#include "matcher/tenant.h"
#include "matcher/watermarks.h"
#include "state/store.h"

namespace closeloop {
namespace {

using matcher::EventTime;
constexpr EventTime kNow = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23));

struct Workload {
  app::SampleCompany company;
  std::vector<matcher::Document> docs;
};

const Workload& WorkloadFor(int deals_per_tenant) {
  static std::map<int, Workload> cache;
  auto [it, fresh] = cache.try_emplace(deals_per_tenant);
  if (fresh) {
    it->second.company =
        app::GenerateSampleCompany({.seed = 42, .now = kNow, .deals_per_tenant = deals_per_tenant});
    for (const v1::Event& e : it->second.company.events) {
      it->second.docs.push_back(ingest::ToDocument(e));
    }
  }
  return it->second;
}

// Feeds every document, advancing all watermarks after each batch.
template <class Commit>
void Run(const Workload& w, matcher::Store& store, size_t batch, Commit commit) {
  const matcher::TenantDirectory dir = app::SampleTenants(w.company);
  matcher::Engine engine(dir, store);
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    wm.SetPartitionCount(static_cast<matcher::Source>(s), 1);
  }
  std::vector<matcher::ExceptionRecord> out;
  for (size_t i = 0; i < w.docs.size(); ++i) {
    engine.Apply(w.docs[i], wm, out);
    if ((i + 1) % batch == 0 || i + 1 == w.docs.size()) {
      wm.AdvanceAll(std::visit([](const auto& d) { return d.event_time; }, w.docs[i]));
      engine.Advance(wm, out);
      commit();
    }
  }
  wm.AdvanceAll(kNow);
  engine.Advance(wm, out);
  commit();
  benchmark::DoNotOptimize(out.data());
}

void MemoryStore(benchmark::State& state) {
  const Workload& w = WorkloadFor(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    matcher::MemoryStore store;
    Run(w, store, static_cast<size_t>(state.range(1)), [] {});
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.docs.size()));
}

void RocksStore(benchmark::State& state) {
  const Workload& w = WorkloadFor(static_cast<int>(state.range(0)));
  std::string root = std::filesystem::temp_directory_path() / "closeloop-state-bench-XXXXXX";
  if (mkdtemp(root.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  int run = 0;
  for (auto _ : state) {
    auto store = state::RocksStore::Open({.dir = root + "/" + std::to_string(run++)});
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      break;
    }
    Run(w, **store, static_cast<size_t>(state.range(1)), [&] {
      if (auto s = (*store)->Commit(); !s.ok()) state.SkipWithError(s.ToString().c_str());
    });
    state.PauseTiming();
    const state::StoreStats stats = (*store)->Stats();
    state.counters["disk_MB"] = static_cast<double>(stats.disk_bytes()) / 1e6;
    state.counters["keys"] = static_cast<double>(stats.estimated_keys);
    store->reset();
    state.ResumeTiming();
  }
  std::filesystem::remove_all(root);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.docs.size()));
}

BENCHMARK(MemoryStore)
    ->ArgNames({"deals_per_tenant", "batch"})
    ->Args({500, 100})
    ->Args({5000, 1000})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(RocksStore)
    ->ArgNames({"deals_per_tenant", "batch"})
    ->Args({500, 100})
    ->Args({500, 10000})
    ->Args({5000, 100})
    ->Args({5000, 1000})
    ->Args({5000, 10000})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace closeloop

BENCHMARK_MAIN();
