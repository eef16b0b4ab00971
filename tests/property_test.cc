// Property test of the matcher (SPEC §6): for generated sample companies, any
// honest delivery (sources split into partitions, each partition in event-time
// order, partitions and sources interleaved at random, random batch sizes,
// watermarks advanced at random moments but never past what was delivered,
// exact duplicates re-delivered) gives the same exception records, and the same
// final books figures per deal, as the reference run in global event-time
// order. The reference run must also raise
// exactly the sample's planted problems with their exact amounts.
//
// CLOSELOOP_PROPERTY_PERMUTATIONS=N runs N permutations per company instead of
// the default (the default run covers kCompanies x kPermutations = 2,000).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <sstream>
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

namespace closeloop {
namespace {

using matcher::Document;
using matcher::EventTime;
using matcher::ExceptionRecord;
using matcher::kDay;
using matcher::Source;

constexpr int kCompanies = 20;
constexpr int kPermutations = 100;  // per company
static_assert(kCompanies * kPermutations >= 1000, "the matcher issue asks for 1,000 at least");

constexpr EventTime kNow = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23));

// ---------------------------------------------------------------------------
// Printing, for failure messages.

std::string TimeText(EventTime t) {
  if (t <= matcher::kMinTime) return "min";
  if (t >= matcher::kMaxTime) return "max";
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(t - day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()),
                static_cast<long>(hms.subseconds().count()));
  return buf;
}

std::string Describe(const ExceptionRecord& r) {
  std::ostringstream o;
  o << "{exception_id=" << r.exception_id << " sequence=" << r.sequence
    << " tenant=" << r.tenant.value << " kind=" << matcher::KindName(r.kind)
    << " state=" << matcher::StateName(r.state)
    << " resolution=" << matcher::ResolutionName(r.resolution)
    << " superseded_by=" << r.superseded_by << " deal=" << r.deal.value
    << " order=" << r.order.value << " invoice=" << r.invoice.value
    << " customer=" << r.customer.value << " customer_name=" << r.customer_name
    << " owner=" << r.owner << " team=" << r.team << " topic=" << r.topic << " severity=P"
    << static_cast<int>(r.severity) + 1 << " amount_at_risk_minor=" << r.amount_at_risk_minor
    << " recovered_minor=" << r.recovered_minor << " currency=" << r.currency
    << " deadline=" << TimeText(r.deadline) << " opened_at=" << TimeText(r.opened_at)
    << " effective_at=" << TimeText(r.effective_at) << " age_days=" << r.age_days
    << " time_weighted_loss=" << r.time_weighted_loss << " confidence=" << r.confidence
    << " reason=\"" << r.reason << "\" note=\"" << r.note << "\"}";
  return o.str();
}

// Empty when equal; otherwise the first differing records, in full.
std::string FirstDifference(const std::vector<ExceptionRecord>& want,
                            const std::vector<ExceptionRecord>& got) {
  if (want == got) return "";
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  std::ostringstream o;
  o << "reference has " << want.size() << " records, this run " << got.size()
    << "; first difference at index " << i << " (sorted by exception_id, sequence)\n";
  for (size_t k = i; k < i + 3; ++k) {
    o << "  reference[" << k << "]: " << (k < want.size() ? Describe(want[k]) : "(none)") << "\n";
    o << "  this run [" << k << "]: " << (k < got.size() ? Describe(got[k]) : "(none)") << "\n";
  }
  return o.str();
}

// ---------------------------------------------------------------------------
// The company and its documents.

// A document with what delivery needs to know about it.
struct Delivered {
  Document doc;
  Source source;
  EventTime time;
  std::string key;  // tenant and document id; decides the partition
};

Delivered Classify(Document doc) {
  Delivered d{.doc = std::move(doc)};
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        d.time = x.event_time;
        d.key = x.tenant.value + ":" + x.id.value;
        if constexpr (std::is_same_v<T, matcher::Deal>) d.source = Source::kCrm;
        if constexpr (std::is_same_v<T, matcher::Order>) d.source = Source::kErp;
        if constexpr (std::is_same_v<T, matcher::Invoice>) d.source = Source::kBilling;
        if constexpr (std::is_same_v<T, matcher::Payment>) d.source = Source::kPayments;
      },
      d.doc);
  return d;
}

