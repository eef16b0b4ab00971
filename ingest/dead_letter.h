// Writes rejected input records to the dead-letter topic (SPEC §3): the
// original key, bytes and headers, plus headers saying where the record came
// from and why it was refused. Thread-compatible; the producer is borrowed.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <string>

#include "absl/status/status.h"
#include "ingest/input.h"

namespace closeloop::ingest {

// Header names on every dead letter.
inline constexpr char kHeaderTopic[] = "closeloop.source.topic";
inline constexpr char kHeaderPartition[] = "closeloop.source.partition";
inline constexpr char kHeaderOffset[] = "closeloop.source.offset";
inline constexpr char kHeaderReason[] = "closeloop.reason";  // ReasonName(), machine-readable
inline constexpr char kHeaderField[] = "closeloop.field";    // the contract field, if any
inline constexpr char kHeaderError[] = "closeloop.error";    // one sentence for a person

// Queues `letter` on `topic` (keyed like the original record). The caller
// flushes the producer. Fails only when the producer refuses the record.
absl::Status SendDeadLetter(RdKafka::Producer& producer, const std::string& topic,
                            const DeadLetter& letter);

}  // namespace closeloop::ingest
