#include "ingest/record_cache.h"

namespace closeloop::ingest {

std::optional<std::string> MemoryRecordCache::Get(std::string_view key) const {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void MemoryRecordCache::Put(std::string_view key, std::string value) {
  entries_[std::string(key)] = std::move(value);
}

}  // namespace closeloop::ingest