// FNV-1a: unlike std::hash, the same partitions for a seed on every platform.
uint32_t KeyHash(const std::string& key) {
  uint32_t h = 2166136261u;
  for (unsigned char c : key) h = (h ^ c) * 16777619u;
  return h;
}

struct Company {
  uint32_t seed = 0;
  app::SampleCompany sample;
  std::vector<Delivered> docs;  // in event-time order
};

Company MakeCompany(uint32_t seed) {
  Company c;
  c.seed = seed;
  c.sample = app::GenerateSampleCompany(
      {.seed = seed, .now = kNow, .deals_per_tenant = 15 + static_cast<int>(seed % 16)});
  for (const v1::Event& e : c.sample.events) c.docs.push_back(Classify(ingest::ToDocument(e)));
  return c;
}

void SortRecords(std::vector<ExceptionRecord>& records) {
  std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return std::tie(a.exception_id, a.sequence) < std::tie(b.exception_id, b.sequence);
  });
}

// ---------------------------------------------------------------------------
// Books figures (Engine::TakeFiguresChanges), folded per deal: each change
// must start from what was last reported for its deal.

struct FiguresFold {
  std::map<std::pair<std::string, std::string>, matcher::DealFigures> last;
  std::string error;  // the first change that did not start from `last`

  void Add(std::vector<matcher::FiguresChange> changes) {
    for (matcher::FiguresChange& c : changes) {
      const auto key = std::pair(c.tenant.value, c.deal.value);
      auto it = last.find(key);
      const std::optional<matcher::DealFigures> was =
          it == last.end() ? std::nullopt : std::optional(it->second);
      if (error.empty() && c.before != was) {
        error = "a figures change of " + key.first + "/" + key.second +
                " does not start from what was last reported for it";
      }
      last[key] = std::move(c.after);
    }
  }
};

// `key`: the deal's tenant and id.
std::string Describe(const std::pair<std::string, std::string>& key,
                     const matcher::DealFigures& f) {
  std::ostringstream o;
  o << "{" << key.first << "/" << key.second << " booked=" << f.booked
    << " booked_minor=" << f.booked_minor << " billed_minor=" << f.billed_minor
    << " collected_minor=" << f.collected_minor << " currency=" << f.currency
    << " closed_at=" << TimeText(f.closed_at)
    << " first_billed_at=" << (f.first_billed_at ? TimeText(*f.first_billed_at) : "none")
    << " first_collected_at=" << (f.first_collected_at ? TimeText(*f.first_collected_at) : "none")
    << "}";
  return o.str();
}

// Empty when equal; otherwise the first deal whose final figures differ.
std::string FiguresDifference(const FiguresFold& want, const FiguresFold& got) {
  if (!got.error.empty()) return got.error;
  if (want.last == got.last) return "";
  std::ostringstream o;
  o << "final figures differ (reference " << want.last.size() << " deals, this run "
    << got.last.size() << ")\n";
  for (const auto& [key, f] : want.last) {
    auto it = got.last.find(key);
    if (it == got.last.end()) {
      o << "  reference: " << Describe(key, f) << "\n  this run:  (none)\n";
      return o.str();
    }
    if (!(it->second == f)) {
      o << "  reference: " << Describe(key, f) << "\n  this run:  " << Describe(key, it->second)
        << "\n";
      return o.str();
    }
  }
  for (const auto& [key, f] : got.last) {
    if (!want.last.contains(key)) {
      o << "  reference: (none)\n  this run:  " << Describe(key, f) << "\n";
    }
  }
  return o.str();
}

// ---------------------------------------------------------------------------
// Runs.

