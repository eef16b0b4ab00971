// The embedded Kafka: librdkafka's mock cluster, which speaks the real
// protocol on loopback ports. In memory only, about 5 MiB or 100k batches per
// partition, a new port every start. Beyond that limit the mock deletes a
// partition's oldest batches, and a single batch larger than 5 MiB deletes
// everything before it and itself (librdkafka 2.0.2): LogStartOffsets shows
// it, `closeloop dev-broker` logs it. This file is the only user of the
// experimental rdkafka_mock.h API. Not thread-safe; the cluster itself runs
// on librdkafka's threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace closeloop::app {

class EmbeddedKafka {
 public:
  // Starts a cluster of `brokers` brokers on loopback. Topics a producer
  // names are created on first use (with the mock's default partitions).
  static absl::StatusOr<std::unique_ptr<EmbeddedKafka>> Start(int brokers = 1);
  ~EmbeddedKafka();
  EmbeddedKafka(const EmbeddedKafka&) = delete;
  EmbeddedKafka& operator=(const EmbeddedKafka&) = delete;

  // "127.0.0.1:PORT[,...]".
  const std::string& bootstrap() const { return bootstrap_; }

  // Creates `topic` with `partitions` partitions unless it exists.
  absl::Status CreateTopic(const std::string& topic, int partitions);

  // The first offset still held of every partition of every topic (0 until
  // the mock deleted something, see above). Asks the cluster through a
  // client of its own; takes up to `timeout_ms` per request.
  struct LogStart {
    std::string topic;
    int partition = 0;
    int64_t offset = 0;  // first offset still held
    int64_t end = 0;     // next offset to be written
  };
  absl::StatusOr<std::vector<LogStart>> LogStartOffsets(int timeout_ms = 2000);

  // Fault injection for tests. Every broker: kAllBrokers.
  static constexpr int kAllBrokers = -1;
  // Takes a broker down (closes its connections, refuses new ones) or brings
  // it back (1-based id). Partition leadership does not move.
  void SetBrokerDown(int broker_id, bool down);
  // Delays every response of a broker by `rtt_ms` (0: none).
  void SetLatency(int broker_id, int rtt_ms);

  // Kafka protocol requests that injected errors can target.
  enum class Request {
    kProduce,
    kFetch,
    kListOffsets,
    kMetadata,
    kOffsetFetch,
    kFindCoordinator,
    kJoinGroup,
    kHeartbeat,
    kSyncGroup,
    kInitProducerId,
    kAddPartitionsToTxn,
    kEndTxn,
  };
  // Errors to inject: a dropped connection, a retriable broker error, or a
  // record the broker refuses for good.
  enum class Error {
    kDisconnect,               // the broker closes the connection
    kNotLeader,                // NOT_LEADER_FOR_PARTITION
    kRequestTimedOut,          // REQUEST_TIMED_OUT
    kCoordinatorNotAvailable,  // COORDINATOR_NOT_AVAILABLE
    kNotCoordinator,           // NOT_COORDINATOR
    kCoordinatorLoading,       // COORDINATOR_LOAD_IN_PROGRESS
    kMessageTooLarge,          // MESSAGE_TOO_LARGE (a Produce of a record over max.message.bytes)
    kRecordListTooLarge,       // RECORD_LIST_TOO_LARGE (a Produce's batch over the segment size)
    kInvalidRecord,            // INVALID_RECORD (a record the broker's validation refuses)
    // PRODUCER_FENCED: another producer registered the same transactional
    // id. The embedded Kafka does not fence on its own (a second
    // init_transactions leaves the first producer working), so tests
    // inject it.
    kProducerFenced,
  };
  // The next `count` requests of kind `request` (to any broker) fail with
  // `error`, one after another.
  void PushRequestErrors(Request request, int count, Error error);

 private:
  EmbeddedKafka() = default;
  rd_kafka_s* handle_ = nullptr;  // owns the cluster's threads
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  rd_kafka_s* reader_ = nullptr;  // LogStartOffsets' client, made on first use
  std::string bootstrap_;
};

}  // namespace closeloop::app
