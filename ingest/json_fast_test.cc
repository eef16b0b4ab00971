// The JSON fast path must agree with protobuf's parser on every record it
// takes, and must take the records producers usually write.
#include "ingest/json_fast.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <array>
#include <memory>

#include "ingest/decode_testing.h"

namespace closeloop::ingest {
namespace {

using google::protobuf::Message;
using testing::Json;

std::array<const Message*, 5> AllTypes() {
  return {&v1::Deal::default_instance(), &v1::Order::default_instance(),
          &v1::Invoice::default_instance(), &v1::Payment::default_instance(),
          &v1::Command::default_instance()};
}

// When the fast path takes `json` as `type`, protobuf must accept it too and
// build the same message. Returns whether the fast path took it.
bool ExpectAgreement(const Message& type, const std::string& json) {
  std::unique_ptr<Message> fast(type.New());
  if (!ParsePlainJson(json, *fast)) return false;
  std::unique_ptr<Message> slow(type.New());
  const auto status = google::protobuf::util::JsonStringToMessage(json, slow.get());
  EXPECT_TRUE(status.ok()) << type.GetTypeName() << " " << json << ": " << status.ToString();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*fast, *slow))
      << type.GetTypeName() << " " << json << "\nfast: " << fast->ShortDebugString()
      << "\nslow: " << slow->ShortDebugString();
  return true;
}

TEST(PlainJson, TakesWhatProducersWriteAndAgreesWithProtobuf) {
  v1::Deal milestones = testing::ValidDeal();
  milestones.mutable_billing_plan()->set_kind(v1::BillingPlan::MILESTONES);
  for (const int64_t amount : {0, 100000, 20000}) {
    auto* milestone = milestones.mutable_billing_plan()->add_milestones();
    *milestone->mutable_due_time() = testing::Time("2024-04-01T00:00:00.000000001Z");
    milestone->set_amount_minor(amount);
  }
  v1::Deal recurring = testing::ValidDeal();
  recurring.mutable_billing_plan()->set_kind(v1::BillingPlan::RECURRING);
  recurring.mutable_billing_plan()->set_period_days(30);
  recurring.mutable_billing_plan()->set_periods(12);
  v1::Invoice zero = testing::ValidInvoice();
  zero.set_amount_minor(0);
  const v1::Order order = testing::ValidOrder();
  const v1::Payment payment = testing::ValidPayment();
  const v1::Command command = testing::ValidCommand();
  const Message* const messages[] = {&milestones, &recurring, &order, &zero, &payment, &command};
  for (const Message* message : messages) {
    for (const bool snake_case : {true, false}) {
      const std::string json = Json(*message, snake_case);
      EXPECT_TRUE(ExpectAgreement(*message, json)) << "the fast path declined " << json;
    }
  }
}

