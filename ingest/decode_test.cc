// Decode: wire formats, format detection, size limits, UTF-8 and event_time
// defaults. Binary Protobuf and Confluent framing are in
// decode_binary_test.cc, contract rules in validate_test.cc, JSON error
// classification in json_error_test.cc.
#include "ingest/decode.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "ingest/decode_testing.h"

namespace closeloop::ingest {
namespace {

using google::protobuf::Message;
using google::protobuf::util::MessageDifferencer;
using testing::Accepted;
using testing::Confluent;
using testing::DecodeJson;
using testing::Describe;
using testing::Json;
using testing::Rejected;
using testing::Time;

const Message& PayloadOf(const v1::Event& event, DocType type) {
  switch (type) {
    case DocType::kDeal:
      return event.deal();
    case DocType::kOrder:
      return event.order();
    case DocType::kInvoice:
      return event.invoice();
    case DocType::kPayment:
      return event.payment();
    case DocType::kCommand:
      return event.command();
  }
  return event;
}

// Decodes `message` in every wire form and expects it back unchanged.
// REQUIRES: `message` is valid and has its event_time (so no default applies).
void ExpectEveryFormatRoundTrips(DocType type, const Message& message) {
  const std::string binary = message.SerializeAsString();
  const struct {
    const char* name;
    Format format;
    std::string bytes;
  } cases[] = {
      {"json snake_case", Format::kJson, Json(message, true)},
      {"json camelCase", Format::kJson, Json(message, false)},
      {"protobuf", Format::kProtobuf, binary},
      {"confluent [0]", Format::kConfluent, Confluent(binary, {0})},
      {"confluent [3, 1]", Format::kConfluent, Confluent(binary, {3, 1})},
      {"auto json", Format::kAuto, Json(message, false)},
      {"auto protobuf", Format::kAuto, binary},
      {"auto confluent", Format::kAuto, Confluent(binary, {0})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto result = Decode(type, c.format, c.bytes, std::nullopt);
    const v1::Event event = Accepted(result);
    EXPECT_TRUE(MessageDifferencer::Equals(PayloadOf(event, type), message))
        << Describe(result) << "\nwant " << message.ShortDebugString();
    EXPECT_FALSE(event.has_origin());
  }
}

TEST(Decode, AcceptsDealInEveryFormat) {
  v1::Deal deal = testing::ValidDeal();
  deal.mutable_billing_plan()->set_kind(v1::BillingPlan::MILESTONES);
  auto* first = deal.mutable_billing_plan()->add_milestones();
  *first->mutable_due_time() = Time("2024-04-01T00:00:00Z");
  first->set_amount_minor(20000);
  auto* second = deal.mutable_billing_plan()->add_milestones();
  *second->mutable_due_time() = Time("2024-07-01T00:00:00.123456789Z");
  second->set_amount_minor(100000);
  ExpectEveryFormatRoundTrips(DocType::kDeal, deal);
}

TEST(Decode, AcceptsOrderInEveryFormat) {
  ExpectEveryFormatRoundTrips(DocType::kOrder, testing::ValidOrder());
}

TEST(Decode, AcceptsInvoiceInEveryFormat) {
  v1::Invoice invoice = testing::ValidInvoice();
  invoice.set_kind(v1::Invoice::CREDIT_MEMO);
  ExpectEveryFormatRoundTrips(DocType::kInvoice, invoice);
}

TEST(Decode, AcceptsPaymentInEveryFormat) {
  v1::Payment payment = testing::ValidPayment();
  payment.set_status(v1::Payment::REFUNDED);
  ExpectEveryFormatRoundTrips(DocType::kPayment, payment);
}

TEST(Decode, AcceptsCommandInEveryFormat) {
  ExpectEveryFormatRoundTrips(DocType::kCommand, testing::ValidCommand());
}

TEST(Decode, AcceptsHandWrittenCamelCaseJson) {
  const auto event = Accepted(DecodeJson(DocType::kInvoice, R"({
    "tenantId": "acme", "invoiceId": "INV-9", "dealId": "D-1",
    "amountMinor": 5000, "currency": "USD", "kind": "CREDIT_MEMO",
    "issueTime": "2024-03-10T00:00:00Z", "paymentTermsDays": 14 })"));
  EXPECT_EQ(event.invoice().invoice_id(), "INV-9");
  EXPECT_EQ(event.invoice().deal_id(), "D-1");
  EXPECT_EQ(event.invoice().amount_minor(), 5000);
  EXPECT_EQ(event.invoice().kind(), v1::Invoice::CREDIT_MEMO);
  EXPECT_EQ(event.invoice().payment_terms_days(), 14);
}

TEST(Decode, AcceptsAmountAsJsonString) {
  const auto event = Accepted(DecodeJson(
      DocType::kPayment,
      R"({"tenant_id":"t","payment_id":"p","invoice_id":"i","amount_minor":"9007199254740991",
          "currency":"JPY","event_time":"2024-01-01T00:00:00Z"})"));
  EXPECT_EQ(event.payment().amount_minor(), 9007199254740991);
}

TEST(Decode, RejectsEmptyRecord) {
  EXPECT_EQ(Rejected(Decode(DocType::kDeal, Format::kAuto, "", std::nullopt)).reason,
            Reason::kEmpty);
}

TEST(Decode, RejectsRecordOverTheSizeLimit) {
  const std::string json = Json(testing::ValidDeal());
  const Limits limits{.max_record_bytes = json.size() - 1};
  const auto rejection =
      Rejected(Decode(DocType::kDeal, Format::kJson, json, std::nullopt, limits));
  EXPECT_EQ(rejection.reason, Reason::kOversized);
  EXPECT_NE(rejection.message.find(std::to_string(json.size())), std::string::npos);
  const Limits exact{.max_record_bytes = json.size()};
  Accepted(Decode(DocType::kDeal, Format::kJson, json, std::nullopt, exact));
}

// Exception records repeat a document's texts; one over Kafka's
// message.max.bytes would be refused for good and stop the service.
TEST(Decode, RejectsATextFieldOverItsLimitNamingIt) {
  v1::Deal deal = testing::ValidDeal();
  const Limits limits{.max_text_bytes = 100};
  deal.set_customer_name(std::string(100, 'x'));
  Accepted(Decode(DocType::kDeal, Format::kJson, Json(deal), std::nullopt, limits));
  deal.set_customer_name(std::string(101, 'x'));
  const auto rejection =
      Rejected(Decode(DocType::kDeal, Format::kJson, Json(deal), std::nullopt, limits));
  EXPECT_EQ(rejection.reason, Reason::kOversized);
  EXPECT_EQ(rejection.field, "customer_name");
  EXPECT_NE(rejection.message.find("101 bytes"), std::string::npos) << rejection.message;
  // The default leaves room for any real name.
  deal.set_customer_name(std::string(16 << 10, 'x'));
  Accepted(Decode(DocType::kDeal, Format::kJson, Json(deal), std::nullopt, Limits{}));
}

TEST(Decode, RejectsJsonThatIsNotUtf8) {
  const std::string_view bad[] = {
      "\xff",              // never a UTF-8 byte
      "\xc3",              // truncated two-byte sequence
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong, three bytes
      "\xed\xa0\x80",      // UTF-16 surrogate U+D800
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\x80",              // lone continuation byte
  };
  for (const std::string_view bytes : bad) {
    const std::string json = R"({"tenant_id":"a)" + std::string(bytes) + R"(","deal_id":"d"})";
    SCOPED_TRACE(json);
    EXPECT_EQ(Rejected(DecodeJson(DocType::kDeal, json)).reason, Reason::kInvalidUtf8);
  }
  // Outside a string too: the text as a whole is not UTF-8, whatever its syntax.
  for (const char* json : {"{\"tenant_id\":\"a\"}\xff", "{\"tenant_id\":\"a\",\xc3}"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(Rejected(DecodeJson(DocType::kDeal, json)).reason, Reason::kInvalidUtf8);
  }
}

TEST(Decode, AcceptsMultibyteUtf8Text) {
  v1::Deal deal = testing::ValidDeal();
  deal.set_customer_name("Müller & Søn — 東京 🚀");
  const auto event = Accepted(DecodeJson(DocType::kDeal, Json(deal)));
  EXPECT_EQ(event.deal().customer_name(), "Müller & Søn — 東京 🚀");
}

TEST(Decode, AutoDetectsJsonAfterWhitespace) {
  const auto event =
      Accepted(Decode(DocType::kOrder, Format::kAuto, "\r\n\t " + Json(testing::ValidOrder()), {}));
  EXPECT_EQ(event.order().order_id(), "SO-1");
}

TEST(Decode, AutoDetectsProtobufThatLooksLikeJson) {
  // Field 1 (tag 0x0A, a JSON newline) of length 123 (a '{').
  v1::Order order = testing::ValidOrder();
  order.set_tenant_id(std::string(123, 't'));
  const std::string binary = order.SerializeAsString();
  ASSERT_EQ(binary.substr(0, 2), "\n{");
  const auto event = Accepted(Decode(DocType::kOrder, Format::kAuto, binary, {}));
  EXPECT_EQ(event.order().tenant_id(), std::string(123, 't'));
}

TEST(Decode, AutoReportsJsonErrorForBrokenJson) {
  EXPECT_EQ(Rejected(Decode(DocType::kOrder, Format::kAuto, " {\"tenant_id\":", {})).reason,
            Reason::kMalformedJson);
  EXPECT_EQ(Rejected(Decode(DocType::kOrder, Format::kAuto, "{\"bogus\":1}", {})).reason,
            Reason::kUnknownField);
}

TEST(Decode, AutoReadsAJsonArrayAsJson) {
  const std::string order = Json(testing::ValidOrder());
  for (const std::string& record : {"[" + order + "]", " \n[" + order + "]", std::string("[]"),
                                    std::string("[1, 2]"), std::string("\t[\"a\"]")}) {
    SCOPED_TRACE(record);
    for (Format format : {Format::kAuto, Format::kJson}) {
      const Rejection r = Rejected(Decode(DocType::kOrder, format, record, {}));
      EXPECT_EQ(r.reason, Reason::kMalformedJson);
      EXPECT_EQ(r.message, "the record is a JSON array where a JSON object was expected");
    }
  }
  // A broken array is broken JSON, not broken Protobuf.
  const Rejection broken = Rejected(Decode(DocType::kOrder, Format::kAuto, "[1, 2", {}));
  EXPECT_EQ(broken.reason, Reason::kMalformedJson);
  EXPECT_NE(broken.message.find("not valid JSON"), std::string::npos) << broken.message;
}

TEST(Decode, AutoStillDetectsProtobufThatLooksLikeAJsonArray) {
  // Field 1 (tag 0x0A, a JSON newline) of length 91 (a '[').
  v1::Order order = testing::ValidOrder();
  order.set_tenant_id(std::string(91, 't'));
  const std::string binary = order.SerializeAsString();
  ASSERT_EQ(binary.substr(0, 2), "\n[");
  const auto event = Accepted(Decode(DocType::kOrder, Format::kAuto, binary, {}));
  EXPECT_EQ(event.order().tenant_id(), std::string(91, 't'));
}

TEST(Decode, AutoTellsProtobufConfluentAndJsonObjectsApart) {
  const v1::Order order = testing::ValidOrder();
  const std::string binary = order.SerializeAsString();
  ASSERT_NE(binary.front(), '{');
  ASSERT_NE(binary.front(), '[');
  EXPECT_EQ(Accepted(Decode(DocType::kOrder, Format::kAuto, binary, {})).order().order_id(),
            "SO-1");
  const std::string confluent = std::string("\0\0\0\0\x07\0", 6) + binary;
  EXPECT_EQ(Accepted(Decode(DocType::kOrder, Format::kAuto, confluent, {})).order().order_id(),
            "SO-1");
  EXPECT_EQ(Accepted(Decode(DocType::kOrder, Format::kAuto, Json(order), {})).order().order_id(),
            "SO-1");
  // Neither JSON nor Protobuf: still a Protobuf reason.
  EXPECT_EQ(Rejected(Decode(DocType::kOrder, Format::kAuto, "not a record", {})).reason,
            Reason::kMalformedProtobuf);
  // Valid JSON that is no object, on either kind of topic: said so, not
  // malformed_protobuf.
  for (const auto& [record, type] : std::vector<std::pair<std::string, std::string>>{
           {"42", "number"}, {"null", "null"}, {" \"SO-1\"", "string"}, {"true", "boolean"}}) {
    SCOPED_TRACE(record);
    for (Format format : {Format::kAuto, Format::kJson}) {
      const Rejection r = Rejected(Decode(DocType::kOrder, format, record, {}));
      EXPECT_EQ(r.reason, Reason::kMalformedJson);
      EXPECT_EQ(r.message, "the record is a JSON " + type + " where a JSON object was expected");
    }
  }
}

// Binary Protobuf on a topic declared json: the rejection says what it is.
TEST(Decode, JsonTopicNamesBinaryProtobuf) {
  v1::Order order = testing::ValidOrder();
  order.set_customer_id("C-\xc3\xa9");  // UTF-8 text inside: only the framing is binary
  for (const auto& [type, binary] : std::vector<std::pair<DocType, std::string>>{
           {DocType::kOrder, order.SerializeAsString()},
           {DocType::kPayment, testing::ValidPayment().SerializeAsString()}}) {
    const Rejection r = Rejected(Decode(type, Format::kJson, binary, {}));
    EXPECT_TRUE(r.reason == Reason::kInvalidUtf8 || r.reason == Reason::kMalformedJson);
    EXPECT_EQ(r.message,
              "the record is binary Protobuf, not JSON: is the topic's format protobuf (or auto)?");
  }
  // Broken JSON that is no Protobuf either keeps its JSON error.
  const Rejection broken = Rejected(Decode(DocType::kOrder, Format::kJson, "{\"order_id\":", {}));
  EXPECT_NE(broken.message.find("not valid JSON"), std::string::npos) << broken.message;
}

// nlohmann's parser skips a leading UTF-8 byte order mark, protobuf's does
// not: such a record was refused as "a JSON object where a JSON object was
// expected".
TEST(Decode, NamesTheByteOrderMarkBeforeJson) {
  const std::string json = "\xEF\xBB\xBF" + Json(testing::ValidOrder());
  for (Format format : {Format::kAuto, Format::kJson}) {
    const Rejection r = Rejected(Decode(DocType::kOrder, format, json, {}));
    EXPECT_EQ(r.reason, Reason::kMalformedJson);
    EXPECT_EQ(r.message,
              "the record starts with a UTF-8 byte order mark (EF BB BF), which JSON sent "
              "between systems must not have");
  }
}

// JSON on a topic declared protobuf or confluent: the rejection says what it
// is, as for binary Protobuf on a json topic.
TEST(Decode, ProtobufTopicNamesJson) {
  for (const std::string& json :
       {Json(testing::ValidOrder()), " " + Json(testing::ValidOrder()), std::string("[1, 2]")}) {
    SCOPED_TRACE(json);
    const Rejection protobuf = Rejected(Decode(DocType::kOrder, Format::kProtobuf, json, {}));
    EXPECT_EQ(protobuf.reason, Reason::kMalformedProtobuf);
    EXPECT_EQ(protobuf.message,
              "the record is JSON, not Protobuf: is the topic's format json (or auto)?");
    const Rejection confluent = Rejected(Decode(DocType::kOrder, Format::kConfluent, json, {}));
    EXPECT_EQ(confluent.reason, Reason::kBadFraming);
    EXPECT_EQ(confluent.message,
              "the record is JSON, not Confluent-framed Protobuf: is the topic's format json "
              "(or auto)?");
  }
  // Bytes that are neither keep the Protobuf error.
  EXPECT_EQ(Rejected(Decode(DocType::kOrder, Format::kProtobuf, "{not json", {})).message,
            "the Protobuf record is truncated or corrupt");
}

TEST(Decode, ExplicitFormatIsNotSniffed) {
  const std::string json = Json(testing::ValidOrder());
  EXPECT_EQ(Rejected(Decode(DocType::kOrder, Format::kProtobuf, json, {})).reason,
            Reason::kMalformedProtobuf);
  EXPECT_EQ(Rejected(Decode(DocType::kOrder, Format::kConfluent, json, {})).reason,
            Reason::kBadFraming);
}

TEST(Decode, DealEventTimeDefaultsToCloseTime) {
  v1::Deal deal = testing::ValidDeal();
  deal.clear_event_time();
  const auto event = Accepted(DecodeJson(DocType::kDeal, Json(deal), 1700000000000));
  EXPECT_EQ(event.deal().event_time().seconds(), Time("2024-03-01T10:00:00Z").seconds());
}

TEST(Decode, DealEventTimeDefaultsToKafkaTimestamp) {
  v1::Deal deal = testing::ValidDeal();
  deal.clear_event_time();
  deal.clear_close_time();
  const auto event = Accepted(DecodeJson(DocType::kDeal, Json(deal), 1700000000123));
  EXPECT_EQ(event.deal().event_time().seconds(), 1700000000);
  EXPECT_EQ(event.deal().event_time().nanos(), 123000000);
  EXPECT_FALSE(event.deal().has_close_time());
}

TEST(Decode, DealWithoutAnyTimeIsMissingEventTime) {
  v1::Deal deal = testing::ValidDeal();
  deal.clear_event_time();
  deal.clear_close_time();
  for (const std::optional<int64_t> kafka :
       {std::optional<int64_t>(), std::optional<int64_t>(-1)}) {
    const auto rejection = Rejected(DecodeJson(DocType::kDeal, Json(deal), kafka));
    EXPECT_EQ(rejection.reason, Reason::kMissingField);
    EXPECT_EQ(rejection.field, "event_time");
  }
}

TEST(Decode, KeepsEventTimeTheDocumentHas) {
  const auto event = Accepted(DecodeJson(DocType::kDeal, Json(testing::ValidDeal()), 1));
  EXPECT_EQ(event.deal().event_time().nanos(), 250000000);
}

TEST(Decode, InvoiceEventTimeDefaultsToIssueTime) {
  v1::Invoice invoice = testing::ValidInvoice();
  invoice.clear_event_time();
  const auto event = Accepted(DecodeJson(DocType::kInvoice, Json(invoice), 1700000000000));
  EXPECT_EQ(event.invoice().event_time().seconds(), Time("2024-03-10T00:00:00Z").seconds());
}

TEST(Decode, OrderAndPaymentNeedTheirOwnEventTime) {
  v1::Order order = testing::ValidOrder();
  order.clear_event_time();
  auto rejection = Rejected(DecodeJson(DocType::kOrder, Json(order), 1700000000000));
  EXPECT_EQ(rejection.reason, Reason::kMissingField);
  EXPECT_EQ(rejection.field, "event_time");
  v1::Payment payment = testing::ValidPayment();
  payment.clear_event_time();
  rejection = Rejected(DecodeJson(DocType::kPayment, Json(payment), 1700000000000));
  EXPECT_EQ(rejection.reason, Reason::kMissingField);
  EXPECT_EQ(rejection.field, "event_time");
}

TEST(Decode, CommandEventTimeDefaultsToKafkaTimestamp) {
  v1::Command command = testing::ValidCommand();
  command.clear_event_time();
  const auto event = Accepted(DecodeJson(DocType::kCommand, Json(command), 1700000000999));
  EXPECT_EQ(event.command().event_time().seconds(), 1700000000);
  EXPECT_EQ(event.command().event_time().nanos(), 999000000);
  const auto rejection = Rejected(DecodeJson(DocType::kCommand, Json(command)));
  EXPECT_EQ(rejection.reason, Reason::kMissingField);
  EXPECT_EQ(rejection.field, "event_time");
}

TEST(ReasonName, IsTheStableWireName) {
  const std::pair<Reason, std::string_view> names[] = {
      {Reason::kEmpty, "empty"},
      {Reason::kOversized, "oversized"},
      {Reason::kInvalidUtf8, "invalid_utf8"},
      {Reason::kMalformedJson, "malformed_json"},
      {Reason::kWrongType, "wrong_type"},
      {Reason::kUnknownField, "unknown_field"},
      {Reason::kDuplicateField, "duplicate_field"},
      {Reason::kUnknownEnum, "unknown_enum"},
      {Reason::kUnparseableTime, "unparseable_time"},
      {Reason::kMalformedProtobuf, "malformed_protobuf"},
      {Reason::kBadFraming, "bad_framing"},
      {Reason::kMissingField, "missing_field"},
      {Reason::kNegativeAmount, "negative_amount"},
      {Reason::kBadCurrency, "bad_currency"},
      {Reason::kInvalidValue, "invalid_value"},
      {Reason::kUnknownException, "unknown_exception"},
      {Reason::kExceptionNotOpen, "exception_not_open"},
      {Reason::kReplayedCommand, "replayed_command"},
      {Reason::kTooManyCommands, "too_many_commands"},
      // The source adapters' reasons (README, dead-letter headers).
      {Reason::kBadEnvelope, "bad_envelope"},
      {Reason::kUnmappable, "unmappable"},
      {Reason::kNoPreviousRecord, "no_previous_record"},
      {Reason::kCdcGap, "cdc_gap"},
      {Reason::kCdcGapOverflow, "cdc_gap_overflow"},
  };
  for (const auto& [reason, name] : names) EXPECT_EQ(ReasonName(reason), name);
}

}  // namespace
}  // namespace closeloop::ingest
