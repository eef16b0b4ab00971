// How far the consumer is behind, and whether the broker answers: the inputs
// of closeloop_consumer_lag_records and /readyz. Not thread-safe (call from
// the thread that polls the consumer); the clients are borrowed.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <cstdint>
#include <map>
#include <string>

#include "ingest/input.h"

namespace closeloop::app {

struct ConsumerLag {
  // High watermark minus position, summed per topic over the assigned
  // partitions whose offsets are known.
  std::map<std::string, int64_t> by_topic;
  int64_t total = 0;
  int assigned = 0;  // assigned partitions
  int unknown = 0;   // of which no position or high watermark is known yet
};

// From the consumer's cached offsets (no broker round trip): positions and
// the high and low watermarks of the last fetch responses. A partition nothing
// was consumed from yet counts from the offset `stored` gives (where a
// restart resumes), else from its end when `from_latest`
// (kafka.start_from: latest), else from its beginning.
ConsumerLag ReadConsumerLag(RdKafka::KafkaConsumer& consumer, const ingest::OffsetLookup& stored,
                            bool from_latest);

// Whether a broker answers a metadata request within `timeout_ms`.
bool BrokerReachable(RdKafka::Handle& client, int timeout_ms);

}  // namespace closeloop::app