// Every document in global event-time order, one at a time; after each, every
// source's watermark reaches its event time (nothing earlier remains anywhere).
std::vector<ExceptionRecord> ReferenceRun(const Company& c, const matcher::TenantDirectory& dir,
                                          FiguresFold* figures = nullptr) {
  matcher::MemoryStore store;
  matcher::Engine engine(dir, store);
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) wm.SetPartitionCount(static_cast<Source>(s), 1);
  std::vector<ExceptionRecord> out;
  for (const Delivered& d : c.docs) {
    engine.Apply(d.doc, wm, out);
    wm.AdvanceAll(d.time);
    engine.Advance(wm, out);
  }
  wm.AdvanceAll(kNow);
  engine.Advance(wm, out);
  if (figures != nullptr) figures->Add(engine.TakeFiguresChanges());
  SortRecords(out);
  return out;
}

// What one permutation did, for failure messages.
struct RunLog {
  int partitions[matcher::kSourceCount] = {};
  int max_run = 0;
  size_t deliveries = 0;
  size_t duplicates = 0;
  size_t batches = 0;
  size_t watermark_steps = 0;
  size_t max_timers = SIZE_MAX;  // per Advance call, as pipeline.batch_max_timers
  size_t advance_calls = 0;
  // The first timer found due after Advance said it was done, if any.
  std::string left_due;

  std::string ToString() const {
    std::ostringstream o;
    o << "partitions (crm, erp, billing, payments) = (" << partitions[0] << ", " << partitions[1]
      << ", " << partitions[2] << ", " << partitions[3] << "), max run per pick " << max_run << ", "
      << deliveries << " deliveries of which " << duplicates << " duplicates, " << batches
      << " batches, " << watermark_steps << " watermark steps, at most "
      << (max_timers == SIZE_MAX ? std::string("any number of") : std::to_string(max_timers))
      << " timers in each of " << advance_calls << " Advance calls";
    return o.str();
  }
};

