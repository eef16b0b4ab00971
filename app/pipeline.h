// The service's run loop: input topics -> decode/validate (bad records to the
// DLQ) -> matcher -> exceptions topic, on event time with per-source
// watermarks. One thread. State is held by the matcher's Store.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "alerts/publisher.h"
#include "app/config.h"
#include "ingest/input.h"
#include "ingest/watermark_tracker.h"
#include "matcher/engine.h"
#include "matcher/memory_store.h"

namespace closeloop::app {

// What the pipeline has done so far.
struct PipelineStats {
  int64_t records = 0;
  int64_t events = 0;                           // valid documents
  int64_t commands = 0;                         // valid commands, applied or refused
  std::map<std::string, int64_t> dead_letters;  // by reason
  int64_t exception_records = 0;
  int64_t stalls = 0;  // SOURCE_STALLED records opened
};

class Pipeline {
 public:
  // `config` must outlive the pipeline.
  Pipeline(const Config& config, std::string bootstrap);
  ~Pipeline();

  // Creates the Kafka clients and missing topics, and subscribes.
  absl::Status Start();
  // Processes batches until `stop` is set (the batch in hand is finished and
  // flushed first), or with `until_idle`, until every input partition is at
  // its end and every source's watermark has reached the wall clock at start.
  absl::Status Run(const std::atomic<bool>& stop, bool until_idle);

  const PipelineStats& stats() const { return stats_; }

 private:
  absl::Status RunBatch();
  // Publishes SOURCE_STALLED when a source goes silent and when it resumes.
  absl::Status ReportStalls(matcher::EventTime now);

  const Config& config_;
  std::string bootstrap_;
  matcher::TenantDirectory tenants_;
  matcher::MemoryStore store_;
  matcher::Engine engine_;
  matcher::WatermarkSet watermarks_;
  matcher::EventTime started_at_;
  ingest::WatermarkTracker tracker_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::Producer> producer_;
  // Source adapters of debezium / salesforce-cdc topics and what they remember
  // (in memory until the store backs it); declared before input_, which borrows them.
  ingest::MemoryRecordCache record_cache_;
  std::vector<std::unique_ptr<ingest::Adapter>> adapters_;
  std::unique_ptr<ingest::Input> input_;
  std::unique_ptr<alerts::Publisher> publisher_;
  PipelineStats stats_;
  // Per source: when it went silent, while it is stalled.
  std::array<std::optional<matcher::EventTime>, matcher::kSourceCount> stalled_since_{};
};

}  // namespace closeloop::app
