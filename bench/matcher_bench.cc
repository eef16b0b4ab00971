// Matcher benchmarks (Google Benchmark): how many events per second one core
// runs through Engine::Apply and Engine::Advance on a realistic mix (a large
// generated sample company), and how many bytes of state each deal keeps in a
// MemoryStore. Prints figures; asserts nothing. See bench/README.md.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string_view>
#include <variant>
#include <vector>

#include "alerts/encode.h"
#include "app/process_status.h"
#include "app/sample_company.h"
#include "ingest/normalize.h"
#include "matcher/engine.h"
#include "matcher/memory_store.h"
#include "matcher/tenant.h"
#include "matcher/watermarks.h"

namespace closeloop {
namespace {

using matcher::Document;
using matcher::EventTime;
using matcher::kDay;

constexpr EventTime kNow = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23));

// A company converted to matcher documents once, outside any timed loop.
struct Workload {
  std::vector<Document> docs;  // in event-time order
  std::array<size_t, matcher::kSourceCount> per_source{};
  size_t deals = 0;
};

// The sample company of `seed` (42 unless training, see main).
const Workload& WorkloadFor(int deals_per_tenant, uint32_t seed = 42) {
  static std::map<std::pair<int, uint32_t>, Workload> cache;
  auto [it, fresh] = cache.try_emplace({deals_per_tenant, seed});
  if (fresh) {
    const app::SampleCompany company = app::GenerateSampleCompany(
        {.seed = seed, .now = kNow, .deals_per_tenant = deals_per_tenant});
    Workload& w = it->second;
    w.docs.reserve(company.events.size());
    for (const v1::Event& e : company.events) {
      w.docs.push_back(ingest::ToDocument(e));
      ++w.per_source[w.docs.back().index()];
    }
    w.deals = w.per_source[0];
    std::fprintf(stderr,
                 "workload: %d deals per tenant, 2 tenants: %zu events (%zu deals, %zu orders, "
                 "%zu invoices, %zu payments), seed %u\n",
                 deals_per_tenant, w.docs.size(), w.per_source[0], w.per_source[1], w.per_source[2],
                 w.per_source[3], seed);
  }
  return it->second;
}

// The sample company's tenants (its tenants_yaml is the same for every size).
matcher::TenantDirectory DemoTenants() {
  return app::SampleTenants(app::GenerateSampleCompany({.deals_per_tenant = 1}));
}

EventTime TimeOf(const Document& doc) {
  return std::visit([](const auto& d) { return d.event_time; }, doc);
}

// Replays `w` as the pipeline would: batches of `batch` documents through
// Engine::Apply, then every watermark to the last event time delivered (the
// stream is in event-time order, so that is honest) and Engine::Advance; at
// the end the watermarks reach `now`. Returns the number of records; keeps
// them in `kept` when given.
size_t Replay(const Workload& w, matcher::Engine& engine, size_t batch,
              double* advance_seconds = nullptr,
              std::vector<matcher::ExceptionRecord>* kept = nullptr) {
  using Clock = std::chrono::steady_clock;
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    wm.SetPartitionCount(static_cast<matcher::Source>(s), 1);
  }
  std::vector<matcher::ExceptionRecord> out;
  std::vector<matcher::FiguresChange> figures;
  size_t records = 0;
  auto advance = [&](EventTime to) {
    wm.AdvanceAll(to);
    const Clock::time_point start = advance_seconds ? Clock::now() : Clock::time_point();
    engine.Advance(wm, out);
    if (advance_seconds) {
      *advance_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    }
    records += out.size();
    if (kept != nullptr) kept->insert(kept->end(), out.begin(), out.end());
    out.clear();
    engine.TakeFiguresChanges(figures);  // as the pipeline does after every batch
  };
  for (size_t i = 0; i < w.docs.size();) {
    const size_t end = std::min(w.docs.size(), i + batch);
    for (; i < end; ++i) engine.Apply(w.docs[i], wm, out);
    advance(TimeOf(w.docs[end - 1]));
  }
  advance(kNow);
  return records;
}

// Bytes malloc has handed out and not yet had back.
int64_t HeapInUseBytes() { return static_cast<int64_t>(mallinfo2().uordblks); }

