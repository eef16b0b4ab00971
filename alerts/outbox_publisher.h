// Publishes the outbox (SPEC §9, ARCHITECTURE "alerts/"): each call is one
// Kafka transaction, retried until the broker takes it, so a read_committed
// consumer sees a batch's records all at once or not at all. Every record
// carries its outbox sequence in the `closeloop.outbox.seq` header; after a
// crash, AlreadyPublished reads the output partitions back from where the
// last confirmed publish ended and names the sequences the topics already
// hold, so what remains is published once. Not thread-safe.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "state/records.h"

namespace closeloop::alerts {

inline constexpr char kHeaderOutboxSeq[] = "closeloop.outbox.seq";
// Whose outbox the sequence is from: several outboxes (matcher tasks, the
// ingest stage) may publish to one topic, each numbering from 1.
inline constexpr char kHeaderOutboxId[] = "closeloop.outbox.id";

struct OutboxEntry {
  uint64_t seq = 0;
  state::OutboxRecord record;
};

// (topic, partition) -> the offset after the last record known published.
using PartitionOffsets = std::map<std::pair<std::string, int32_t>, int64_t>;

class OutboxPublisher : public RdKafka::DeliveryReportCb {
 public:
  // Makes the producer (transactional.id set) with `reports` as its delivery
  // report callback.
  using ProducerFactory = std::function<absl::StatusOr<std::unique_ptr<RdKafka::Producer>>(
      RdKafka::DeliveryReportCb* reports)>;
  // Makes a consumer for reading output partitions back (assign only, no
  // commits, isolation.level=read_committed).
  using ConsumerFactory = std::function<absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>>()>;

  struct Options {
    // Pause between attempts while the broker refuses a transaction. Default: 1 s
    std::chrono::milliseconds retry_backoff{1000};
    // Bound of one transactional call (init, commit, abort). Default: 30 s
    std::chrono::milliseconds call_timeout{30000};
    // Names this outbox in every record (header closeloop.outbox.id), so that
    // AlreadyPublished counts only its own records. Default: empty (records
    // with no id header count as this outbox's too, as older ones have none).
    std::string outbox_id;
  };

  static absl::StatusOr<std::unique_ptr<OutboxPublisher>> Create(ProducerFactory make_producer,
                                                                 ConsumerFactory make_consumer,
                                                                 Options options);

  // Registers the transactional id with the broker, fencing any earlier
  // instance and aborting its open transaction. Retries until `stop`.
  absl::Status Init(const std::atomic<bool>& stop);

  // Publishes `entries` as one transaction. Returns OK once committed;
  // Cancelled when an attempt failed and `stop` is set (nothing is known
  // published then); FailedPrecondition when the producer can never succeed
  // (fenced, fatal), or when a record is refused for good (larger than the
  // producer's message.max.bytes or the topic's max.message.bytes, or
  // invalid to the broker): retrying cannot help, so that one is not
  // retried. Its message (also logged as an error) names the record's
  // outbox sequence, key (the exception_id), size and topic; nothing of the
  // transaction is published, and the entries stay the caller's to keep.
  absl::Status Publish(const std::vector<OutboxEntry>& entries, const std::atomic<bool>& stop);

  // Per output partition, the offset after the last record of a committed
  // publish. Persist it with the outbox removal; it is where AlreadyPublished
  // starts reading after a restart.
  const PartitionOffsets& published_to() const { return published_to_; }

  // Where each partition of `topics` ends now. Noted (and persisted) before
  // an outbox first publishes to a topic, it is where AlreadyPublished can
  // start, instead of the topic's beginning.
  absl::StatusOr<PartitionOffsets> Ends(const std::set<std::string>& topics);

  // The sequences among `entries` that their topics already hold, reading
  // each partition of those topics from `from` (beginning when absent) to
  // its end. Gives up only when the read stops moving for four call
  // timeouts, however long the topics are.
  absl::StatusOr<std::set<uint64_t>> AlreadyPublished(const std::vector<OutboxEntry>& entries,
                                                      const PartitionOffsets& from);

  RdKafka::Producer& producer() { return *producer_; }

  // RdKafka::DeliveryReportCb
  void dr_cb(RdKafka::Message& message) override;

 private:
  OutboxPublisher(ConsumerFactory make_consumer, Options options);
  absl::Status Attempt(const std::vector<OutboxEntry>& entries, const std::atomic<bool>& stop);

  // A record the broker or producer refused for good, in the attempt in flight.
  struct Refused {
    uint64_t seq = 0;
    std::string topic, key;
    size_t bytes = 0;
    RdKafka::ErrorCode error = RdKafka::ERR_NO_ERROR;
  };
  absl::Status RefusedStatus(const Refused& r) const;

  ConsumerFactory make_consumer_;
  Options options_;
  std::unique_ptr<RdKafka::Producer> producer_;
  PartitionOffsets delivered_;  // in the transaction in flight
  PartitionOffsets published_to_;
  int delivery_failures_ = 0;
  std::optional<Refused> refused_;  // the first, in the attempt in flight
};

}  // namespace closeloop::alerts
