// Reads a whole topic from the beginning to its end, every partition: for the
// demo, `closeloop redrive` and tests; the service itself never reads its own
// outputs.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace closeloop::app {

struct TopicRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  // The value of the first header named `name`; "" when there is none.
  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
};

// Calls `each` with every record of `topic`, each partition from its
// beginning up to its end when the consumer reaches it (records written
// after that are not read). `consumer` must have enable.partition.eof set and
// nothing assigned; it is left assigned. An error when the topic's metadata
// or the end of a partition cannot be reached (30 s without a record), and
// NotFound when the topic does not exist.
absl::Status ForEachRecord(RdKafka::KafkaConsumer& consumer, const std::string& topic,
                           const std::function<void(TopicRecord)>& each);

// Every record of `topic` (ForEachRecord), with a consumer of its own.
absl::StatusOr<std::vector<TopicRecord>> ReadTopic(const std::string& bootstrap,
                                                   const std::string& topic);

}  // namespace closeloop::app
