// Decode of binary records: Protobuf's wire format (what its parser accepts
// and closeloop must refuse, named by field) and Confluent framing.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ingest/decode.h"
#include "ingest/decode_testing.h"

namespace closeloop::ingest {
namespace {

using testing::Accepted;
using testing::Confluent;
using testing::DecodeJson;
using testing::Json;
using testing::Rejected;

TEST(Decode, RejectsProtobufStringThatIsNotUtf8) {
  v1::Payment payment = testing::ValidPayment();
  payment.set_customer_id("C-\xff");  // serializing does not check UTF-8 in release builds
  std::string binary;
  ASSERT_TRUE(payment.SerializePartialToString(&binary));
  const auto rejection = Rejected(Decode(DocType::kPayment, Format::kProtobuf, binary, {}));
  EXPECT_EQ(rejection.reason, Reason::kInvalidUtf8);
  EXPECT_EQ(rejection.field, "customer_id");
}

TEST(Decode, RejectsTruncatedProtobuf) {
  const std::string binary = testing::ValidOrder().SerializeAsString();
  // Cut inside the last field, the event_time message.
  const auto rejection =
      Rejected(Decode(DocType::kOrder, Format::kProtobuf, binary.substr(0, binary.size() - 2), {}));
  EXPECT_EQ(rejection.reason, Reason::kMalformedProtobuf);
}

TEST(Decode, RejectsProtobufWithInvalidTag) {
  // Wire type 7 does not exist.
  EXPECT_EQ(Rejected(Decode(DocType::kDeal, Format::kProtobuf, "\x0f\x01", {})).reason,
            Reason::kMalformedProtobuf);
  // An unterminated varint.
  EXPECT_EQ(Rejected(Decode(DocType::kDeal, Format::kProtobuf, "\x20\xff\xff", {})).reason,
            Reason::kMalformedProtobuf);
}

// Field number 0 is no field at all: the record is corrupt, not carrying a
// field the contract lacks.
TEST(Decode, RejectsProtobufFieldNumberZeroAsMalformed) {
  const std::string binary = testing::ValidOrder().SerializeAsString() + std::string("\x00\x01", 2);
  const auto rejection = Rejected(Decode(DocType::kOrder, Format::kProtobuf, binary, {}));
  EXPECT_EQ(rejection.reason, Reason::kMalformedProtobuf);
  EXPECT_EQ(rejection.field, "");
}

// A length-delimited value one byte short of its length is truncated, and
// the rejection names the field it was cut in.
TEST(Decode, NamesTheFieldATruncatedRecordEndsIn) {
  const std::string binary = std::string("\x0a\x04", 2) + "acm";  // tenant_id, 4 bytes, 3 given
  const auto rejection = Rejected(Decode(DocType::kOrder, Format::kProtobuf, binary, {}));
  EXPECT_EQ(rejection.reason, Reason::kMalformedProtobuf);
  EXPECT_EQ(rejection.field, "tenant_id");
}

TEST(Decode, RejectsProtobufFieldTheContractLacks) {
  std::string binary = testing::ValidOrder().SerializeAsString();
  binary += std::string("\xa0\x06\x01", 3);  // field 100, varint 1
  const auto rejection = Rejected(Decode(DocType::kOrder, Format::kProtobuf, binary, {}));
  EXPECT_EQ(rejection.reason, Reason::kUnknownField);
  EXPECT_EQ(rejection.field, "#100");
}

TEST(Decode, RejectsProtobufFieldOfAnotherWireType) {
  std::string binary = testing::ValidOrder().SerializeAsString();
  binary += std::string("\x2a\x01\x31", 3);  // amount_minor (5) as a length-delimited value
  const auto rejection = Rejected(Decode(DocType::kOrder, Format::kProtobuf, binary, {}));
  EXPECT_EQ(rejection.reason, Reason::kWrongType);
  EXPECT_EQ(rejection.field, "amount_minor");
}

// A length-delimited field: one tag byte, a one-byte length, the payload.
std::string Field(char tag, const std::string& payload) {
  return std::string(1, tag) + static_cast<char>(payload.size()) + payload;
}

TEST(Decode, NamesNestedProtobufFieldWithItsIndex) {
  const std::string good_due_time = std::string("\x08\x01", 2);         // seconds: 1
  const std::string bad_due_time = std::string("\x08\x01\x48\x01", 4);  // + field 9
  const std::string plan = std::string("\x08\x02", 2)                   // kind: MILESTONES
                           + Field('\x12', Field('\x0a', good_due_time)) +
                           Field('\x12', Field('\x0a', bad_due_time));
  v1::Deal deal = testing::ValidDeal();
  deal.clear_billing_plan();
  const std::string bytes = deal.SerializeAsString() + Field('\x7a', plan);  // field 15
  const auto rejection = Rejected(Decode(DocType::kDeal, Format::kProtobuf, bytes, {}));
  EXPECT_EQ(rejection.reason, Reason::kUnknownField);
  EXPECT_EQ(rejection.field, "billing_plan.milestones[1].due_time.#9");
}

TEST(Decode, RejectsBadConfluentFraming) {
  const std::string binary = testing::ValidOrder().SerializeAsString();
  const std::string cases[] = {
      std::string("\x00\x00\x00", 3),                           // shorter than the header
      std::string("\x01\x00\x00\x00\x2a\x00", 6) + binary,      // magic byte 1
      std::string("\x00\x00\x00\x00\x2a", 5),                   // no message indexes
      std::string("\x00\x00\x00\x00\x2a\x01", 6) + binary,      // count -1
      std::string("\x00\x00\x00\x00\x2a\x06\x02", 7),           // count 3, one index given
      std::string("\x00\x00\x00\x00\x2a\x02\x01", 7) + binary,  // index -1
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    SCOPED_TRACE(i);
    const std::string& bytes = cases[i];
    EXPECT_EQ(Rejected(Decode(DocType::kOrder, Format::kConfluent, bytes, {})).reason,
              Reason::kBadFraming);
  }
  // Four bytes are one short of the header, whatever follows them in memory
  // (here a whole framed record, which reading on would take).
  const std::string framed = std::string("\x00\x00\x00\x00\x2a\x00", 6) + binary;
  EXPECT_EQ(Rejected(Decode(DocType::kOrder, Format::kConfluent,
                            std::string_view(framed).substr(0, 4), {}))
                .reason,
            Reason::kBadFraming);
}

TEST(Decode, SkipsLongConfluentMessageIndexes) {
  const v1::Order order = testing::ValidOrder();
  const std::string bytes = Confluent(order.SerializeAsString(), {300, 0, 70000});
  const auto event = Accepted(Decode(DocType::kOrder, Format::kConfluent, bytes, {}));
  EXPECT_EQ(event.order().order_id(), "SO-1");
}

TEST(Decode, AcceptsConfluentFramingWithEmptyPayloadAsEmptyMessage) {
  // An empty payload is a message with every field at its default.
  const auto rejection = Rejected(
      Decode(DocType::kOrder, Format::kConfluent, std::string("\x00\x00\x00\x00\x01\x00", 6), {}));
  EXPECT_EQ(rejection.reason, Reason::kMissingField);
  EXPECT_EQ(rejection.field, "tenant_id");
}

std::string Varint(uint64_t value) {
  std::string out;
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<char>((value & 0x7F) | 0x80));
  out.push_back(static_cast<char>(value));
  return out;
}

// Protobuf's parser keeps the low 32 bits of a varint that does not fit an
// int32 or enum field: 2^32 + 30 days of terms read as 30, an order status
// 2^32 + 2 as CANCELLED. JSON refuses the same number; so must binary.
TEST(Decode, RefusesAProtobufVarintBeyondItsInt32Field) {
  const uint64_t wrapped_terms = (uint64_t{1} << 32) + 30;
  v1::Deal deal = testing::ValidDeal();
  deal.clear_payment_terms_days();
  const std::string terms_binary = deal.SerializeAsString() + "\x58" + Varint(wrapped_terms);
  std::string terms_json = Json(deal);
  terms_json.insert(1, fmt::format("\"payment_terms_days\": {}, ", wrapped_terms));
  const Rejection terms_from_json = Rejected(DecodeJson(DocType::kDeal, terms_json));
  const Rejection terms = Rejected(Decode(DocType::kDeal, Format::kProtobuf, terms_binary, {}));
  EXPECT_EQ(terms.reason, terms_from_json.reason);
  EXPECT_EQ(terms.field, "payment_terms_days");

  const uint64_t wrapped_status = (uint64_t{1} << 32) + 2;
  v1::Order order = testing::ValidOrder();
  order.clear_status();
  const std::string status_binary = order.SerializeAsString() + "\x38" + Varint(wrapped_status);
  const Rejection status = Rejected(Decode(DocType::kOrder, Format::kProtobuf, status_binary, {}));
  EXPECT_EQ(status.reason, terms_from_json.reason);
  EXPECT_EQ(status.field, "status");

  // Negative int32 values are ten-byte varints, as every encoder writes them.
  deal.set_payment_terms_days(-1);
  EXPECT_EQ(
      Rejected(Decode(DocType::kDeal, Format::kProtobuf, deal.SerializeAsString(), {})).reason,
      Reason::kInvalidValue);
  deal.set_payment_terms_days(INT32_MAX);
  Accepted(Decode(DocType::kDeal, Format::kProtobuf, deal.SerializeAsString(), {}));
}

// A singular field twice: protobuf's parser keeps the last value (and merges
// messages), so two records written into one, or a field appended, were read
// as a mix. JSON refuses a repeated key; so does binary.
TEST(Decode, RefusesAProtobufSingularFieldGivenTwice) {
  v1::Deal other = testing::ValidDeal();
  other.set_deal_id("D-2");
  other.set_amount_minor(999);
  other.clear_customer_id();
  const std::string two_deals =
      testing::ValidDeal().SerializeAsString() + other.SerializeAsString();
  const Rejection r = Rejected(Decode(DocType::kDeal, Format::kProtobuf, two_deals, {}));
  EXPECT_EQ(r.reason, Reason::kDuplicateField);
  EXPECT_EQ(r.field, "tenant_id");

  v1::Deal deal = testing::ValidDeal();
  const std::string again = deal.SerializeAsString() + "\x20" + Varint(5);  // amount_minor 5
  const Rejection amount = Rejected(Decode(DocType::kDeal, Format::kAuto, again, {}));
  EXPECT_EQ(amount.reason, Reason::kDuplicateField);
  EXPECT_EQ(amount.field, "amount_minor");
  EXPECT_EQ(amount.message,
            "field amount_minor is given more than once in the Protobuf record; readers may keep "
            "different values, so the record is refused");

  // Nested: a close_time whose seconds come twice.
  deal.clear_close_time();
  const std::string nested = deal.SerializeAsString() + "\x4a\x04\x08\x01\x08\x02";
  EXPECT_EQ(Rejected(Decode(DocType::kDeal, Format::kProtobuf, nested, {})).field,
            "close_time.seconds");

  // Repeated fields may come any number of times, even apart.
  deal.mutable_billing_plan()->set_kind(v1::BillingPlan::MILESTONES);
  for (int64_t amount : {20000, 100000}) {
    v1::Milestone* m = deal.mutable_billing_plan()->add_milestones();
    *m->mutable_due_time() = testing::Time("2024-04-01T00:00:00Z");
    m->set_amount_minor(amount);
  }
  Accepted(Decode(DocType::kDeal, Format::kProtobuf, deal.SerializeAsString(), {}));
}

// Confluent-framed Protobuf on a topic declared protobuf: the 0 byte is no
// tag, and the rejection said only "truncated or corrupt".
TEST(Decode, ProtobufTopicNamesConfluentFraming) {
  const std::string framed = Confluent(testing::ValidOrder().SerializeAsString(), {0});
  const Rejection r = Rejected(Decode(DocType::kOrder, Format::kProtobuf, framed, {}));
  EXPECT_EQ(r.reason, Reason::kMalformedProtobuf);
  EXPECT_EQ(r.message,
            "the record is Confluent-framed Protobuf, not plain Protobuf: is the topic's format "
            "confluent (or auto)?");
  // A 0 byte before what is no Protobuf keeps the Protobuf error.
  EXPECT_EQ(
      Rejected(Decode(DocType::kOrder, Format::kProtobuf, std::string("\0\0\0\0\1\0\xff", 7), {}))
          .message,
      "the Protobuf record is truncated or corrupt");
}

}  // namespace
}  // namespace closeloop::ingest
