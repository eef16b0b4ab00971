// Creates the service's Kafka clients from the config: every property in
// kafka.properties is passed through to librdkafka unchanged, after the
// service's own settings, so an operator can override anything. librdkafka's
// own log lines and client errors go to the service's log (spdlog).
// Thread-compatible.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/config.h"

namespace closeloop::app {

// Makes one client of each kind the service uses (consumer, producer,
// transactional producer) from `config`, connected to nothing, and destroys
// it: librdkafka refuses some values of kafka.properties only when a client
// is made (an unsupported sasl.mechanisms, SASL without its credentials, a
// value at odds with closeloop's own settings). Errors: InvalidArgument with
// librdkafka's reason, secret values redacted; also when a secret is
// check-config's placeholder (kRedacted).
absl::Status CheckClientProperties(const Config& config);

// The service's input consumer (group.id kafka.group_id; partitions are
// assigned, not subscribed, and no offsets are committed: the state store
// holds them).
absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> MakeConsumer(const Config& config,
                                                                     const std::string& bootstrap);
// An idempotent producer; `reports`, if given, gets each record's delivery
// report (from poll and flush).
absl::StatusOr<std::unique_ptr<RdKafka::Producer>> MakeProducer(
    const Config& config, const std::string& bootstrap,
    RdKafka::DeliveryReportCb* reports = nullptr);
// The transactional producer of the outbox (config.TransactionalId()).
absl::StatusOr<std::unique_ptr<RdKafka::Producer>> MakeTransactionalProducer(
    const Config& config, const std::string& bootstrap, RdKafka::DeliveryReportCb* reports);
// A consumer for reading output topics back with assign() (read_committed,
// no commits).
absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> MakeReadbackConsumer(
    const Config& config, const std::string& bootstrap);

// Makes sure `topics` exist: asks the cluster to create the missing ones with
// `partitions` partitions (CreateTopics), and where the cluster does not
// support that (the embedded Kafka), relies on its auto-creation by asking
// for the topics' metadata. Waits, retrying every second, until the cluster
// answers at all (a broker down at start), or returns CancelledError once
// `stop` is set. Returns an error naming a topic that is missing.
absl::Status EnsureTopics(RdKafka::Producer& producer, const std::vector<std::string>& topics,
                          int partitions, const std::atomic<bool>& stop);

}  // namespace closeloop::app
