// The service's run loop (ARCHITECTURE "Data flow"): input topics ->
// decode/validate (bad records to the DLQ) -> matcher -> outbox, on event
// time with per-source watermarks. One thread.
//
// Exactly-once (SPEC §9): each batch's state changes, its output records
// (exception records, team copies, dead letters, operational records) and the
// input offsets it consumed are committed to the RocksDB store as one atomic
// write; only then is the outbox published, as one Kafka transaction, and
// removed with the next commit. On start the consumer resumes from the stored
// offsets, and what is left in the outbox is published, skipping the records
// the output topics already hold.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "alerts/outbox_publisher.h"
#include "alerts/router.h"
#include "app/books.h"
#include "app/config.h"
#include "app/http_server.h"
#include "app/metrics.h"
#include "app/parked_commands.h"
#include "app/pipeline_stats.h"
#include "app/rekey.h"
#include "ingest/input.h"
#include "ingest/watermark_tracker.h"
#include "matcher/engine.h"
#include "state/store.h"

namespace closeloop::app {

class Pipeline {
 public:
  // `config` must outlive the pipeline; so must `snapshots`, which, when
  // given, receives what the HTTP endpoints serve after batches. `role` says
  // which part of the data flow it runs (app/rekey.h); CheckRole must accept
  // it, and each role needs its own state_dir and transactional id
  // (ConfigForRole).
  Pipeline(const Config& config, std::string bootstrap, SnapshotBox* snapshots = nullptr,
           Role role = {});
  ~Pipeline();

  // Opens the state store (refusing a corrupt or foreign one), creates the
  // Kafka clients and missing topics, fences earlier instances, publishes
  // what a previous run left in the outbox, and subscribes. Returns Cancelled
  // when `stop` was set while waiting for the broker.
  absl::Status Start(const std::atomic<bool>& stop);
  // Processes batches until `stop` is set (the batch in hand is finished,
  // committed and published first), or with `until_idle`, until every input
  // partition is at its end, every source's watermark has reached the wall
  // clock at start (unless time.follow_wall_clock is off) and the outbox is
  // published.
  absl::Status Run(const std::atomic<bool>& stop, bool until_idle);

  const PipelineStats& stats() const { return stats_; }
  const Books& books() const { return books_; }

 private:
  absl::Status RunBatch(const std::atomic<bool>& stop);
  // Role::kIngest: appends the events-topic records of the batch's events
  // and commands (taking the commands out of the batch), then the
  // watermark records they caused (pipeline_rekey.cc).
  void Rekey(ingest::Batch& batch, matcher::EventTime now, std::vector<state::OutboxRecord>& out);
  // Roles kIngest and kMatcher: creates the events topic when missing and
  // refuses one whose partitions are not pipeline.tasks.
  absl::Status CheckEventsTopic(const std::atomic<bool>& stop);
  // Refuses, before the store opens, a state_dir whose parent holds a store:
  // a split's role over a single process's store, or a single process whose
  // state_dir moved one level down (the shipped configs did).
  absl::Status CheckNoStoreAbove() const;
  // Refuses a store built under another split (pipeline.tasks, topics.events)
  // than the config's; records the split in a store that has none.
  absl::Status CheckLayout();
  // Applies the kept commands (ParkedCommands) and those of `commands` (the
  // batch's, read at `read_at`; taken out) whose time the watermarks have
  // reached, each at its time, then fires the timers the watermarks allow.
  // False when timers are left for the next batch (pipeline.batch_max_timers).
  bool Advance(std::vector<ingest::CommandRecord>& commands, matcher::EventTime read_at,
               std::vector<matcher::ExceptionRecord>& records,
               std::vector<ingest::DeadLetter>& dead_letters);
  // Notes the tenants whose rules changed since their subjects in the store
  // were evaluated (pipeline_rules.cc).
  absl::Status PlanResettle();
  // Evaluates up to pipeline.batch_max_timers subjects of those tenants
  // again under their rules as they are now (Engine::Resettle).
  void Resettle(std::vector<matcher::ExceptionRecord>& records);
  // Applies a valid command at `watermarks`. Refused, it is kept when read
  // now (`read_at`, the wall clock) and ParkedCommands takes it, else
  // dead-lettered.
  void ApplyCommand(ingest::CommandRecord& command, const matcher::WatermarkSet& watermarks,
                    std::optional<matcher::EventTime> read_at,
                    std::vector<matcher::ExceptionRecord>& records,
                    std::vector<ingest::DeadLetter>& dead_letters);
  // Whether an --until-idle run is done, once the input is read and no timer
  // is due: what the role must still wait for, and the outbox published.
  bool IdleRunDone();
  // SOURCE_STALLED when a source goes silent and when it resumes.
  void ReportStalls(matcher::EventTime now, std::vector<state::OutboxRecord>& out);
  // Publishes the committed outbox; what was published is removed with the
  // next commit.
  absl::Status PublishOutbox(const std::atomic<bool>& stop);
  // Adds to the pending batch the removal of what was published, and where
  // each output partition's published records end.
  absl::Status StagePublished();
  // At start: publishes what the last run left, minus what Kafka holds.
  absl::Status RecoverOutbox(const std::atomic<bool>& stop);
  // Before `entries` are first published to a topic, commits where each of
  // its partitions ends now, so that a restart reads back from there rather
  // than from the topic's beginning.
  absl::Status NoteEnds(const std::vector<alerts::OutboxEntry>& entries);
  // Refuses stored offsets beyond a partition's end (a recreated topic, or
  // a state directory from another cluster); notes in resume_at_ the
  // partitions whose stored offset the broker's retention has deleted. Only
  // of the topics `bindings` read: those of a topic no longer configured are
  // left alone.
  absl::Status CheckStoredOffsets(const std::vector<ingest::TopicBinding>& bindings);
  // The next offset the store holds for an input partition; nullopt when it
  // holds none or cannot be read (then `failed`, if given, says why).
  std::optional<int64_t> StoredOffset(const std::string& topic, int32_t partition,
                                      absl::Status* failed = nullptr);
  // Refreshes the metrics and publishes a snapshot to snapshots_, at most
  // every kSnapshotInterval (or ten times the last one's cost, if longer)
  // unless `force`.
  void PublishSnapshot(matcher::EventTime now, bool force);
  // Whether a partition without a stored offset starts at its end
  // (kafka.start_from latest): the input topics, never closeloop.events.
  bool StartsFromEnd() const;
  // For such a partition: its end, stored as its next offset with the next
  // commit, so that a later start reads what was written while the service
  // was down instead of starting at the end again. nullopt (start at the
  // end, as librdkafka finds it) when the broker does not say.
  std::optional<int64_t> EndToStore(const std::string& topic, int32_t partition);

