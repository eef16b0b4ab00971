// Checks Protobuf binary against the contract before it is parsed, so that a
// bad record gets a precise DLQ reason and field, and protobuf's parser never
// meets invalid UTF-8 (which it reports by logging). Pure; thread-safe.
#pragma once

#include <google/protobuf/descriptor.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "ingest/decode.h"

namespace closeloop::ingest {

// Reads one base-128 varint from the front of `in` and removes it. False when
// `in` ends first or the varint is longer than ten bytes.
bool ReadVarint(std::string_view& in, uint64_t* value);

// Walks the wire format of `bytes` as a `type` message and returns why it
// cannot be accepted: kMalformedProtobuf (truncated, bad varint or tag),
// kUnknownField (a field number `type` does not define, at any depth),
// kWrongType (a known field with another wire type, or an int32 or enum
// varint out of the 32-bit range), kDuplicateField (a singular field given
// twice) or kInvalidUtf8 (a string field, at any depth). nullopt when
// ParseFromArray will accept the bytes.
std::optional<Rejection> CheckProtobufWire(const google::protobuf::Descriptor& type,
                                           std::string_view bytes);

}  // namespace closeloop::ingest
