#include "ingest/decode.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>

#include "ingest/json_error.h"
#include "ingest/json_fast.h"
#include "ingest/utf8.h"
#include "ingest/validate.h"
#include "ingest/wire_check.h"

namespace closeloop::ingest {
namespace {

using google::protobuf::Message;

// Strict: a field the contract does not have is a rejection, not ignored.
// Built once, on first use.
const google::protobuf::util::JsonParseOptions& JsonOptions() {
  static const google::protobuf::util::JsonParseOptions options = [] {
    google::protobuf::util::JsonParseOptions strict;
    strict.ignore_unknown_fields = false;
    strict.case_insensitive_enum_parsing = false;
    return strict;
  }();
  return options;
}

Message& PayloadOf(DocType type, v1::Event& event) {
  switch (type) {
    case DocType::kDeal:
      return *event.mutable_deal();
    case DocType::kOrder:
      return *event.mutable_order();
    case DocType::kInvoice:
      return *event.mutable_invoice();
    case DocType::kPayment:
      return *event.mutable_payment();
    case DocType::kCommand:
      return *event.mutable_command();
  }
  return *event.mutable_deal();  // unreachable: every DocType is listed above
}

Rejection BadFraming(std::string message) {
  return Rejection{Reason::kBadFraming, "", std::move(message)};
}

// Reads one zigzag-encoded varint (Confluent's message indexes) from `in`.
bool ReadZigzag(std::string_view& in, int64_t* value) {
  uint64_t raw = 0;
  if (!ReadVarint(in, &raw)) return false;
  *value = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
  return true;
}

// Confluent wire format: magic byte 0, a 4-byte big-endian schema id (not
// looked up: the topic fixes the message type), then the message-index path
// as a zigzag varint count and that many zigzag varints, where a count of 0
// stands for the path [0]. Leaves the Protobuf payload in `bytes`.
std::optional<Rejection> StripConfluentHeader(std::string_view& bytes) {
  constexpr size_t kHeaderBytes = 5;
  if (bytes.size() < kHeaderBytes || bytes.front() != '\0') {
    return BadFraming(
        "the record does not start with the Confluent magic byte 0 and a 4-byte schema id");
  }
  bytes.remove_prefix(kHeaderBytes);
  int64_t count = 0;
  if (!ReadZigzag(bytes, &count) || count < 0 || static_cast<uint64_t>(count) > bytes.size()) {
    return BadFraming("the Confluent message-index count is missing or invalid");
  }
  for (int64_t i = 0; i < count; ++i) {
    int64_t index = 0;
    if (!ReadZigzag(bytes, &index) || index < 0) {
      return BadFraming("a Confluent message index is truncated or negative");
    }
  }
  return std::nullopt;
}

// Protobuf's parser says only "Root element must be a message" of valid
// JSON that is no object (an array, null, a number, a string, a boolean);
// this names it, and a byte order mark before an object. nullopt for an
// object or broken JSON (which gets the syntax error).
std::optional<Rejection> JsonNotAnObject(std::string_view bytes) {
  const size_t first = bytes.find_first_not_of(" \t\n\r");
  if (first == std::string_view::npos || bytes[first] == '{') return std::nullopt;
  const nlohmann::json value = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  if (value.is_object()) {
    // Only a leading byte order mark, which nlohmann skips and RFC 8259
    // forbids sending, comes before the '{' of an object.
    return Rejection{Reason::kMalformedJson, "",
                     "the record starts with a UTF-8 byte order mark (EF BB BF), which JSON sent "
                     "between systems must not have"};
  }
  return Rejection{Reason::kMalformedJson, "",
                   std::string("the record is a JSON ") + value.type_name() +
                       " where a JSON object was expected"};
}

std::optional<Rejection> ParseJson(std::string_view bytes, Message& payload) {
  if (!IsValidUtf8(bytes)) {
    return Rejection{Reason::kInvalidUtf8, "", "the JSON text is not valid UTF-8"};
  }
  if (ParsePlainJson(bytes, payload)) return std::nullopt;
  payload.Clear();
  if (std::optional<Rejection> other = JsonNotAnObject(bytes)) return other;
  // The fast path took no record with a repeated key.
  if (std::optional<Rejection> duplicate = DuplicateFieldIn(bytes)) return duplicate;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(bytes.data(), bytes.size()), &payload, JsonOptions());
  if (status.ok()) return std::nullopt;
  const auto message = status.message();
  return ClassifyJsonError(std::string_view(message.data(), message.size()));
}

std::optional<Rejection> ParseProtobuf(std::string_view bytes, Message& payload) {
  if (auto rejection = CheckProtobufWire(*payload.GetDescriptor(), bytes)) return rejection;
  if (payload.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  return Rejection{Reason::kMalformedProtobuf, "", "the Protobuf record is truncated or corrupt"};
}

std::optional<Rejection> Parse(Format format, std::string_view bytes, Message& payload) {
  switch (format) {
    case Format::kJson: {
      std::optional<Rejection> json = ParseJson(bytes, payload);
      if (!json ||
          (json->reason != Reason::kMalformedJson && json->reason != Reason::kInvalidUtf8)) {
        return json;
      }
      // Binary Protobuf on a topic declared json: say so, rather than what
      // is wrong with it as JSON.
      std::unique_ptr<Message> scratch(payload.New());
      if (ParseProtobuf(bytes, *scratch).has_value()) return json;
      payload.Clear();
      return Rejection{json->reason, "",
                       "the record is binary Protobuf, not JSON: is the topic's format protobuf "
                       "(or auto)?"};
    }
    // JSON or Confluent framing on a topic declared protobuf (JSON on one
    // declared confluent): say so, rather than what is wrong with it as
    // Protobuf.
    case Format::kProtobuf: {
      std::optional<Rejection> protobuf = ParseProtobuf(bytes, payload);
      if (!protobuf) return protobuf;
      if (nlohmann::json::accept(bytes)) {
        return Rejection{Reason::kMalformedProtobuf, "",
                         "the record is JSON, not Protobuf: is the topic's format json (or auto)?"};
      }
      std::string_view unframed = bytes;
      std::unique_ptr<Message> scratch(payload.New());
      if (bytes.front() == '\0' && !StripConfluentHeader(unframed) &&
          !ParseProtobuf(unframed, *scratch)) {
        return Rejection{Reason::kMalformedProtobuf, "",
                         "the record is Confluent-framed Protobuf, not plain Protobuf: is the "
                         "topic's format confluent (or auto)?"};
      }
      return protobuf;
    }
    case Format::kConfluent:
      if (bytes.front() != '\0' && nlohmann::json::accept(bytes)) {
        return BadFraming(
            "the record is JSON, not Confluent-framed Protobuf: is the topic's format json (or "
            "auto)?");
      }
      if (auto rejection = StripConfluentHeader(bytes)) return rejection;
      return ParseProtobuf(bytes, payload);
    case Format::kDebezium:
    case Format::kSalesforceCdc:
      return Rejection{Reason::kInvalidValue, "",
                       "a source adapter format is decoded by its Adapter (ingest/adapter.h)"};
    case Format::kAuto:
      break;
  }
  // kAuto. A record whose first non-whitespace byte is '{' or '[' is JSON:
  // no Protobuf record closeloop accepts starts with those bytes (they are
  // the tags of fields 15 and 11 with the group wire type, which
  // CheckProtobufWire refuses), so a JSON array gets a JSON reason, not
  // malformed_protobuf. Binary Protobuf usually starts with 0x0A (field 1, a
  // string), which is also JSON whitespace: when whitespace precedes the '{'
  // or '[' (a string of length 123 or 91), JSON is a guess, and a record that
  // is no JSON gets a second chance as Protobuf.
  if (bytes.front() == '\0') return Parse(Format::kConfluent, bytes, payload);
  const size_t first = bytes.find_first_not_of(" \t\n\r");
  if (first == std::string_view::npos || (bytes[first] != '{' && bytes[first] != '[')) {
    std::optional<Rejection> protobuf = ParseProtobuf(bytes, payload);
    if (!protobuf) return protobuf;
    // JSON, but no object (null, a number, a string): a JSON reason.
    if (std::optional<Rejection> json = JsonNotAnObject(bytes)) return json;
    return protobuf;
  }
  if (first == 0) return ParseJson(bytes, payload);
  auto json = ParseJson(bytes, payload);
  if (!json || (json->reason != Reason::kMalformedJson && json->reason != Reason::kInvalidUtf8)) {
    return json;
  }
  payload.Clear();
  if (!ParseProtobuf(bytes, payload).has_value()) return std::nullopt;
  payload.Clear();
  return json;
}

}  // namespace

const char* ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kEmpty:
      return "empty";
    case Reason::kOversized:
      return "oversized";
    case Reason::kInvalidUtf8:
      return "invalid_utf8";
    case Reason::kMalformedJson:
      return "malformed_json";
    case Reason::kWrongType:
      return "wrong_type";
    case Reason::kUnknownField:
      return "unknown_field";
    case Reason::kDuplicateField:
      return "duplicate_field";
    case Reason::kUnknownEnum:
      return "unknown_enum";
    case Reason::kUnparseableTime:
      return "unparseable_time";
    case Reason::kMalformedProtobuf:
      return "malformed_protobuf";
    case Reason::kBadFraming:
      return "bad_framing";
    case Reason::kMissingField:
      return "missing_field";
    case Reason::kNegativeAmount:
      return "negative_amount";
    case Reason::kBadCurrency:
      return "bad_currency";
    case Reason::kInvalidValue:
      return "invalid_value";
    case Reason::kUnknownException:
      return "unknown_exception";
    case Reason::kExceptionNotOpen:
      return "exception_not_open";
    case Reason::kReplayedCommand:
      return "replayed_command";
    case Reason::kTooManyCommands:
      return "too_many_commands";
    case Reason::kBadEnvelope:
      return "bad_envelope";
    case Reason::kUnmappable:
      return "unmappable";
    case Reason::kNoPreviousRecord:
      return "no_previous_record";
    case Reason::kCdcGap:
      return "cdc_gap";
    case Reason::kCdcGapOverflow:
      return "cdc_gap_overflow";
  }
  return "unknown";
}

