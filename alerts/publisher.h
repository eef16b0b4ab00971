// Publishes exception lifecycle records to the exceptions topic, keyed by
// exception_id, and copies each to its route's team topic when it has one.
// Not thread-safe; the producer is borrowed.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "alerts/encode.h"
#include "matcher/types.h"

namespace closeloop::alerts {

class Publisher {
 public:
  // `producer` must outlive the publisher.
  Publisher(RdKafka::Producer& producer, std::string topic, Encoding encoding);

  // Queues every record, stamped with `detected_at`; the caller flushes.
  // Fails when the producer refuses a record (queue full after retrying).
  absl::Status Publish(const std::vector<matcher::ExceptionRecord>& records,
                       matcher::EventTime detected_at);
  // Queues one record built elsewhere (operational records).
  absl::Status Publish(const v1::ExceptionRecord& record);

 private:
  absl::Status Send(const std::string& topic, const std::string& key, const std::string& value);

  RdKafka::Producer& producer_;
  std::string topic_;
  Encoding encoding_;
};

}  // namespace closeloop::alerts
