// Reads the input topics: every record is either decoded into a validated
// Event or becomes a dead letter with its reason; partition ends and record
// arrivals feed the watermark tracker. Not thread-safe; owns no Kafka handle.
#pragma once

#include <google/protobuf/arena.h>
#include <google/protobuf/repeated_ptr_field.h>
#include <librdkafka/rdkafkacpp.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "ingest/adapter.h"
#include "ingest/decode.h"
#include "ingest/watermark_tracker.h"

namespace closeloop::ingest {

// What one input topic carries and how it is encoded.
struct TopicBinding {
  std::string name;
  DocType type;
  Format format = Format::kAuto;
  // The watermark source the topic feeds; none for the commands topic.
  std::optional<matcher::Source> source;
  // Source adapter for kDebezium / kSalesforceCdc topics (borrowed; must
  // outlive the Input); null for the canonical formats.
  Adapter* adapter = nullptr;
  // The internal events topic (pipeline.tasks > 1): serialized v1::Event
  // records written by the ingest stage, already validated, with their input
  // origin; `type`, `format` and `source` are unused. Only `partition` is
  // read when given.
  bool internal = false;
  std::optional<int32_t> partition;
};

// Largest canonical document (its v1::Event) accepted. The ingest stage of a
// split deployment writes each as one record of topics.events, which Kafka
// refuses over message.max.bytes (1 MB by default) for good: a larger one
// (within limits.max_record_bytes and max_billing_periods raised, e.g. a
// deal of 100,000 milestones) is a dead letter, oversized, in every role,
// so that a split deployment and one process see the same input. With the
// default limits no document comes near it.
inline constexpr size_t kMaxEventBytes = 512 * 1024;

// A record that goes to the dead-letter topic, with what is needed to write it.
struct DeadLetter {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;                                         // the original bytes
  std::vector<std::pair<std::string, std::string>> headers;  // the original headers
  Rejection rejection;
  // The size of the original value when `value` holds it no more (it was
  // left out on the way, being too large for a record); else nullopt.
  std::optional<size_t> value_bytes;
  // The size of the original key when `key` holds it no more; else nullopt.
  std::optional<size_t> key_bytes;
  // The original record's Kafka timestamp (milliseconds since the epoch, as
  // read: CreateTime or LogAppendTime); nullopt when it had none.
  std::optional<int64_t> timestamp_ms;
};

// A valid command, with its original record in case it cannot be applied.
struct CommandRecord {
  v1::Event event;
  DeadLetter original;  // rejection not yet filled in
};

// What Poll reads. Neither copied nor moved: its documents are on its arena.
struct Batch {
  // Holds the documents of `events`: they are built on it (no allocation
  // per field) and freed with it in one go.
  google::protobuf::Arena arena;
  // Valid documents, origin set, in arrival order; each owned by `arena`.
  google::protobuf::RepeatedPtrField<v1::Event> events{&arena};
  std::vector<CommandRecord> commands;
  // Watermark records read from the internal events topic, in order.
  std::vector<v1::Watermark> watermarks;
  std::vector<DeadLetter> dead_letters;
  int64_t records = 0;  // records read, valid or not
  // (topic, partition) -> the offset after the last record read in this batch.
  std::map<std::pair<std::string, int32_t>, int64_t> next_offsets;
};

// The next offset to read from a partition, as the state store holds it;
// nullopt when it holds none.
using OffsetLookup =
    std::function<std::optional<int64_t>(const std::string& topic, int32_t partition)>;

class Input {
 public:
  // `consumer` and `tracker` are borrowed and must outlive the Input.
  Input(RdKafka::KafkaConsumer& consumer, std::vector<TopicBinding> topics, Limits limits,
        WatermarkTracker& tracker);

  // Assigns this process every partition of every bound topic (no consumer
  // group rebalance: one instance per group, ARCHITECTURE "Scale and
  // failure"), each starting at the offset `stored` gives, else at the
  // beginning (`from_end` false) or the end. A restart therefore consumes
  // at once, from exactly where the last committed batch ended.
  absl::Status AssignAll(const OffsetLookup& stored, bool from_end);
  // Reads until `max_records` records or `max_wait` has passed, or, once it
  // has read something, until every input partition is at its end, appending
  // to `batch`. Returns an error only for failures that stop the service
  // (authentication, fatal client errors); transient ones are retried.
  absl::Status Poll(int max_records, matcher::Duration max_wait, Batch& batch);
  // Whether every assigned partition is at its end: those of the input
  // sources (WatermarkTracker::AllCaughtUp) and of the commands topic, or,
  // when reading the internal events topic, those of it.
  bool AllCaughtUp() const;

 private:
  const TopicBinding* Binding(const std::string& topic) const;
  void RefreshAssignment();

  RdKafka::KafkaConsumer& consumer_;
  std::vector<TopicBinding> topics_;
  Limits limits_;
  WatermarkTracker& tracker_;
  // Internal events partitions: whether each is at its end.
  std::map<int32_t, bool> internal_at_end_;
  // The same for the partitions of the commands topic (no source, so the
  // tracker does not know them): a batch or an --until-idle run that ended
  // with the sources at their end left commands unread, and the next run
  // read them after the watermarks had passed their time.
  std::map<std::pair<std::string, int32_t>, bool> others_at_end_;
  // The source partitions wait, paused, until every commands partition has
  // been read to its end once: a rebuild must meet the commands given
  // before the sources pass their time, or it could not keep them until then
  // (README "Commands"), and which the consumer fetched first decided.
  bool sources_paused_ = false;
  // Pauses (or resumes) every assigned partition of the input sources.
  void PauseSources(bool pause);
  // Decodes one internal events record into `batch`.
  void ReadInternal(RdKafka::Message& msg, std::string_view bytes, Batch& batch);
  // Says, in an error line, which records the broker's retention deleted
  // before they were read when `msg` is not the one expected next on its
  // partition; then expects the one after `msg`.
  void NoteLostRecords(const RdKafka::Message& msg);
  // (topic, partition) -> the offset of the record expected next: where the
  // partition was assigned (when explicit) or the one after the last read.
  // Offsets also skip for compaction and transaction markers, so only a
  // partition that now starts after this one has lost records.
  std::map<std::pair<std::string, int32_t>, int64_t> expected_;
};

// Wall-clock now as an EventTime.
matcher::EventTime WallNow();

}  // namespace closeloop::ingest