  const Config& config_;
  std::string bootstrap_;
  Role role_;
  WatermarkSender watermark_sender_;
  matcher::TenantDirectory tenants_;
  std::unique_ptr<state::RocksStore> store_;
  state::RocksStore* store_ptr_ = nullptr;  // store_, for StoredRows
  std::unique_ptr<matcher::Engine> engine_;
  matcher::WatermarkSet watermarks_;
  matcher::EventTime started_at_;
  // Wall clock of the last batch that read a record (the start until then).
  matcher::EventTime last_input_at_;
  ingest::WatermarkTracker tracker_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<alerts::OutboxPublisher> publisher_;
  alerts::Router router_;
  // What source adapters remember of each row, in the state store (meta
  // records "rows/<key>"): written with the batch that read the row, so it
  // survives restarts exactly as the offsets do.
  class StoredRows final : public ingest::RecordCache {
   public:
    explicit StoredRows(state::RocksStore* const& store) : store_(store) {}
    std::optional<std::string> Get(std::string_view key) const override;
    void Put(std::string_view key, std::string value) override;

   private:
    state::RocksStore* const& store_;
  };
  std::unique_ptr<StoredRows> rows_;
  // Source adapters of debezium / salesforce-cdc topics; declared before
  // input_, which borrows them.
  std::vector<std::unique_ptr<ingest::Adapter>> adapters_;
  std::unique_ptr<ingest::Input> input_;
  // The highest outbox sequence published and not yet removed from the store.
  uint64_t published_upto_ = 0;
  // Output topics the store holds published_to records of (NoteEnds).
  std::set<std::string> noted_topics_;
  PipelineStats stats_;
  // The last batch stopped firing timers at pipeline.batch_max_timers: the
  // next one fires more before it reads input.
  bool timers_left_ = false;
  // Tenants whose subjects are yet to be evaluated under their changed
  // rules (PlanResettle): the batches before input is read work them off.
  struct TenantResettle {
    matcher::TenantId tenant;
    std::string rules;  // FormatRules, kept in the store once done
    matcher::Engine::ResettleCursor cursor;
    int64_t records = 0;  // exception records it caused
    bool begun = false;   // its record says it is being evaluated (pipeline_rules.cc)
  };
  std::deque<TenantResettle> resettles_;
  // Commands read before their exception was raised, until the watermarks
  // reach them.
  ParkedCommands parked_;
  // Per source: when it went silent, while it is stalled.
  std::array<std::optional<matcher::EventTime>, matcher::kSourceCount> stalled_since_{};
  // Input partitions to resume at their first retained offset instead of the
  // stored one (never at auto.offset.reset's choice, which may be the end).
  std::map<std::pair<std::string, int32_t>, int64_t> resume_at_;

  // Operations (SPEC §7, §8): the books, the metrics and what HTTP serves.
  Books books_;
  // The engine's figures changes of the batch, and the books' records they
  // and its exception records changed, which the state store's commit takes;
  // both kept between batches with their capacity.
  std::vector<matcher::FiguresChange> figures_changes_;
  std::vector<BooksChange> books_changes_;
  Metrics metrics_;
  SnapshotBox* snapshots_;
  std::chrono::steady_clock::time_point last_snapshot_{};
  std::chrono::steady_clock::duration snapshot_cost_{};  // of the last one
  std::chrono::steady_clock::time_point last_broker_check_{};
  bool broker_reachable_ = false;
};

}  // namespace closeloop::app
