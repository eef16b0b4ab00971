// The RocksDB store gives the matcher exactly what MemoryStore gives it: the
// same generated company, fed to matcher::Engine once over MemoryStore and
// once over RocksStore, with commits at random batch boundaries, clean
// close/reopen in between, and simulated crashes (the process dies with a
// batch pending: the store reopens at the last commit and delivery resumes
// from there, as the pipeline resumes from the offsets the store holds). The
// exception records must be identical.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <tuple>
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

using matcher::Document;
using matcher::EventTime;
using matcher::ExceptionRecord;

constexpr EventTime kNow = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23));

EventTime TimeOf(const Document& doc) {
  return std::visit([](const auto& x) { return x.event_time; }, doc);
}

struct Company {
  app::SampleCompany sample;
  std::vector<Document> docs;  // in event-time order
};

Company MakeCompany(uint32_t seed) {
  Company c;
  c.sample = app::GenerateSampleCompany(
      {.seed = seed, .now = kNow, .deals_per_tenant = 20 + static_cast<int>(seed % 10)});
  for (const v1::Event& e : c.sample.events) c.docs.push_back(ingest::ToDocument(e));
  // Some versions are sent again unchanged, later, before the next one: their
  // times go through the state codec as repeats.
  std::stable_sort(c.docs.begin(), c.docs.end(),
                   [](const Document& a, const Document& b) { return TimeOf(a) < TimeOf(b); });
  std::mt19937 rng(seed);
  std::map<std::pair<size_t, std::string>, std::vector<size_t>> versions;
  for (size_t i = 0; i < c.docs.size(); ++i) {
    const std::string key =
        std::visit([](const auto& x) { return x.tenant.value + ":" + x.id.value; }, c.docs[i]);
    versions[{c.docs[i].index(), key}].push_back(i);
  }
  std::vector<Document> added;
  for (const auto& [key, indices] : versions) {
    for (size_t k = 0; k < indices.size(); ++k) {
      const EventTime t = TimeOf(c.docs[indices[k]]);
      const EventTime next =
          k + 1 < indices.size() ? TimeOf(c.docs[indices[k + 1]]) : kNow - matcher::kDay;
      const int64_t span = std::chrono::duration_cast<std::chrono::minutes>(next - t).count();
      if (span < 4 || rng() % 3 == 0) continue;
      for (int n = 1 + rng() % 3; n > 0; --n) {
        Document again = c.docs[indices[k]];
        std::visit(
            [&](auto& x) { x.event_time = t + std::chrono::minutes(1 + rng() % (span - 1)); },
            again);
        added.push_back(std::move(again));
      }
    }
  }
  for (Document& d : added) c.docs.push_back(std::move(d));
  std::stable_sort(c.docs.begin(), c.docs.end(),
                   [](const Document& a, const Document& b) { return TimeOf(a) < TimeOf(b); });
  return c;
}

matcher::WatermarkSet FreshWatermarks() {
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    wm.SetPartitionCount(static_cast<matcher::Source>(s), 1);
  }
  return wm;
}

// Step i applies docs[i] and advances every watermark to its time; the last
// step (i == docs.size()) advances them to kNow. Due timers fire in pieces
// of at most `max_timers` (pipeline.batch_max_timers).
void Step(const Company& c, size_t i, matcher::Engine& engine, matcher::WatermarkSet& wm,
          std::vector<ExceptionRecord>& out, size_t max_timers = SIZE_MAX) {
  if (i < c.docs.size()) {
    engine.Apply(c.docs[i], wm, out);
    wm.AdvanceAll(TimeOf(c.docs[i]));
  } else {
    wm.AdvanceAll(kNow);
  }
  while (!engine.Advance(wm, out, max_timers)) {
  }
}

std::vector<ExceptionRecord> MemoryRun(const Company& c, const matcher::TenantDirectory& dir) {
  matcher::MemoryStore store;
  matcher::Engine engine(dir, store);
  matcher::WatermarkSet wm = FreshWatermarks();
  std::vector<ExceptionRecord> out;
  for (size_t i = 0; i <= c.docs.size(); ++i) Step(c, i, engine, wm, out);
  return out;
}

struct RocksLog {
  int commits = 0;
  int reopens = 0;
  int crashes = 0;
  size_t replayed = 0;
};

