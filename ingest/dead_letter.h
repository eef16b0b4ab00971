// Turns rejected input records into dead letters for the DLQ topic (SPEC §3):
// the original key, bytes and headers, plus headers saying where the record
// came from and why it was refused. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ingest/input.h"
#include "matcher/lifecycle.h"
#include "state/records.h"

namespace closeloop::ingest {

// Header names on every dead letter.
// Every header closeloop adds starts with this; an original header that does
// is kept as kOriginalHeaderPrefix + its name.
inline constexpr std::string_view kHeaderNamespace = "closeloop.";
inline constexpr std::string_view kOriginalHeaderPrefix = "original.";
inline constexpr char kHeaderTopic[] = "closeloop.source.topic";
inline constexpr char kHeaderPartition[] = "closeloop.source.partition";
inline constexpr char kHeaderOffset[] = "closeloop.source.offset";
// The original record's Kafka timestamp, milliseconds since the epoch; absent
// when it had none. The dead letter's own timestamp is when it was written.
inline constexpr char kHeaderTimestamp[] = "closeloop.source.timestamp";
inline constexpr char kHeaderReason[] = "closeloop.reason";  // ReasonName(), machine-readable
inline constexpr char kHeaderField[] = "closeloop.field";    // the contract field, if any
inline constexpr char kHeaderError[] = "closeloop.error";    // one sentence for a person
// Set when the original value was left out (see kMaxDeadLetterBytes): its
// size in bytes. The source headers still say where to read it.
inline constexpr char kHeaderValueBytes[] = "closeloop.value_bytes";
// Set when the original key was left out too (see kMaxDeadLetterBytes): its
// size in bytes.
inline constexpr char kHeaderKeyBytes[] = "closeloop.key_bytes";

// Largest dead letter (key, value and headers) written whole: below the
// default message.max.bytes of brokers (1 MB). A larger one, e.g. an
// oversized record, is written without its value (then without its original
// headers, then without its key), since a DLQ record the broker refuses
// would block the pipeline.
inline constexpr size_t kMaxDeadLetterBytes = 512 * 1024;

// The record to write on `topic` for `letter`, keyed like the original.
state::OutboxRecord DeadLetterRecord(const DeadLetter& letter, const std::string& topic);

// The record a dead letter was made from (DeadLetterRecord's inverse), to
// send it again: its source topic, key, value and original headers, each
// renamed one back under its own name; closeloop's headers go. nullopt when
// `letter` names no source topic or its value was left out. An original
// header that was itself named "original.closeloop.…" comes back renamed.
std::optional<state::OutboxRecord> OriginalOf(const state::OutboxRecord& letter);

// The original record's Kafka timestamp a dead letter names (kHeaderTimestamp),
// to send it again with that time: a document without `event_time` takes its
// Kafka timestamp, so sent with a new one it would be judged at another time.
// nullopt when the header is absent (a dead letter written before closeloop
// kept it, or a record that had no timestamp) or not a number of milliseconds.
std::optional<int64_t> SourceTimestampOf(const state::OutboxRecord& letter);

// Leaves out of `letter` its value, then its headers, then its key, while
// its key, value and headers are larger than kMaxDeadLetterBytes (recording
// the value's size in value_bytes, the key's in key_bytes). The ingest stage forwards a command's
// original this way: whole, a 1 MiB command would make an events record Kafka refuses for good, and
// its dead letter would leave the value out anyway.
void TrimOriginal(DeadLetter& letter);

// Why a command the matcher refused goes to the DLQ: its reason
// (unknown_exception, exception_not_open, replayed_command,
// too_many_commands), the field exception_id and the matcher's sentence.
Rejection RejectionOf(const matcher::CommandRejection& refused);

// The input record a command on closeloop.events was read from (its origin,
// and the key, bytes and headers the ingest stage put in; app/rekey.h),
// taken out of `event`; the rejection is left to fill in.
DeadLetter TakeOriginal(v1::Event& event);

// `event` carrying `original` (TakeOriginal's inverse): its origin, key,
// bytes and headers, and the value's size when the value was left out.
v1::Event WithOriginal(v1::Event event, const DeadLetter& original);

}  // namespace closeloop::ingest
