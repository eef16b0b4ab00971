#include "alerts/encode.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

namespace closeloop::alerts {
namespace {

matcher::ExceptionRecord Sample() {
  matcher::ExceptionRecord r;
  r.exception_id = "acme:MISSING_INVOICE:D-17:1";
  r.tenant = {"acme"};
  r.kind = matcher::ExceptionKind::kMissingInvoice;
  r.deal = {"D-17"};
  r.team = "billing";
  r.severity = matcher::Severity::kP2;
  r.amount_at_risk_minor = 1'200'000;
  r.currency = "USD";
  r.deadline = matcher::EventTime(std::chrono::sys_days(std::chrono::year{2026} / 3 / 2));
  r.sequence = 3;
  r.reason = "Deal D-17 has no invoice.";
  return r;
}

TEST(Encode, JsonUsesContractNamesAndPrintsEveryField) {
  const std::string json = Encode(ToProto(Sample(), matcher::EventTime{}), Encoding::kJson);
  EXPECT_NE(json.find(R"("exception_id":"acme:MISSING_INVOICE:D-17:1")"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("kind":"MISSING_INVOICE")"), std::string::npos);
  EXPECT_NE(json.find(R"("state":"OPEN")"), std::string::npos);
  EXPECT_NE(json.find(R"("severity":"P2")"), std::string::npos);
  // proto3 JSON writes 64-bit integers as strings.
  EXPECT_NE(json.find(R"("amount_at_risk_minor":"1200000")"), std::string::npos);
  EXPECT_NE(json.find(R"("recovered_minor":"0")"), std::string::npos);
  EXPECT_NE(json.find(R"("deadline":"2026-03-02T00:00:00Z")"), std::string::npos);
  EXPECT_NE(json.find(R"("order_id":"")"), std::string::npos);
}

TEST(Encode, ProtobufRoundTrips) {
  const v1::ExceptionRecord proto = ToProto(Sample(), matcher::EventTime{});
  v1::ExceptionRecord back;
  ASSERT_TRUE(back.ParseFromString(Encode(proto, Encoding::kProtobuf)));
  EXPECT_EQ(back.sequence(), 3u);
  EXPECT_EQ(back.amount_at_risk_minor(), 1'200'000);
  EXPECT_EQ(back.kind(), v1::ExceptionRecord::MISSING_INVOICE);
}

}  // namespace
}  // namespace closeloop::alerts

#include "alerts/operational.h"

namespace closeloop::alerts {
namespace {

TEST(SourceStalled, OpensWhenSilentAndResolvesOnResume) {
  const matcher::EventTime since(std::chrono::sys_days(std::chrono::year{2026} / 3 / 1));
  const auto open =
      SourceStalledRecord("billing", "billing.invoices", since, since + 2 * matcher::kDay, false);
  EXPECT_EQ(open.exception_id(), "closeloop:SOURCE_STALLED:billing:1772323200000");
  EXPECT_EQ(open.kind(), v1::ExceptionRecord::SOURCE_STALLED);
  EXPECT_EQ(open.state(), v1::ExceptionRecord::OPEN);
  EXPECT_EQ(open.team(), "platform");
  EXPECT_EQ(open.sequence(), 1u);
  EXPECT_EQ(open.age_days(), 2);
  EXPECT_NE(open.reason().find("billing.invoices) has received nothing since 2026-03-01T00:00:00Z"),
            std::string::npos)
      << open.reason();
  const auto resumed =
      SourceStalledRecord("billing", "billing.invoices", since, since + 3 * matcher::kDay, true);
  EXPECT_EQ(resumed.exception_id(), open.exception_id());
  EXPECT_EQ(resumed.state(), v1::ExceptionRecord::RESOLVED);
  EXPECT_EQ(resumed.sequence(), 2u);
}

}  // namespace
}  // namespace closeloop::alerts
