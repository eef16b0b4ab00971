#include "ingest/json_fast.h"

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace closeloop::ingest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::Timestamp;

// Deal > BillingPlan > Milestone is the deepest object nesting of the contract.
constexpr size_t kMaxDepth = 4;

// A decimal integer as protobuf writes int64 in JSON: optional '-', no '+',
// no leading zeros, no spaces. Anything else is left to protobuf's parser.
bool ParseCanonicalInt(const std::string& text, int64_t* value) {
  const char* begin = text.data();
  const char* const end = begin + text.size();
  const char* digits = begin + (begin != end && *begin == '-' ? 1 : 0);
  if (digits == end || (*digits == '0' && (end - digits > 1 || digits != begin))) return false;
  const auto [stop, error] = std::from_chars(begin, end, *value);
  return error == std::errc() && stop == end;
}

bool IsTimestamp(const FieldDescriptor& field) {
  return field.message_type() == Timestamp::descriptor();
}

// nlohmann::json SAX events applied to a message through reflection. Each
// handler returns false, which stops the parse, on anything outside the plain
// shape.
class PlainJsonHandler {
 public:
  using Json = nlohmann::json;
  using number_integer_t = Json::number_integer_t;    // NOLINT(readability-identifier-naming)
  using number_unsigned_t = Json::number_unsigned_t;  // NOLINT(readability-identifier-naming)
  using number_float_t = Json::number_float_t;        // NOLINT(readability-identifier-naming)
  using string_t = Json::string_t;                    // NOLINT(readability-identifier-naming)
  using binary_t = Json::binary_t;                    // NOLINT(readability-identifier-naming)

  explicit PlainJsonHandler(Message& root) : root_(root) {}

  bool Finished() const { return started_ && depth_ == 0; }

  // The SAX interface nlohmann::json::sax_parse calls; names are its own.
  // NOLINTBEGIN(readability-identifier-naming)
  bool start_object(std::size_t /*elements*/) {
    if (depth_ == 0) {
      if (started_) return false;
      started_ = true;
      return Push(root_);
    }
    Frame& frame = Top();
    const FieldDescriptor* field = frame.field;
    if (field == nullptr || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        IsTimestamp(*field) || field->is_repeated() != frame.in_list) {
      return false;
    }
    if (field->is_repeated()) return Push(*frame.reflection->AddMessage(frame.message, field));
    frame.field = nullptr;
    return Push(*frame.reflection->MutableMessage(frame.message, field));
  }

  bool end_object() {
    --depth_;
    return true;
  }

  bool start_array(std::size_t /*elements*/) {
    if (depth_ == 0) return false;
    Frame& frame = Top();
    if (frame.field == nullptr || !frame.field->is_repeated() || frame.in_list ||
        frame.field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return false;
    }
    frame.in_list = true;
    return true;
  }

  bool end_array() {
    Frame& frame = Top();
    frame.in_list = false;
    frame.field = nullptr;
    return true;
  }

  bool key(string_t& name) {
    Frame& frame = Top();  // nlohmann reports keys inside objects only
    const FieldDescriptor* field = frame.descriptor->FindFieldByName(name);
    if (field == nullptr) field = frame.descriptor->FindFieldByCamelcaseName(name);
    if (field == nullptr || field->index() >= 64) return false;
    const uint64_t bit = uint64_t{1} << field->index();
    if (frame.seen & bit) return false;  // a repeated key: protobuf decides what it means
    frame.seen |= bit;
    frame.field = field;
    return true;
  }