std::vector<std::string> ReasonNames() {
  std::vector<std::string> names;
  // ReasonName names each value and "unknown" past the last.
  for (int r = 0;; ++r) {
    std::string name = ReasonName(static_cast<Reason>(r));
    if (name == "unknown") return names;
    names.push_back(std::move(name));
  }
}

std::optional<Rejection> DecodeInto(DocType type, Format format, std::string_view bytes,
                                    std::optional<int64_t> kafka_timestamp_ms, const Limits& limits,
                                    v1::Event& event) {
  if (bytes.empty()) {
    return Rejection{Reason::kEmpty, "", "the record is empty (a tombstone or an empty value)"};
  }
  // Protobuf parses at most INT_MAX bytes, whatever the configured limit.
  if (bytes.size() > limits.max_record_bytes || bytes.size() > INT_MAX) {
    return Rejection{Reason::kOversized, "",
                     fmt::format("the record is {} bytes, more than the limit of {}", bytes.size(),
                                 std::min<size_t>(limits.max_record_bytes, INT_MAX))};
  }
  auto rejection = Parse(format, bytes, PayloadOf(type, event));
  // Exception records repeat a document's texts, and Kafka refuses a record
  // over message.max.bytes for good, which would stop the service on a
  // record it accepted. A text is never longer than the record that
  // carries it (JSON escapes and protobuf framing only add), so only records
  // longer than the limit are walked.
  if (!rejection && bytes.size() > limits.max_text_bytes) {
    rejection = CheckTextSizes(PayloadOf(type, event), limits);
  }
  if (!rejection) rejection = ValidateAndFill(type, event, kafka_timestamp_ms, limits);
  return rejection;
}

std::variant<v1::Event, Rejection> Decode(DocType type, Format format, std::string_view bytes,
                                          std::optional<int64_t> kafka_timestamp_ms,
                                          const Limits& limits) {
  // Parsed in place into the result, so the Event is never copied.
  std::variant<v1::Event, Rejection> result(std::in_place_index<0>);
  if (std::optional<Rejection> rejection =
          DecodeInto(type, format, bytes, kafka_timestamp_ms, limits, std::get<0>(result))) {
    result.emplace<1>(std::move(*rejection));
  }
  return result;
}

}  // namespace closeloop::ingest