// One honest delivery chosen by `rng`.
std::vector<ExceptionRecord> PermutedRun(const Company& c, const matcher::TenantDirectory& dir,
                                         std::mt19937_64& rng, RunLog& log, FiguresFold& figures) {
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  // Queues per (source, partition), each in event-time order.
  struct Partition {
    Source source;
    int index;
    std::vector<const Delivered*> queue;
    size_t next = 0;
    std::optional<EventTime> last_delivered;
  };
  std::vector<Partition> partitions;
  int first_of_source[matcher::kSourceCount];
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    const int count = uniform(1, 3);
    log.partitions[s] = count;
    wm.SetPartitionCount(static_cast<Source>(s), count);
    first_of_source[s] = static_cast<int>(partitions.size());
    for (int p = 0; p < count; ++p) partitions.push_back({static_cast<Source>(s), p, {}});
  }
  for (const Delivered& d : c.docs) {
    const int s = static_cast<int>(d.source);
    const int count = log.partitions[s];
    partitions[first_of_source[s] + static_cast<int>(KeyHash(d.key) % count)].queue.push_back(&d);
  }

  // The delivery stream: a random partition gives a run of its next records;
  // long runs model a backfill of one system before another, short ones a
  // live interleaving. Now and then an already-delivered record comes again.
  constexpr int kMaxRuns[] = {1, 3, 20, 1000};
  log.max_run = kMaxRuns[uniform(0, 3)];
  const int duplicate_percent = uniform(0, 5);
  std::vector<std::pair<const Delivered*, Partition*>> stream;
  while (true) {
    std::vector<Partition*> open;
    for (Partition& p : partitions) {
      if (p.next < p.queue.size()) open.push_back(&p);
    }
    if (open.empty()) break;
    Partition* p = open[uniform(0, static_cast<int>(open.size()) - 1)];
    for (int n = uniform(1, log.max_run); n > 0 && p->next < p->queue.size(); --n) {
      stream.emplace_back(p->queue[p->next++], p);
      if (uniform(0, 99) < duplicate_percent) {
        const auto again = stream[uniform(0, static_cast<int>(stream.size()) - 1)];
        stream.push_back(again);
        ++log.duplicates;
      }
    }
  }
  log.deliveries = stream.size();

  // Batches of 1..50 records; after some batches the watermarks of some
  // partitions reach the last event time delivered from them, never beyond.
  // Each watermark step fires its due timers in pieces of at most
  // log.max_timers, as the pipeline does, reading nothing in between; the
  // watermarks may move on between pieces, as the pipeline's do.
  constexpr size_t kMaxTimers[] = {1, 3, 50, SIZE_MAX};
  log.max_timers = kMaxTimers[uniform(0, 3)];
  matcher::MemoryStore store;
  matcher::Engine engine(dir, store);
  std::vector<ExceptionRecord> out;
  auto step_watermarks = [&] {
    for (Partition& p : partitions) {
      if (p.last_delivered && uniform(0, 3) != 0) {
        wm.Advance(p.source, p.index, *p.last_delivered);
      }
    }
  };
  auto advance = [&] {
    while (true) {
      ++log.advance_calls;
      if (engine.Advance(wm, out, log.max_timers)) break;
      if (uniform(0, 1) == 0) step_watermarks();
    }
    // Done means that nothing is due at these watermarks (the pipeline's
    // --until-idle stops on it).
    for (int s = 0; s <= static_cast<int>(matcher::Slot::kOrderFuzzyLink); ++s) {
      const auto slot = static_cast<matcher::Slot>(s);
      const std::vector<matcher::Timer> due = store.DueTimers(slot, wm.AsOf(matcher::DepsOf(slot)));
      if (!due.empty() && log.left_due.empty()) {
        log.left_due = "slot " + std::to_string(s) + " of " + due[0].tenant.value + "/" + due[0].id;
      }
    }
  };
  const int watermark_percent = uniform(10, 100);
  for (size_t i = 0; i < stream.size();) {
    const size_t size = std::min<size_t>(uniform(1, 50), stream.size() - i);
    for (size_t k = i; k < i + size; ++k) {
      const auto& [d, p] = stream[k];
      engine.Apply(d->doc, wm, out);
      p->last_delivered = std::max(p->last_delivered.value_or(d->time), d->time);
    }
    i += size;
    ++log.batches;
    if (uniform(0, 99) < watermark_percent) {
      step_watermarks();
      advance();
      ++log.watermark_steps;
    }
    figures.Add(engine.TakeFiguresChanges());  // taken between batches, as the pipeline would
  }
  wm.AdvanceAll(kNow);
  advance();
  figures.Add(engine.TakeFiguresChanges());
  SortRecords(out);
  return out;
}

// The id of what an exception is about, as PlantedProblem::subject_id names it.
const matcher::Text& SubjectOf(const ExceptionRecord& r) {
  switch (r.kind) {
    case matcher::ExceptionKind::kUnpaid:
    case matcher::ExceptionKind::kTermsMismatch:
    case matcher::ExceptionKind::kOrphanInvoice:
      return r.invoice.value;
    case matcher::ExceptionKind::kOrphanOrder:
      return r.order.value;
    case matcher::ExceptionKind::kNotBillable:
    case matcher::ExceptionKind::kMissingOrder:
    case matcher::ExceptionKind::kMissingInvoice:
    case matcher::ExceptionKind::kUnderBilled:
    case matcher::ExceptionKind::kOverBilled:
      return r.deal.value;
  }
  return r.deal.value;
}

