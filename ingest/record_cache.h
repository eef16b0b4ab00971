// What a source adapter remembers between records (SPEC §3 "Source
// adapters"): the last full record of each source row, so that a Salesforce
// partial update can be merged onto it and a Debezium delete or tombstone,
// which may carry only the key, can withdraw the document the row produced.
// Keys and values are opaque strings the adapters choose. The service keeps
// them in its state store (app/pipeline.h, meta records "rows/<key>"), one
// per source row for good, deleted rows included; MemoryRecordCache serves
// tests and tools. Implementations need not be thread-safe: one cache serves
// the adapters of one Input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace closeloop::ingest {

class RecordCache {
 public:
  virtual ~RecordCache() = default;
  // The value stored under `key`, if any.
  virtual std::optional<std::string> Get(std::string_view key) const = 0;
  // Stores `value` under `key`, replacing what was there.
  virtual void Put(std::string_view key, std::string value) = 0;
};

// Everything in memory, lost on restart (then the first partial update or
// delete of each row finds nothing and goes to the DLQ as no_previous_record).
// Unbounded: one entry per source row seen.
class MemoryRecordCache : public RecordCache {
 public:
  std::optional<std::string> Get(std::string_view key) const override;
  void Put(std::string_view key, std::string value) override;
  size_t size() const { return entries_.size(); }

 private:
  std::unordered_map<std::string, std::string> entries_;
};

}  // namespace closeloop::ingest