TEST(PlainJson, AgreesWithProtobufOnEdgeCases) {
  const std::string records[] = {
      R"({})",
      R"(  {"tenant_id" : "t" ,  "deal_id":"d"}  )",
      R"({"tenant_id":"caf\u00e9 \ud83d\ude80 \"q\" \\ \/ \b\f\n\r\t"})",
      R"({"tenant_id":"nul\u0000inside"})",
      R"({"tenant_id":""})",
      R"({"amount_minor":0})",
      R"({"amount_minor":"0"})",
      R"({"amount_minor":-0})",
      R"({"amount_minor":"-17"})",
      R"({"amount_minor":9223372036854775807})",
      R"({"amount_minor":-9223372036854775808})",
      R"({"amount_minor":"9223372036854775807"})",
      R"({"amount_minor":"-9223372036854775808"})",
      R"({"amount_minor":"007"})",
      R"({"amount_minor":"+7"})",
      R"({"amount_minor":7.0})",
      R"({"amountMinor":12, "paymentTermsDays": 45})",
      R"({"payment_terms_days":2147483647})",
      R"({"payment_terms_days":-2147483648})",
      R"({"payment_terms_days":"30"})",
      R"({"close_time":"1970-01-01T00:00:00Z"})",
      R"({"close_time":"2024-03-01T10:00:00+02:00"})",
      R"({"close_time":"2024-03-01T10:00:00.5-07:30"})",
      R"({"close_time":"0001-01-01T00:00:00Z","event_time":"9999-12-31T23:59:59.999999999Z"})",
      R"({"close_time":"2024-03-01 10:00:00Z"})",
      R"({"close_time":"2024-03-01T10:00:00z"})",
      R"({"close_time":null})",
      R"({"billing_plan":{}})",
      R"({"billing_plan":{"kind":0}})",
      R"({"billing_plan":{"kind":17}})",
      R"({"billing_plan":{"kind":-3}})",
      R"({"billing_plan":{"kind":"KIND_UNSPECIFIED"}})",
      R"({"billing_plan":{"milestones":[]}})",
      R"({"billing_plan":{"milestones":[{}, {"amount_minor":1}]}})",
      R"({"billingPlan":{"kind":"MILESTONES","milestones":[{"dueTime":"2024-01-01T00:00:00Z"}]}})",
      R"({"billing_plan":{"milestones":{"amount_minor":"12"}}})",
      R"({"status":"CANCELLED","event_time":"2024-01-01T00:00:00Z"})",
      R"({"status":2})",
      R"({"status":4294967297})",
      R"({"billing_plan":{"kind":-4294967295}})",
      R"({"billing_plan":[]})",
      R"({"kind":"CREDIT_MEMO","status":"VOID"})",
      R"({"action":"SNOOZE","snooze_until":"2024-05-01T00:00:00Z","note":"n"})",
      R"({"tenant_id":"a","tenant_id":"b"})",
      R"({"tenant_id":"a","tenantId":"b"})",
      R"({"billing_plan":{"kind":"ONE_TIME"},"billing_plan":{"period_days":3}})",
      R"({"tenant_id":'a'})",
      R"({tenant_id:"a"})",
      R"({"tenant_id":"a",})",
      R"({"tenant_id":"\x41"})",
      R"({"tenant_id":"\ud800"})",
      "{\"tenant_id\":\"tab\tinside\"}",
      "\xEF\xBB\xBF{\"tenant_id\":\"t\"}",
      R"({"tenant_id":"t"} {})",
      R"([{"tenant_id":"t"}])",
      R"({"bogus":1})",
      R"({"TENANT_ID":"t"})",
  };
  int taken = 0;
  for (const std::string& json : records) {
    for (const Message* type : AllTypes()) taken += ExpectAgreement(*type, json) ? 1 : 0;
  }
  // Most records above belong to one type only, but some must be taken.
  EXPECT_GT(taken, 30);
}

TEST(PlainJson, LeavesUnusualShapesToProtobuf) {
  const std::string declined[] = {
      R"({"tenant_id":null})",                                  // null: protobuf's default rules
      R"({"amount_minor":1.0})",                                // a float for an integer
      R"({"amount_minor":"007"})",                              // not a canonical integer
      R"({"tenant_id":"a","tenant_id":"b"})",                   // a repeated key
      R"({"close_time":{"seconds":1}})",                        // a Timestamp as an object
      R"({"billing_plan":{"kind":"one_time"}})",                // an enum name the contract lacks
      R"({"close_time":"yesterday"})",                          // not a time
      R"({"bogus":1})",                                         // a key the contract lacks
      "\xEF\xBB\xBF{\"tenant_id\":\"t\"}",                      // a byte-order mark
      R"({"billing_plan":{"milestones":{"amount_minor":1}}})",  // an object for a list
      R"({"billing_plan":[]})",                                 // a list for an object
      R"({"billing_plan":{"kind":4294967297}})",                // an enum number past int32
      R"({"tenant_id":"t"} {})",                                // trailing input
  };
  for (const std::string& json : declined) {
    v1::Deal deal;
    EXPECT_FALSE(ParsePlainJson(json, deal)) << json;
  }
}

}  // namespace
}  // namespace closeloop::ingest