// Resident and heap growth from loading the whole company into a fresh
// MemoryStore, divided by the number of deals. Includes everything the store
// keeps for a deal: its versions, slots, open exceptions, timers, and its
// orders, invoices and payments. Runs once (the figure is not a time).
void StateBytesPerDeal(benchmark::State& state) {
  const Workload& w = WorkloadFor(static_cast<int>(state.range(0)));
  const matcher::TenantDirectory dir = DemoTenants();
  for (auto _ : state) {
    malloc_trim(0);  // give back what earlier runs freed, so growth is ours
    const int64_t rss_before = app::ProcessStatusBytes("VmRSS");
    const int64_t heap_before = HeapInUseBytes();
    auto store = std::make_unique<matcher::MemoryStore>();
    matcher::Engine engine(dir, *store);
    benchmark::DoNotOptimize(Replay(w, engine, 10'000));
    // The buffer of figures changes the engine keeps (one batch's, ~2.4 MB
    // at 50k deals) is not state.
    engine.TakeFiguresChanges();
    malloc_trim(0);
    const int64_t rss_after = app::ProcessStatusBytes("VmRSS");
    const int64_t heap_after = HeapInUseBytes();
    const double deals = static_cast<double>(store->deal_count());
    state.counters["deals"] = deals;
    state.counters["timers"] = static_cast<double>(store->timer_count());
    state.counters["resident_bytes_per_deal"] = static_cast<double>(rss_after - rss_before) / deals;
    state.counters["heap_bytes_per_deal"] = static_cast<double>(heap_after - heap_before) / deals;
    std::fprintf(stderr,
                 "resident bytes per deal (MemoryStore): %.0f (RSS growth %lld bytes over %.0f "
                 "deals, with their orders, invoices, payments and timers); heap bytes per deal "
                 "(malloc in use): %.0f\n",
                 static_cast<double>(rss_after - rss_before) / deals,
                 static_cast<long long>(rss_after - rss_before), deals,
                 static_cast<double>(heap_after - heap_before) / deals);
    state.PauseTiming();
    store.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(StateBytesPerDeal)->Arg(25'000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Events per second through Apply + Advance into a fresh MemoryStore. Arguments:
// deals per tenant, documents per batch (the pipeline's batch_max_records).
// 1k to 50k deals in state at batch 10,000 show where the cost per event
// rises as the state outgrows the caches (bench/README.md, "Figures on this
// machine").
void ReplayCompany(benchmark::State& state) {
  const Workload& w = WorkloadFor(static_cast<int>(state.range(0)));
  const size_t batch = static_cast<size_t>(state.range(1));
  const matcher::TenantDirectory dir = DemoTenants();
  size_t records = 0;
  double advance_seconds = 0, total_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto store = std::make_unique<matcher::MemoryStore>();
    matcher::Engine engine(dir, *store);
    records = Replay(w, engine, batch, &advance_seconds);
    total_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.PauseTiming();  // freeing the store is not the matcher's work
    store.reset();
    state.ResumeTiming();
  }
  const double events = static_cast<double>(w.docs.size());
  state.counters["events/s"] = benchmark::Counter(events * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
  state.counters["events"] = events;
  state.counters["records"] = static_cast<double>(records);
  // Share of the wall time spent in Engine::Advance (timers firing).
  state.counters["advance_share"] = advance_seconds / total_seconds;
}
BENCHMARK(ReplayCompany)
    ->ArgNames({"deals_per_tenant", "batch"})
    ->Args({25'000, 10'000})
    ->Args({25'000, 100})
    ->Args({500, 10'000})
    ->Args({2'500, 10'000})
    ->Args({5'000, 10'000})
    ->Args({12'500, 10'000})
    ->Unit(benchmark::kMillisecond);

// The pipeline's next step for each record: its JSON for the exceptions
// topic, through protobuf's printer (the message, then MessageToJsonString)
// or alerts::EncodeJson (the same bytes, written directly), on the records
// of the 5,000-deal replay.
void EncodeRecords(benchmark::State& state, bool direct) {
  static const std::vector<matcher::ExceptionRecord> records = [] {
    std::vector<matcher::ExceptionRecord> kept;
    const matcher::TenantDirectory dir = DemoTenants();
    matcher::MemoryStore store;
    matcher::Engine engine(dir, store);
    Replay(WorkloadFor(2'500), engine, 10'000, nullptr, &kept);
    return kept;
  }();
  int64_t bytes = 0;
  for (auto _ : state) {
    for (const matcher::ExceptionRecord& r : records) {
      const std::string json =
          direct ? alerts::EncodeJson(r, kNow)
                 : alerts::Encode(alerts::ToProto(r, kNow), alerts::Encoding::kJson);
      bytes += static_cast<int64_t>(json.size());
      benchmark::DoNotOptimize(json);
    }
  }
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(records.size() * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["bytes/record"] =
      static_cast<double>(bytes) / static_cast<double>(records.size() * state.iterations());
}
BENCHMARK_CAPTURE(EncodeRecords, printer, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(EncodeRecords, direct, true)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace closeloop

// Each replay builds a whole store and frees it, untimed, before the next.
// With glibc's default thresholds that free hands the heap's top back to the
// kernel (or the largest vectors were mmapped and are unmapped), and the next
// iteration faults every page in again, timed. Which of the two happens
// depended on heap layout: the same code ran at ~500,000 or ~900,000 events/s
// at 1k deals, and unrelated changes flipped it (bench/README.md, "Page
// faults, not the matcher"). A running service keeps its store, so the
// benchmarks keep their heap: no trimming, and mmap only above 32 MiB (glibc's
// largest threshold).
//
// `bench_matcher --train` runs no benchmark: it replays another company (seed
// 7, 2,000 deals per tenant, batches of 1,000) once, the profile that
// scripts/pgo.sh records with an instrumented matcher (bench/README.md,
// "Profile-guided optimization"). Not the measured companies (seed 42), so
// the figures do not come from the very input the compiler was tuned on.
int main(int argc, char** argv) {
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (argc == 2 && std::string_view(argv[1]) == "--train") {
    const closeloop::matcher::TenantDirectory dir = closeloop::DemoTenants();
    closeloop::matcher::MemoryStore store;
    closeloop::matcher::Engine engine(dir, store);
    const size_t records = closeloop::Replay(closeloop::WorkloadFor(2'000, 7), engine, 1'000);
    std::fprintf(stderr, "trained on %zu records\n", records);
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
