// How the property test (property_test.cc) runs a generated company through
// the matcher: the reference run in global event-time order, and honest
// deliveries chosen at random. For tests only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "matcher/engine.h"
#include "matcher/tenant.h"
#include "tests/property_compare.h"
#include "tests/property_documents.h"

namespace closeloop::property {

// Commands' refusals, as "command id: why", in order.
using Rejections = std::vector<std::string>;

// Every document in global event-time order, one at a time; after each, every
// source's watermark reaches just before the next document's event time
// (nothing earlier remains anywhere), but not past the company's barrier
// before its commands are applied there. With `to_barrier`, stops after the
// barrier's Advance (commands not applied).
std::vector<matcher::ExceptionRecord> ReferenceRun(
    const Company& c, const matcher::TenantDirectory& dir, FiguresFold* figures = nullptr,
    Rejections* rejections = nullptr, bool to_barrier = false, matcher::EngineOptions options = {});

// The company of `seed` with its extra documents and people's commands at its
// barrier, on what the reference run has open there.
Company MakeFullCompany(uint32_t seed);

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
  int lookahead_percent = 0;
  size_t command_batches = 0;
  // The first timer found due after Advance said it was done, if any.
  std::string left_due;

  std::string ToString() const;
};

// What a run gave: its records, the books figures and the refusals (sorted).
struct Outcome {
  std::vector<matcher::ExceptionRecord> records;
  FiguresFold figures;
  Rejections rejections;
};

// The reference run's outcome.
Outcome Reference(const Company& c, const matcher::TenantDirectory& dir,
                  matcher::EngineOptions options = {});

// Permutation `perm` of the company's honest deliveries; `log` says how it went.
Outcome Permuted(const Company& c, const matcher::TenantDirectory& dir, int perm, RunLog& log,
                 matcher::EngineOptions options = {});

// Where `got` first differs from `want`; empty when it does not.
std::string Difference(const Outcome& want, const Outcome& got);

// A delivery with late documents, chosen by `perm`: the company's documents
// in event-time order, its commands left out, a few percent of them held
// back for up to 300 deliveries (a lagging feed, a corrected record sent
// again later); after each batch every watermark reaches just before the
// next document on time, past the late ones. With `extra_steps`, each such
// step is taken in several, each with its Advance, at the same deliveries:
// the same input, reached in smaller steps. `late` counts the late ones.
Outcome LateDeliveries(const Company& c, const matcher::TenantDirectory& dir, int perm,
                       bool extra_steps, size_t& late);

}  // namespace closeloop::property
