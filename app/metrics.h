// The Prometheus registry (SPEC §8): every closeloop_* metric, copied from the
// modules' plain counters (PipelineStats, Books) and the pipeline's per-batch
// measurements; no module calls metrics itself. Names and labels are a
// contract with the dashboards and alert rules in deploy/ (README
// "Operations" lists them). Not thread-safe: the pipeline thread updates it
// and renders Text() into the snapshot the HTTP thread serves.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/books.h"
#include "app/pipeline_stats.h"
#include "matcher/types.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace closeloop::app {

// What the pipeline measured, for the gauges that are not books.
struct PipelineProbe {
  matcher::EventTime now;  // wall clock
  // Per source (crm, erp, billing, payments): its watermark (kMinTime while
  // unknown: no lag is reported then) and whether it is stalled.
  std::array<matcher::EventTime, matcher::kSourceCount> watermarks{};
  std::array<bool, matcher::kSourceCount> stalled{};
  // High watermark minus position, summed over the assigned partitions of
  // each topic whose offsets are known.
  std::map<std::string, int64_t> consumer_lag;
  // Size of the state store on disk; nullopt (no series) for the in-memory store.
  std::optional<int64_t> state_store_bytes;
  bool ready = false;
};

class Metrics {
 public:
  struct Options {
    // Tenants with their own `tenant` label value; any other is "other".
    std::set<std::string> tenants;
    // Realization is over deals closed this long before now. Default: 90d
    matcher::Duration trailing_period = 90 * matcher::kDay;
    // Dead-letter reasons (ingest::ReasonName) whose counter series exist
    // from the start, at 0, so that increase() sees a reason's first dead
    // letters. Default: none
    std::vector<std::string> dlq_reasons;
  };
  explicit Metrics(Options options);
  ~Metrics();

  // Per batch: the exception records it published, the event-time latencies
  // its figure changes revealed and its processing wall time.
  void OnBatch(const std::vector<matcher::ExceptionRecord>& published, const Latencies& latencies,
               double processing_seconds);
  // Brings every counter and gauge up to date with the cumulative stats, the
  // books (ages counted to probe.now) and the probe.
  void Refresh(const PipelineStats& stats, const Books& books, const PipelineProbe& probe);
  // The Prometheus text exposition format of everything.
  std::string Text() const;

  // The `tenant` label of a tenant.
  std::string TenantLabel(const std::string& tenant) const;

 private:
  using Labels = std::map<std::string, std::string>;
  // A counter family kept equal to cumulative totals computed elsewhere.
  struct SyncedCounter {
    prometheus::Family<prometheus::Counter>* family;
    std::map<Labels, double> exported;
    void Set(const Labels& labels, double total);
  };
  // A gauge family whose series are exactly the last values given.
  struct SyncedGauge {
    prometheus::Family<prometheus::Gauge>* family;
    std::map<Labels, prometheus::Gauge*> series;
    void Replace(const std::map<Labels, double>& values);
  };

  Options options_;
  std::unique_ptr<prometheus::Registry> registry_;
  // Every family, for HELP and TYPE lines even while it has no series:
  // prometheus-cpp leaves empty families out, and a family that exists
  // tells dashboards and checks "no data yet" rather than "no such metric".
  struct Declared {
    std::string name, help, type;
  };
  std::vector<Declared> declared_;
  SyncedCounter consumed_, dlq_, decode_failures_, opened_, resolved_, recovered_;
  prometheus::Family<prometheus::Counter>* published_;
  SyncedGauge open_, at_risk_, by_age_, booked_, billed_, collected_, realization_, period_booked_,
      period_collected_, stream_lag_, stalled_, consumer_lag_, store_bytes_, ready_, parked_;
  prometheus::Histogram* close_to_invoice_;
  prometheus::Histogram* invoice_to_payment_;
  prometheus::Histogram* processing_;
};

// Minor units as major units for gauges: 1200000 USD -> 12000.0.
double MajorAmount(int64_t minor, const std::string& currency);

}  // namespace closeloop::app
