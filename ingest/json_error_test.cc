// Rejection reasons for JSON the protobuf parser refuses: these run the real
// parser, so they pin the classification to its actual error text.
#include "ingest/json_error.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "ingest/decode.h"
#include "ingest/decode_testing.h"
#include "ingest/utf8.h"

namespace closeloop::ingest {
namespace {

struct Case {
  const char* json;
  Reason reason;
  const char* field;
};

void ExpectCases(DocType type, std::initializer_list<Case> cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    const Rejection rejection = testing::Rejected(testing::DecodeJson(type, c.json));
    EXPECT_EQ(ReasonName(rejection.reason), std::string(ReasonName(c.reason))) << rejection.message;
    EXPECT_EQ(rejection.field, c.field) << rejection.message;
    EXPECT_FALSE(rejection.message.empty());
    EXPECT_EQ(rejection.message.find('\n'), std::string::npos) << rejection.message;
  }
}

TEST(JsonError, MalformedSyntaxIsMalformedJson) {
  ExpectCases(DocType::kDeal, {
                                  {R"({"tenant_id":"t",)", Reason::kMalformedJson, ""},
                                  {R"({"tenant_id" "t"})", Reason::kMalformedJson, ""},
                                  {R"({"tenant_id":"t"} trailing)", Reason::kMalformedJson, ""},
                                  {R"({"tenant_id":"t"}{})", Reason::kMalformedJson, ""},
                                  {R"({"amount_minor":01})", Reason::kMalformedJson, ""},
                                  {R"({"amount_minor":NaN})", Reason::kMalformedJson, ""},
                                  {"not json at all", Reason::kMalformedJson, ""},
                              });
}

TEST(JsonError, JsonThatIsNotAnObjectIsMalformedJson) {
  ExpectCases(DocType::kOrder, {
                                   {"[1,2]", Reason::kMalformedJson, ""},
                                   {R"("a string")", Reason::kMalformedJson, ""},
                                   {"42", Reason::kMalformedJson, ""},
                                   {"null", Reason::kMalformedJson, ""},
                               });
}

TEST(JsonError, UnknownKeyIsUnknownField) {
  ExpectCases(
      DocType::kDeal,
      {
          {R"({"bogus":1})", Reason::kUnknownField, "bogus"},
          {R"({"TenantId":"t"})", Reason::kUnknownField, "TenantId"},
          {R"({"x":{"y":[1]}})", Reason::kUnknownField, "x"},
          {R"({"billing_plan":{"kind":"ONE_TIME","cadence":"weekly"}})", Reason::kUnknownField,
           "billing_plan.cadence"},
          {R"({"billingPlan":{"milestones":[{"dueTime":"2024-01-01T00:00:00Z","note":1}]}})",
           Reason::kUnknownField, "billing_plan.milestones[0].note"},
          {R"({"close_time":{"bogus":1}})", Reason::kUnknownField, "close_time.bogus"},
          {R"({"":1})", Reason::kUnknownField, ""},
      });
}

TEST(JsonError, UnknownEnumNameIsUnknownEnum) {
  ExpectCases(
      DocType::kDeal,
      {
          {R"({"billing_plan":{"kind":"WEEKLY"}})", Reason::kUnknownEnum, "billing_plan.kind"},
          {R"({"billing_plan":{"kind":"one_time"}})", Reason::kUnknownEnum, "billing_plan.kind"},
          {R"({"billing_plan":{"kind":""}})", Reason::kUnknownEnum, "billing_plan.kind"},
      });
  ExpectCases(DocType::kPayment, {{R"({"status":"PAID"})", Reason::kUnknownEnum, "status"}});
  const Rejection rejection =
      testing::Rejected(testing::DecodeJson(DocType::kPayment, R"({"status":"PAID"})"));
  EXPECT_EQ(rejection.message,
            R"(field status is "PAID", which is not one of SUCCEEDED, FAILED or REFUNDED)");
}

TEST(JsonError, BadTimeTextIsUnparseableTime) {
  ExpectCases(
      DocType::kDeal,
      {
          {R"({"close_time":"yesterday"})", Reason::kUnparseableTime, "close_time"},
          {R"({"closeTime":"2024-13-01T00:00:00Z"})", Reason::kUnparseableTime, "close_time"},
          {R"({"event_time":"2024-02-30T00:00:00Z"})", Reason::kUnparseableTime, "event_time"},
          {R"({"event_time":"2024-01-01T00:00:00"})", Reason::kUnparseableTime, "event_time"},
          {R"({"event_time":"10000-01-01T00:00:00Z"})", Reason::kUnparseableTime, "event_time"},
          {R"({"event_time":"0000-01-01T00:00:00Z"})", Reason::kUnparseableTime, "event_time"},
          {R"({"billing_plan":{"milestones":[{},{"due_time":"soon"}]}})", Reason::kUnparseableTime,
           "billing_plan.milestones[1].due_time"},
      });
}

// RFC 3339 allows a lower-case t and z; protobuf's parser does not, so the
// message says what closeloop reads instead of calling the time invalid.
TEST(JsonError, LowerCaseTimeLettersAreRefusedSayingWhatIsRead) {
  const Rejection rejection = testing::Rejected(
      testing::DecodeJson(DocType::kDeal, R"({"close_time":"2026-10-14t10:00:00z"})"));
  EXPECT_EQ(rejection.reason, Reason::kUnparseableTime);
  EXPECT_EQ(rejection.message,
            R"(field close_time is "2026-10-14t10:00:00z", which is not an RFC 3339 time as )"
            R"(closeloop reads them (upper-case T, and Z or a +hh:mm offset) such as )"
            R"(2024-03-01T10:00:00Z)");
}

TEST(JsonError, ValueOfAnotherJsonTypeIsWrongType) {
  ExpectCases(
      DocType::kDeal,
      {
          {R"({"amount_minor":"abc"})", Reason::kWrongType, "amount_minor"},
          {R"({"amount_minor":1.5})", Reason::kWrongType, "amount_minor"},
          {R"({"amount_minor":"1.5"})", Reason::kWrongType, "amount_minor"},
          {R"({"amount_minor":true})", Reason::kWrongType, "amount_minor"},
          {R"({"amount_minor":9223372036854775808})", Reason::kWrongType, "amount_minor"},
          {R"({"amount_minor":"99999999999999999999"})", Reason::kWrongType, "amount_minor"},
          {R"({"amount_minor":1e30})", Reason::kWrongType, "amount_minor"},
          {R"({"amount_minor":{}})", Reason::kWrongType, "amount_minor"},
          {R"({"amount_minor":[1]})", Reason::kWrongType, "amount_minor"},
          {R"({"payment_terms_days":3000000000})", Reason::kWrongType, "payment_terms_days"},
          {R"({"tenant_id":5})", Reason::kWrongType, "tenant_id"},
          {R"({"tenant_id":{"id":"t"}})", Reason::kWrongType, "tenant_id"},
          {R"({"tenant_id":true})", Reason::kWrongType, "tenant_id"},
          {R"({"close_time":1709287200})", Reason::kWrongType, "close_time"},
          {R"({"close_time":true})", Reason::kWrongType, "close_time"},
          {R"({"billing_plan":"ONE_TIME"})", Reason::kWrongType, "billing_plan"},
          {R"({"billing_plan":[1]})", Reason::kWrongType, "billing_plan"},
          {R"({"billing_plan":{"kind":1.5}})", Reason::kWrongType, "billing_plan.kind"},
          {R"({"billing_plan":{"kind":true}})", Reason::kWrongType, "billing_plan.kind"},
          {R"({"billing_plan":{"period_days":{}}})", Reason::kWrongType,
           "billing_plan.period_days"},
          {R"({"billing_plan":{"milestones":[5]}})", Reason::kWrongType,
           "billing_plan.milestones[0]"},
          {R"({"billing_plan":{"milestones":[{"amount_minor":"x"}]}})", Reason::kWrongType,
           "billing_plan.milestones[0].amount_minor"},
      });
}

TEST(JsonError, AFieldGivenTwiceIsDuplicateField) {
  ExpectCases(
      DocType::kDeal,
      {
          // protobuf's parser alone keeps "y" without a word.
          {R"({"tenant_id":"t","deal_id":"x","deal_id":"y"})", Reason::kDuplicateField, "deal_id"},
          {R"({"currency":"USD","tenant_id":"t","currency":"EUR"})", Reason::kDuplicateField,
           "currency"},
          // Alone, it reports this as a type error naming no field.
          {R"({"amount_minor":5,"amountMinor":6})", Reason::kDuplicateField, "amount_minor"},
          {R"({"amountMinor":5,"amount_minor":5})", Reason::kDuplicateField, "amountMinor"},
          {R"({"billing_plan":{"milestones":[{},{"amount_minor":"1","amount_minor":"2"}]}})",
           Reason::kDuplicateField, "billing_plan.milestones[1].amount_minor"},
          {R"({"billing_plan":{"kind":"MILESTONES","kind":"RECURRING"}})", Reason::kDuplicateField,
           "billing_plan.kind"},
          // Unknown fields too: which one was meant is as unclear.
          {R"({"x":1,"x":1})", Reason::kDuplicateField, "x"},
      });
}

TEST(JsonError, DuplicateFieldInLooksOnlyWithinOneObject) {
  EXPECT_EQ(DuplicateFieldIn(R"({"a":{"b":1},"c":{"b":1},"d":[{"b":1},{"b":2}]})"), std::nullopt);
  EXPECT_EQ(DuplicateFieldIn(R"({"ab":1,"a_b":2,"aB":3})")->field, "a_b");  // JSON names agree
  EXPECT_EQ(DuplicateFieldIn(R"({"ab":1,"Ab":2})"), std::nullopt);  // names are case-sensitive
  // Text that is no JSON is left to the parser, which says why, even when
  // a key repeats before the error.
  EXPECT_EQ(DuplicateFieldIn(R"({"a":1,"a":)"), std::nullopt);
  EXPECT_EQ(DuplicateFieldIn("[1,2]"), std::nullopt);
  ExpectCases(DocType::kDeal, {{R"({"a":1,"a":)", Reason::kMalformedJson, ""}});
}

TEST(JsonError, DuplicateFieldInFindsOneRepeatAmongManyKeys) {
  // 200,000 distinct keys and one repeat at the end (the keys are sorted
  // once, not compared pairwise).
  std::string json = "{";
  for (int i = 0; i < 200'000; ++i) json += "\"k" + std::to_string(i) + "\":1,";
  json += "\"k7\":2}";
  const std::optional<Rejection> found = DuplicateFieldIn(json);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->field, "k7");
}

TEST(JsonError, BrokenEscapeIsInvalidUtf8) {
  ExpectCases(DocType::kDeal, {
                                  {R"({"tenant_id":"\ud800"})", Reason::kInvalidUtf8, ""},
                                  {R"({"tenant_id":"\ud800\u0041"})", Reason::kInvalidUtf8, ""},
                              });
}

TEST(JsonError, MessagesQuoteBadValuesShortly) {
  const std::string long_value(500, 'z');
  const Rejection rejection = testing::Rejected(
      testing::DecodeJson(DocType::kDeal, R"({"amount_minor":")" + long_value + R"("})"));
  EXPECT_EQ(rejection.reason, Reason::kWrongType);
  EXPECT_LT(rejection.message.size(), 200u) << rejection.message;
  EXPECT_NE(rejection.message.find("..."), std::string::npos) << rejection.message;
}

TEST(JsonError, UnknownKeyLookingLikeAValueErrorStaysUnknownField) {
  // The key is input: text in it must not steer the classification.
  ExpectCases(DocType::kDeal, {{R"({"x: invalid value 1 for type TYPE_INT64":1})",
                                Reason::kUnknownField, "x: invalid value 1 for type TYPE_INT64"}});
}

// A key that starts like the parser's "(path) " prefix is still the key:
// only field names, dots and indexes make a path.
TEST(JsonError, UnknownKeyInParenthesesIsNotTakenForAPath) {
  ExpectCases(DocType::kDeal, {{R"({"(a b) c":1})", Reason::kUnknownField, "(a b) c"}});
}

// What lands in DLQ headers stays short however long a hostile key is.
TEST(JsonError, LongKeysAreCutInTheFieldName) {
  const std::string key(500, 'k');
  const Rejection unknown =
      testing::Rejected(testing::DecodeJson(DocType::kDeal, "{\"" + key + "\":1}"));
  EXPECT_EQ(unknown.reason, Reason::kUnknownField);
  EXPECT_LE(unknown.field.size(), kMaxFieldNameBytes + 3) << unknown.field;
  EXPECT_EQ(unknown.field.rfind("kkk", 0), 0u) << unknown.field;
  const std::optional<Rejection> twice = DuplicateFieldIn("{\"" + key + "\":1,\"" + key + "\":2}");
  ASSERT_TRUE(twice.has_value());
  EXPECT_EQ(twice->reason, Reason::kDuplicateField);
  EXPECT_LE(twice->field.size(), kMaxFieldNameBytes + 3) << twice->field;
}

// The message says what the field takes: an int32 is not an int64.
TEST(JsonError, WrongTypeMessagesNameTheRangeOfTheField) {
  const Rejection terms = testing::Rejected(
      testing::DecodeJson(DocType::kDeal, R"({"payment_terms_days":3000000000})"));
  EXPECT_NE(terms.message.find("an integer from -2^31 to 2^31-1"), std::string::npos)
      << terms.message;
  const Rejection amount =
      testing::Rejected(testing::DecodeJson(DocType::kDeal, R"({"amount_minor":"abc"})"));
  EXPECT_NE(amount.message.find("an integer from -2^63 to 2^63-1"), std::string::npos)
      << amount.message;
}

// JSON that is no object says so, rather than quoting the parser.
TEST(JsonError, JsonThatIsNotAnObjectSaysSo) {
  const Rejection rejection = testing::Rejected(testing::DecodeJson(DocType::kOrder, "42"));
  EXPECT_EQ(rejection.message, "the record is a JSON number where a JSON object was expected");
}

TEST(JsonError, ClassifiesUnexpectedTextAsMalformedJson) {
  EXPECT_EQ(ClassifyJsonError("JSON transcoder produced invalid protobuf output.").reason,
            Reason::kMalformedJson);
  EXPECT_EQ(ClassifyJsonError("").reason, Reason::kMalformedJson);
}

}  // namespace
}  // namespace closeloop::ingest
