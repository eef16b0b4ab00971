// Encodes exception lifecycle records for the exceptions topic (SPEC §5):
// proto3 JSON with the contract's snake_case names and every field present,
// or Protobuf binary. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "closeloop/v1/exception.pb.h"
#include "matcher/types.h"

namespace closeloop::alerts {

enum class Encoding { kJson, kProtobuf };

// `detected_at` is the wall-clock time of publishing. Times outside
// Timestamp's range (years 1 to 9999) become its ends.
v1::ExceptionRecord ToProto(const matcher::ExceptionRecord& record, matcher::EventTime detected_at);
std::string Encode(const v1::ExceptionRecord& record, Encoding encoding);
// Encode(ToProto(record, detected_at), kJson), byte for byte, without the
// message: written directly when every string is printable ASCII that JSON
// and protobuf's printer leave as it is, which is nearly always; through
// protobuf's printer otherwise.
// The printer was a tenth of the Pipeline's time (bench/README.md).
std::string EncodeJson(const matcher::ExceptionRecord& record, matcher::EventTime detected_at);
// EncodeJson's direct writer alone: nullopt for a record it leaves to the
// printer.
std::optional<std::string> DirectJson(const matcher::ExceptionRecord& record,
                                      matcher::EventTime detected_at);

}  // namespace closeloop::alerts
