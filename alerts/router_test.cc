#include "alerts/router.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace closeloop::alerts {
namespace {

matcher::ExceptionRecord Record(const std::string& id, const std::string& route_topic) {
  matcher::ExceptionRecord r;
  r.exception_id = id;
  r.tenant = {"acme"};
  r.kind = matcher::ExceptionKind::kUnpaid;
  r.invoice = {"INV-9"};
  r.team = "collections-emea";
  r.topic = route_topic;
  r.amount_at_risk_minor = 200'000;
  r.currency = "USD";
  r.sequence = 1;
  return r;
}

std::vector<std::pair<std::string, std::string>> TopicsAndKeys(
    const std::vector<state::OutboxRecord>& out) {
  std::vector<std::pair<std::string, std::string>> v;
  for (const state::OutboxRecord& r : out) v.emplace_back(r.topic, r.key);
  return v;
}

const matcher::EventTime kDetected(std::chrono::sys_days(std::chrono::year{2026} / 3 / 2));

// SPEC §5: each record on the exceptions topic keyed by exception_id; a
// route with a topic of its own gets a copy, one without a topic (or naming
// the exceptions topic itself) none.
TEST(Router, RecordsGoToTheExceptionsTopicKeyedByIdAndTheirRouteGetsACopy) {
  const Router router("closeloop.exceptions", Encoding::kJson);
  std::vector<state::OutboxRecord> out;
  router.Append(
      {Record("acme:UNPAID:INV-9:1", "collections.emea"), Record("acme:UNPAID:INV-8:1", ""),
       Record("acme:UNPAID:INV-7:1", "closeloop.exceptions")},
      kDetected, out);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(TopicsAndKeys(out), (std::vector<P>{{"closeloop.exceptions", "acme:UNPAID:INV-9:1"},
                                                {"collections.emea", "acme:UNPAID:INV-9:1"},
                                                {"closeloop.exceptions", "acme:UNPAID:INV-8:1"},
                                                {"closeloop.exceptions", "acme:UNPAID:INV-7:1"}}));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].value, EncodeJson(Record("acme:UNPAID:INV-9:1", ""), kDetected));
  EXPECT_EQ(out[1].value, out[0].value) << "the copy is the same record";
  EXPECT_NE(out[0].value.find(R"("detected_at":"2026-03-02T00:00:00Z")"), std::string::npos)
      << out[0].value;
}

// topics.exceptions_format: protobuf writes the record as protobuf binary.
TEST(Router, ProtobufFormatWritesTheRecordAsProtobuf) {
  const Router router("closeloop.exceptions", Encoding::kProtobuf);
  std::vector<state::OutboxRecord> out;
  router.Append({Record("acme:UNPAID:INV-9:1", "")}, kDetected, out);
  ASSERT_EQ(out.size(), 1u);
  v1::ExceptionRecord back;
  ASSERT_TRUE(back.ParseFromString(out[0].value));
  EXPECT_EQ(back.exception_id(), "acme:UNPAID:INV-9:1");
  EXPECT_EQ(back.kind(), v1::ExceptionRecord::UNPAID);
  EXPECT_EQ(back.amount_at_risk_minor(), 200'000);
  EXPECT_EQ(back.detected_at().seconds(), 1772409600);

  v1::ExceptionRecord operational;
  operational.set_exception_id("closeloop:SOURCE_STALLED:billing:1");
  router.Append(operational, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].topic, "closeloop.exceptions");
  EXPECT_EQ(out[1].key, "closeloop:SOURCE_STALLED:billing:1");
  ASSERT_TRUE(back.ParseFromString(out[1].value));
  EXPECT_EQ(back.exception_id(), "closeloop:SOURCE_STALLED:billing:1");
}

}  // namespace
}  // namespace closeloop::alerts
