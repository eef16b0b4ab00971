// Encodes exception lifecycle records for the exceptions topic (SPEC §5):
// proto3 JSON with the contract's snake_case names and every field present,
// or Protobuf binary. Pure functions; thread-safe.
#pragma once

#include <string>

#include "closeloop/v1/exception.pb.h"
#include "matcher/types.h"

namespace closeloop::alerts {

enum class Encoding { kJson, kProtobuf };

// `detected_at` is the wall-clock time of publishing.
v1::ExceptionRecord ToProto(const matcher::ExceptionRecord& record, matcher::EventTime detected_at);
std::string Encode(const v1::ExceptionRecord& record, Encoding encoding);

}  // namespace closeloop::alerts
