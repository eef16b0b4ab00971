// A fast path for the JSON records producers usually write. protobuf 3.21's
// JsonStringToMessage (a JSON -> google.protobuf.Type -> binary -> message
// transcoder) decodes about 77k Deal records/s on one core, below what one
// ingest thread must sustain; this path handles the plain shape at several
// times that and leaves every other record to protobuf's parser, which stays
// the authority on what JSON means and on every error. Pure; thread-safe.
#pragma once

#include <google/protobuf/message.h>

#include <string_view>

namespace closeloop::ingest {

// Parses `json` into `message` (REQUIRES: empty) when the record keeps to the
// plain shape: one object whose keys are field names (snake_case or
// camelCase) without repeats; strings for string fields, RFC 3339 strings for
// Timestamps, enum names or int32 numbers for enums, integers or canonical
// decimal strings for integer fields, objects and lists of objects for
// message fields. Returns true when it did, and then `message` equals what
// JsonStringToMessage makes of `json`. Returns false for anything else,
// valid or not, leaving `message` in an unspecified state for the caller to
// Clear() before handing `json` to JsonStringToMessage.
bool ParsePlainJson(std::string_view json, google::protobuf::Message& message);

}  // namespace closeloop::ingest
