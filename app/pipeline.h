// The service's run loop: input topics -> decode/validate (bad records to the
// DLQ) -> matcher -> exceptions topic, on event time with per-source
// watermarks. One thread. State is held by the matcher's Store.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "alerts/publisher.h"
#include "app/books.h"
#include "app/config.h"
#include "app/http_server.h"
#include "app/metrics.h"
#include "app/pipeline_stats.h"
#include "ingest/input.h"
#include "ingest/watermark_tracker.h"
#include "matcher/engine.h"
#include "matcher/memory_store.h"

namespace closeloop::app {

class Pipeline {
 public:
  // `config` must outlive the pipeline; so must `snapshots`, which, when
  // given, receives what the HTTP endpoints serve after batches.
  Pipeline(const Config& config, std::string bootstrap, SnapshotBox* snapshots = nullptr);
  ~Pipeline();

  // Creates the Kafka clients and missing topics, and subscribes.
  absl::Status Start();
  // Processes batches until `stop` is set (the batch in hand is finished and
  // flushed first), or with `until_idle`, until every input partition is at
  // its end and every source's watermark has reached the wall clock at start.
  absl::Status Run(const std::atomic<bool>& stop, bool until_idle);

  const PipelineStats& stats() const { return stats_; }
  const Books& books() const { return books_; }

 private:
  absl::Status RunBatch();
  // Publishes SOURCE_STALLED when a source goes silent and when it resumes.
  absl::Status ReportStalls(matcher::EventTime now);
  // Refreshes the metrics and publishes a snapshot to snapshots_, at most
  // every kSnapshotInterval unless `force`.
  void PublishSnapshot(matcher::EventTime now, bool force);

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
  std::unique_ptr<ingest::Input> input_;
  std::unique_ptr<alerts::Publisher> publisher_;
  PipelineStats stats_;
  // Per source: when it went silent, while it is stalled.
  std::array<std::optional<matcher::EventTime>, matcher::kSourceCount> stalled_since_{};

  // Operations (SPEC §7, §8): the books, the metrics and what HTTP serves.
  Books books_;
  // Books' records changed by the batch; the state store's commit takes them.
  std::vector<BooksChange> books_changes_;
  Metrics metrics_;
  SnapshotBox* snapshots_;
  std::chrono::steady_clock::time_point last_snapshot_{};
  std::chrono::steady_clock::time_point last_broker_check_{};
  bool broker_reachable_ = false;
};

}  // namespace closeloop::app
