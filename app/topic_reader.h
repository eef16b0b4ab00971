// Reads a whole topic from the beginning to its current end, every partition.
// For the demo and tests; the service itself never reads its own outputs.
#pragma once

#include <string>
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
};

absl::StatusOr<std::vector<TopicRecord>> ReadTopic(const std::string& bootstrap,
                                                   const std::string& topic);

}  // namespace closeloop::app
