#include "ingest/wire_check.h"

#include <fmt/format.h>
#include <google/protobuf/wire_format_lite.h>

#include <array>
#include <cstdint>
#include <string>

#include "ingest/utf8.h"

namespace closeloop::ingest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;

// The contract nests four deep (Deal > BillingPlan > Milestone > Timestamp);
// anything deeper than this is not ours.
constexpr int kMaxDepth = 16;
// Fields are counted, and repeated ones get an index in paths, when their
// field index is below this.
constexpr int kIndexedFields = 32;

// Varint, fixed64, length-delimited and fixed32: groups (3 and 4) are proto2
// only, 6 and 7 do not exist.
bool IsProto3WireType(uint64_t wire_type) {
  return wire_type == 0 || wire_type == 1 || wire_type == 2 || wire_type == 5;
}

// Whether a varint fits `field`. Protobuf's parser keeps the low 32 bits of
// one that does not fit an int32 or enum (2^32 + 30 would read as 30), where
// JSON refuses the number. Negative values come sign-extended to 64 bits.
bool FitsItsField(const FieldDescriptor& field, uint64_t value) {
  if (field.cpp_type() != FieldDescriptor::CPPTYPE_INT32 &&
      field.cpp_type() != FieldDescriptor::CPPTYPE_ENUM) {
    return true;
  }
  const auto signed_value = static_cast<int64_t>(value);
  return signed_value >= INT32_MIN && signed_value <= INT32_MAX;
}

// Removes the first `n` bytes of `in` into `out`; false when `in` is shorter.
bool Take(std::string_view& in, uint64_t n, std::string_view* out) {
  if (n > in.size()) return false;
  *out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

// Where the scan is, as a chain up to the root; turned into text on error only.
struct Frame {
  const Frame* parent;
  const FieldDescriptor* field;
  int index;  // position among repeated values, or -1
};

void AppendPath(const Frame* frame, std::string* out) {
  if (frame == nullptr) return;
  AppendPath(frame->parent, out);
  if (!out->empty()) out->push_back('.');
  out->append(frame->field->name());
  if (frame->index >= 0) fmt::format_to(std::back_inserter(*out), "[{}]", frame->index);
}

std::string PathOf(const Frame* frame) {
  std::string path;
  AppendPath(frame, &path);
  return path;
}

Rejection Malformed(const Frame* at) {
  std::string field = PathOf(at);
  std::string message =
      field.empty() ? "the Protobuf record is truncated or corrupt"
                    : fmt::format("the Protobuf record is truncated or corrupt in field {}", field);
  return {Reason::kMalformedProtobuf, std::move(field), std::move(message)};
}

// Checks the message in `in`, which lies at `at` (nullptr: the root).
std::optional<Rejection> Scan(const Descriptor& type, std::string_view in, const Frame* at,
                              int depth) {
  if (depth > kMaxDepth) return Malformed(at);
  std::array<int, kIndexedFields> seen{};
  while (!in.empty()) {
    uint64_t tag = 0;
    if (!ReadVarint(in, &tag) || tag > UINT32_MAX || (tag >> 3) == 0 ||
        !IsProto3WireType(tag & 7)) {
      return Malformed(at);
    }
    const int number = static_cast<int>(tag >> 3);
    const auto wire = static_cast<WireFormatLite::WireType>(tag & 7);
    const FieldDescriptor* field = type.FindFieldByNumber(number);
    if (field == nullptr) {
      std::string parent = PathOf(at);
      std::string name =
          parent.empty() ? fmt::format("#{}", number) : fmt::format("{}.#{}", parent, number);
      std::string message =
          parent.empty()
              ? fmt::format("the record has field number {}, which the contract does not define",
                            number)
              : fmt::format("{} has field number {}, which the contract does not define", parent,
                            number);
      return Rejection{Reason::kUnknownField, std::move(name), std::move(message)};
    }
    const int count = field->index() < kIndexedFields ? seen[field->index()]++ : 0;
    const Frame here{at, field,
                     field->is_repeated() && field->index() < kIndexedFields ? count : -1};

    // Parsers accept packable repeated scalars both packed and unpacked.
    const auto unpacked =
        WireFormatLite::WireTypeForFieldType(static_cast<WireFormatLite::FieldType>(field->type()));
    const bool packed = field->is_packable() && wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (wire != unpacked && !packed) {
      std::string path = PathOf(&here);
      std::string message =
          fmt::format("field {} has Protobuf wire type {} where the contract has {}", path,
                      static_cast<int>(wire), static_cast<int>(unpacked));
      return Rejection{Reason::kWrongType, std::move(path), std::move(message)};
    }
    // Protobuf's parser keeps the last value of a singular field (and merges
    // messages), so two records written as one would be read as a mix.
    if (!field->is_repeated() && count > 0) {
      std::string path = PathOf(&here);
      std::string message = fmt::format(
          "field {} is given more than once in the Protobuf record; readers may keep "
          "different values, so the record is refused",
          path);
      return Rejection{Reason::kDuplicateField, std::move(path), std::move(message)};
    }

    std::string_view value;
    uint64_t scalar = 0;
    bool ok = false;
    switch (wire) {
      case WireFormatLite::WIRETYPE_VARINT:
        ok = ReadVarint(in, &scalar);
        if (ok && !FitsItsField(*field, scalar)) {
          std::string path = PathOf(&here);
          std::string message =
              fmt::format("field {} is {}; it must be an integer from -2^31 to 2^31-1", path,
                          static_cast<int64_t>(scalar));
          return Rejection{Reason::kWrongType, std::move(path), std::move(message)};
        }
        break;
      case WireFormatLite::WIRETYPE_FIXED64:
        ok = Take(in, 8, &value);
        break;
      case WireFormatLite::WIRETYPE_FIXED32:
        ok = Take(in, 4, &value);
        break;
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED:
        ok = ReadVarint(in, &scalar) && Take(in, scalar, &value);
        if (ok && field->type() == FieldDescriptor::TYPE_STRING && !IsValidUtf8(value)) {
          std::string path = PathOf(&here);
          std::string message = fmt::format("field {} is not valid UTF-8", path);
          return Rejection{Reason::kInvalidUtf8, std::move(path), std::move(message)};
        }
        if (ok && field->type() == FieldDescriptor::TYPE_MESSAGE) {
          if (auto rejection = Scan(*field->message_type(), value, &here, depth + 1)) {
            return rejection;
          }
        }
        break;
      case WireFormatLite::WIRETYPE_START_GROUP:
      case WireFormatLite::WIRETYPE_END_GROUP:
        break;  // rejected with the tag above
    }
    if (!ok) return Malformed(&here);
  }
  return std::nullopt;
}

}  // namespace

bool ReadVarint(std::string_view& in, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

std::optional<Rejection> CheckProtobufWire(const Descriptor& type, std::string_view bytes) {
  return Scan(type, bytes, nullptr, 0);
}

}  // namespace closeloop::ingest
