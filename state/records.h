// Plain records the state store keeps besides the matcher's states: outbox
// entries and input offsets. Values; no thread-safety concerns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace closeloop::state {

// What counts toward Kafka's size limits of a record.
inline size_t KafkaBytes(const std::string& key, const std::string& value,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  size_t n = key.size() + value.size();
  for (const auto& [name, v] : headers) n += name.size() + v.size();
  return n;
}

// One Kafka record waiting in the outbox to be published.
struct OutboxRecord {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value; in order
  // The partition to write to; by default the producer's partitioner picks
  // one from the key. Set for the internal events topic, whose watermark
  // records go to every partition.
  std::optional<int32_t> partition;
  size_t bytes() const { return KafkaBytes(key, value, headers); }
  bool operator==(const OutboxRecord&) const = default;
};

// The next offset to read from one partition of one input topic.
struct InputOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
  bool operator==(const InputOffset&) const = default;
};

}  // namespace closeloop::state
