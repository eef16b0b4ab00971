// Converts a decoded, validated input event into the matcher's plain value
// types, so that nothing past ingest/ sees protobuf. Pure; thread-safe.
#pragma once

#include "closeloop/v1/internal.pb.h"
#include "matcher/types.h"

namespace closeloop::ingest {

// Returns the document `event` carries. Times become EventTime at millisecond
// precision (finer digits are dropped, rounding towards the past); enum values
// *_UNSPECIFIED become the contract's defaults (ONE_TIME, OPEN, INVOICE,
// ISSUED, SUCCEEDED); an absent amount_minor is 0; an absent Deal close_time
// is the event_time, marked close_time_inferred (the matcher dates it by the
// stage: PutDeal); an absent Invoice due_time stays nullopt.
// REQUIRES: `event` was returned by Decode and its payload is a Deal, Order,
// Invoice or Payment (aborts otherwise: a Command or Watermark is no document).
matcher::Document ToDocument(const v1::Event& event);

// The command `command` carries. REQUIRES: returned by Decode (DocType::kCommand).
matcher::Command ToCommand(const v1::Command& command);

// The event time of the document or command `event` carries (Decode fills
// it in on everything it accepts); kMinTime for anything else.
matcher::EventTime EventTimeOf(const v1::Event& event);

// `time` as an EventTime, truncated to milliseconds (towards the past).
// REQUIRES: `time` is a valid RFC 3339 time, as Decode guarantees.
matcher::EventTime ToEventTime(const google::protobuf::Timestamp& time);

}  // namespace closeloop::ingest