std::vector<ExceptionRecord> RocksRun(const Company& c, const matcher::TenantDirectory& dir,
                                      const std::string& path, std::mt19937_64& rng,
                                      RocksLog& log) {
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto open = [&] {
    auto s = state::RocksStore::Open({.dir = path, .write_buffer_bytes = 1 << 20});
    EXPECT_TRUE(s.ok()) << s.status();
    return *std::move(s);
  };
  std::unique_ptr<state::RocksStore> store = open();
  auto engine = std::make_unique<matcher::Engine>(dir, *store);
  // What a commit makes durable besides the store: where delivery resumes,
  // the watermarks and the records emitted (in the pipeline: the outbox).
  size_t committed_step = 0;
  matcher::WatermarkSet wm = FreshWatermarks();
  matcher::WatermarkSet committed_wm = wm;
  std::vector<ExceptionRecord> out;
  size_t committed_out = 0;
  constexpr size_t kMaxTimers[] = {1, 5, SIZE_MAX};
  const size_t max_timers = kMaxTimers[uniform(0, 2)];

  size_t i = 0;
  while (i <= c.docs.size()) {
    const size_t batch = std::min<size_t>(uniform(1, 20), c.docs.size() + 1 - i);
    for (size_t k = 0; k < batch; ++k) Step(c, i++, *engine, wm, out, max_timers);
    // Mostly plain commits; now and then a crash or a clean reopen, and at
    // least one of each per run.
    const int roll = uniform(0, 99);
    if ((roll < 12 || (log.crashes == 0 && i > c.docs.size() / 2)) && i <= c.docs.size()) {
      // Crash with the batch pending: nothing of it is stored.
      engine.reset();
      store.reset();
      store = open();
      engine = std::make_unique<matcher::Engine>(dir, *store);
      log.replayed += i - committed_step;
      i = committed_step;
      wm = committed_wm;
      out.resize(committed_out);
      ++log.crashes;
      continue;
    }
    EXPECT_TRUE(store->Commit().ok());
    ++log.commits;
    committed_step = i;
    committed_wm = wm;
    committed_out = out.size();
    if (roll < 24 || (log.reopens == 0 && i > c.docs.size() / 3)) {
      engine.reset();
      store.reset();
      store = open();
      engine = std::make_unique<matcher::Engine>(dir, *store);
      ++log.reopens;
    }
  }
  EXPECT_TRUE(store->status().ok()) << store->status();
  return out;
}

class StateDeterminism : public testing::TestWithParam<uint32_t> {
 protected:
  StateDeterminism() {
    std::string pattern = testing::TempDir() + "/closeloop-determinism-XXXXXX";
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  ~StateDeterminism() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_P(StateDeterminism, RocksStoreGivesTheMemoryStoreRecords) {
  const Company c = MakeCompany(GetParam());
  const matcher::TenantDirectory dir = app::SampleTenants(c.sample);
  const std::vector<ExceptionRecord> want = MemoryRun(c, dir);
  ASSERT_FALSE(want.empty());
  for (int run = 0; run < 3; ++run) {
    std::mt19937_64 rng(uint64_t{GetParam()} * 7919u + static_cast<uint64_t>(run));
    RocksLog log;
    const std::string path = root_ + "/run" + std::to_string(run);
    const std::vector<ExceptionRecord> got = RocksRun(c, dir, path, rng, log);
    const std::string what =
        "seed " + std::to_string(GetParam()) + " run " + std::to_string(run) + ": " +
        std::to_string(c.docs.size()) + " documents, " + std::to_string(log.commits) +
        " commits, " + std::to_string(log.reopens) + " reopens, " + std::to_string(log.crashes) +
        " crashes replaying " + std::to_string(log.replayed) + " steps";
    ASSERT_GT(log.reopens, 0) << what;
    ASSERT_GT(log.crashes, 0) << what;
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t k = 0; k < want.size(); ++k) {
      ASSERT_EQ(got[k], want[k]) << what << "; first difference at record " << k << " ("
                                 << want[k].exception_id << " sequence " << want[k].sequence << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SampleCompanies, StateDeterminism, testing::Range<uint32_t>(1, 6),
                         [](const testing::TestParamInfo<uint32_t>& info) {
                           return "Seed" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace closeloop