int PermutationsPerCompany() {
  if (const char* env = std::getenv("CLOSELOOP_PROPERTY_PERMUTATIONS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return kPermutations;
}

// ---------------------------------------------------------------------------
// Tests.

class Property : public testing::TestWithParam<uint32_t> {};

TEST_P(Property, AnyHonestDeliveryGivesTheReferenceRecords) {
  const Company c = MakeCompany(GetParam());
  const matcher::TenantDirectory dir = app::SampleTenants(c.sample);
  FiguresFold reference_figures;
  const std::vector<ExceptionRecord> reference = ReferenceRun(c, dir, &reference_figures);
  ASSERT_FALSE(reference.empty()) << "seed " << c.seed << ": the sample raised nothing";
  ASSERT_TRUE(reference_figures.error.empty())
      << "seed " << c.seed << ": " << reference_figures.error;
  ASSERT_FALSE(reference_figures.last.empty()) << "seed " << c.seed << ": no figures reported";
  for (size_t i = 1; i < reference.size(); ++i) {
    ASSERT_FALSE(reference[i - 1].exception_id == reference[i].exception_id &&
                 reference[i - 1].sequence == reference[i].sequence)
        << "seed " << c.seed << ": (exception_id, sequence) must identify a record:\n  "
        << Describe(reference[i - 1]) << "\n  " << Describe(reference[i]);
  }
  const int permutations = PermutationsPerCompany();
  for (int perm = 0; perm < permutations; ++perm) {
    std::mt19937_64 rng(uint64_t{c.seed} * 1'000'003u + static_cast<uint64_t>(perm));
    RunLog log;
    FiguresFold figures;
    const std::vector<ExceptionRecord> got = PermutedRun(c, dir, rng, log, figures);
    ASSERT_TRUE(log.left_due.empty())
        << "seed " << c.seed << ", permutation " << perm << " (" << log.ToString()
        << "): Advance said done with a timer due: " << log.left_due;
    const std::string diff = FirstDifference(reference, got);
    ASSERT_TRUE(diff.empty()) << "seed " << c.seed << ", permutation " << perm << " ("
                              << log.ToString() << "; " << c.docs.size() << " documents):\n"
                              << diff;
    const std::string figures_diff = FiguresDifference(reference_figures, figures);
    ASSERT_TRUE(figures_diff.empty())
        << "seed " << c.seed << ", permutation " << perm << " (" << log.ToString() << "):\n"
        << figures_diff;
  }
}

TEST_P(Property, ReferenceRunRaisesExactlyThePlantedProblems) {
  const Company c = MakeCompany(GetParam());
  const std::vector<ExceptionRecord> records = ReferenceRun(c, app::SampleTenants(c.sample));
  ASSERT_FALSE(c.sample.planted.empty());

  // The last record of each exception (records are sorted by id, sequence).
  std::map<std::string, const ExceptionRecord*> last;
  for (const ExceptionRecord& r : records) last[r.exception_id] = &r;
  using Key = std::tuple<std::string, std::string, std::string>;  // tenant, kind, subject
  std::map<Key, const ExceptionRecord*> open;
  for (const auto& [id, r] : last) {
    if (r->state == matcher::ExceptionState::kResolved) continue;
    const std::string& subject = SubjectOf(*r);
    const auto [it, fresh] =
        open.emplace(Key{r->tenant.value, matcher::KindName(r->kind), subject}, r);
    EXPECT_TRUE(fresh) << "seed " << c.seed << ": two open exceptions on one subject:\n  "
                       << Describe(*it->second) << "\n  " << Describe(*r);
  }
  std::map<Key, int64_t> planted;
  for (const app::PlantedProblem& p : c.sample.planted) {
    planted[{p.tenant, matcher::KindName(p.kind), p.subject_id}] = p.amount_at_risk_minor;
  }
  for (const auto& [key, amount] : planted) {
    const auto& [tenant, kind, subject] = key;
    auto it = open.find(key);
    if (it == open.end()) {
      ADD_FAILURE() << "seed " << c.seed << ": planted " << kind << " on " << tenant << "/"
                    << subject << " (" << amount << ") is not open at the end";
      continue;
    }
    EXPECT_EQ(it->second->amount_at_risk_minor, amount)
        << "seed " << c.seed << ": planted " << kind << " on " << tenant << "/" << subject
        << ", open with another amount: " << Describe(*it->second);
  }
  for (const auto& [key, r] : open) {
    EXPECT_TRUE(planted.count(key))
        << "seed " << c.seed << ": open at the end but not planted: " << Describe(*r);
  }
}

INSTANTIATE_TEST_SUITE_P(SampleCompanies, Property, testing::Range<uint32_t>(1, 1 + kCompanies),
                         [](const testing::TestParamInfo<uint32_t>& info) {
                           return "Seed" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace closeloop
