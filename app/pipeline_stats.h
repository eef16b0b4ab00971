// What the pipeline has done so far: plain counters the metrics registry
// (app/metrics.h) exports. Values; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace closeloop::app {

struct PipelineStats {
  int64_t records = 0;
  int64_t events = 0;                           // valid documents
  int64_t commands = 0;                         // valid commands, applied or refused
  std::map<std::string, int64_t> dead_letters;  // by reason
  int64_t exception_records = 0;
  int64_t stalls = 0;            // SOURCE_STALLED records opened
  int64_t recovered_outbox = 0;  // outbox records published at start
  int64_t skipped_outbox = 0;    // ... and those the topics already held
  // Valid records by (topic, type), type deal|order|invoice|payment|command.
  std::map<std::pair<std::string, std::string>, int64_t> consumed;
  // Records that could not be decoded or broke the contract, by (topic, reason).
  std::map<std::pair<std::string, std::string>, int64_t> decode_failures;
  // Commands kept now until the watermarks reach them (app/parked_commands.h).
  int64_t parked_commands = 0;
};

}  // namespace closeloop::app