  bool string(string_t& value) {
    const FieldDescriptor* field = TakeScalarField();
    if (field == nullptr) return false;
    Frame& frame = Top();
    switch (field->type()) {
      case FieldDescriptor::TYPE_STRING:
        frame.reflection->SetString(frame.message, field, std::move(value));
        return true;
      case FieldDescriptor::TYPE_INT64: {
        int64_t number = 0;
        if (!ParseCanonicalInt(value, &number)) return false;
        frame.reflection->SetInt64(frame.message, field, number);
        return true;
      }
      case FieldDescriptor::TYPE_ENUM: {
        const auto* enum_value = field->enum_type()->FindValueByName(value);
        if (enum_value == nullptr) return false;
        frame.reflection->SetEnumValue(frame.message, field, enum_value->number());
        return true;
      }
      case FieldDescriptor::TYPE_MESSAGE: {
        if (!IsTimestamp(*field)) return false;
        auto* time = google::protobuf::DynamicCastToGenerated<Timestamp>(
            frame.reflection->MutableMessage(frame.message, field));
        return time != nullptr && google::protobuf::util::TimeUtil::FromString(value, time);
      }
      default:
        return false;  // the contract has no other types; protobuf handles the rest
    }
  }

  bool number_integer(number_integer_t value) { return SetInteger(value); }

  bool number_unsigned(number_unsigned_t value) {
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    return SetInteger(static_cast<int64_t>(value));
  }

  bool number_float(number_float_t /*value*/, const string_t& /*text*/) { return false; }
  bool null() { return false; }
  bool boolean(bool /*value*/) { return false; }
  bool binary(binary_t& /*value*/) { return false; }

  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) {
    return false;
  }
  // NOLINTEND(readability-identifier-naming)

 private:
  struct Frame {
    Message* message = nullptr;
    const Reflection* reflection = nullptr;
    const Descriptor* descriptor = nullptr;
    const FieldDescriptor* field = nullptr;  // the key read last, awaiting its value
    bool in_list = false;                    // inside the list value of `field`
    uint64_t seen = 0;                       // bit i: the field of index i was set
  };

  // REQUIRES: depth_ > 0. end_object and end_array follow a successful start.
  Frame& Top() { return frames_[depth_ - 1]; }

  bool Push(Message& message) {
    if (depth_ == kMaxDepth) return false;
    frames_[depth_++] =
        Frame{&message, message.GetReflection(), message.GetDescriptor(), nullptr, false, 0};
    return true;
  }

  // The singular field awaiting a scalar value, now consumed; nullptr when
  // the value would go in a list or no key precedes it.
  const FieldDescriptor* TakeScalarField() {
    if (depth_ == 0) return nullptr;  // a JSON text that is a bare value
    Frame& frame = Top();
    const FieldDescriptor* field = frame.field;
    if (field == nullptr || frame.in_list || field->is_repeated()) return nullptr;
    frame.field = nullptr;
    return field;
  }

  bool SetInteger(int64_t value) {
    const FieldDescriptor* field = TakeScalarField();
    if (field == nullptr) return false;
    Frame& frame = Top();
    const bool fits_int32 = value >= std::numeric_limits<int32_t>::min() &&
                            value <= std::numeric_limits<int32_t>::max();
    switch (field->type()) {
      case FieldDescriptor::TYPE_INT64:
        frame.reflection->SetInt64(frame.message, field, value);
        return true;
      case FieldDescriptor::TYPE_INT32:
        if (!fits_int32) return false;
        frame.reflection->SetInt32(frame.message, field, static_cast<int32_t>(value));
        return true;
      case FieldDescriptor::TYPE_ENUM:  // proto3 enums are open: any int32 is kept
        if (!fits_int32) return false;
        frame.reflection->SetEnumValue(frame.message, field, static_cast<int>(value));
        return true;
      default:
        return false;
    }
  }

  Message& root_;
  std::array<Frame, kMaxDepth> frames_;
  size_t depth_ = 0;
  bool started_ = false;
};

}  // namespace

bool ParsePlainJson(std::string_view json, Message& message) {
  // nlohmann skips a byte-order mark that protobuf's parser refuses.
  if (json.starts_with("\xEF\xBB\xBF")) return false;
  PlainJsonHandler handler(message);
  return nlohmann::json::sax_parse(json.begin(), json.end(), &handler) && handler.Finished();
}

}  // namespace closeloop::ingest
