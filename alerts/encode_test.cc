#include "alerts/encode.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <random>

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

// Random records: strings over printable ASCII, with now and then a byte
// the direct writer leaves to the printer (controls, '"', '\\', '<', '>',
// UTF-8 of several lengths); times around 1970, across the years, at the
// ends of Timestamp's range and beyond them; amounts of every size;
// confidences.
class RandomRecords {
 public:
  explicit RandomRecords(uint32_t seed) : rng_(seed) {}

  matcher::ExceptionRecord Next(bool plain) {
    matcher::ExceptionRecord r;
    r.exception_id = Text(plain);
    r.tenant = {Text(plain)};
    r.kind = static_cast<matcher::ExceptionKind>(Pick(9));
    r.state = static_cast<matcher::ExceptionState>(Pick(6));
    r.resolution = static_cast<matcher::Resolution>(Pick(5));
    r.superseded_by = Text(plain);
    r.deal = {Text(plain)};
    r.order = {Text(plain)};
    r.invoice = {Text(plain)};
    r.customer = {Text(plain)};
    r.customer_name = Text(plain);
    r.owner = Text(plain);
    r.team = Text(plain);
    r.severity = static_cast<matcher::Severity>(Pick(4));
    r.amount_at_risk_minor = Int64();
    r.recovered_minor = Int64();
    r.currency = Text(plain);
    r.deadline = Time();
    r.opened_at = Time();
    r.effective_at = Time();
    r.age_days = Int64();
    r.time_weighted_loss = Int64();
    const double confidences[] = {1.0, 0.8, 0.0, 1.0 / 3, 0.1 + 0.2, 1e-9, 123456.789, 2.5e300};
    r.confidence =
        Pick(2) ? confidences[Pick(8)] : std::uniform_real_distribution<double>(0, 1)(rng_);
    r.reason = Text(plain);
    r.sequence = Pick(2) ? Pick(20) : rng_();
    r.note = Text(plain);
    return r;
  }
  matcher::EventTime Time() {
    const int64_t ends[] = {-62'135'596'800'000, 253'402'300'799'999, 0, -1, 999};
    const int64_t beyond[] = {-62'135'596'800'001, 253'402'300'800'000, INT64_MIN / 2,
                              INT64_MAX / 2};
    int64_t ms;
    if (Pick(20) == 0) {
      ms = beyond[Pick(4)];  // written as the range's ends
    } else if (Pick(10) == 0) {
      ms = ends[Pick(5)];
    } else {
      ms = std::uniform_int_distribution<int64_t>(-62'135'596'800'000, 253'402'300'799'999)(rng_);
      if (Pick(2)) ms -= ms % 1000;  // whole seconds print no fraction
    }
    return matcher::EventTime(matcher::Duration(ms));
  }

 private:
  uint32_t Pick(uint32_t n) { return rng_() % n; }
  int64_t Int64() {
    const int64_t ends[] = {0, -1, INT64_MIN, INT64_MAX, 1'200'000};
    return Pick(4) == 0 ? ends[Pick(5)] : static_cast<int64_t>(rng_() << 32 | rng_());
  }
  std::string Text(bool plain) {
    static const char* const kOdd[] = {"\n",
                                       "\t",
                                       "\x01",
                                       "\x7f",
                                       "\"",
                                       "\\",
                                       "<",
                                       ">",
                                       "\xc3\xa9",
                                       "\xe2\x80\xa8",
                                       "\xf0\x9f\x98\x80"};
    std::string s;
    const uint32_t n = Pick(24);
    for (uint32_t i = 0; i < n; ++i) {
      if (!plain && Pick(12) == 0) {
        s += kOdd[Pick(std::size(kOdd))];
      } else {
        // Printable ASCII but the four the writer leaves to the printer.
        char c;
        do {
          c = static_cast<char>(0x20 + Pick(95));
        } while (c == '"' || c == '\\' || c == '<' || c == '>');
        s += c;
      }
    }
    return s;
  }
  std::mt19937 rng_;
};

std::string Printed(const matcher::ExceptionRecord& r, matcher::EventTime detected_at) {
  return Encode(ToProto(r, detected_at), Encoding::kJson);
}

TEST(EncodeJson, DirectWriterPrintsWhatProtobufPrints) {
  RandomRecords gen(7);
  for (int i = 0; i < 20'000; ++i) {
    const matcher::ExceptionRecord r = gen.Next(/*plain=*/true);
    const matcher::EventTime detected_at = gen.Time();
    const std::optional<std::string> direct = DirectJson(r, detected_at);
    ASSERT_TRUE(direct.has_value()) << i;
    ASSERT_EQ(*direct, Printed(r, detected_at)) << i;
  }
}

TEST(EncodeJson, EveryPrintableAsciiCharacterTheWriterTakesIsPrintedAsIs) {
  matcher::ExceptionRecord r = Sample();
  for (int c = 0x20; c < 0x7f; ++c) {
    r.reason = std::string("a") + static_cast<char>(c) + "b";
    const std::optional<std::string> direct = DirectJson(r, matcher::EventTime{});
    if (direct) {
      EXPECT_EQ(*direct, Printed(r, matcher::EventTime{})) << c;
    }
    const bool left = c == '"' || c == '\\' || c == '<' || c == '>';
    EXPECT_EQ(!direct, left) << c;
  }
}

TEST(EncodeJson, AnyRecordEncodesAsProtobufPrintsIt) {
  RandomRecords gen(11);
  int direct = 0;
  for (int i = 0; i < 20'000; ++i) {
    const matcher::ExceptionRecord r = gen.Next(/*plain=*/false);
    const matcher::EventTime detected_at = gen.Time();
    direct += DirectJson(r, detected_at).has_value();
    ASSERT_EQ(EncodeJson(r, detected_at), Printed(r, detected_at)) << i;
  }
  EXPECT_GT(direct, 0);  // both ways were taken
  EXPECT_LT(direct, 20'000);
}

// Each value of the matcher's enums under its name in the contract; an
// unresolved record has no resolution (RESOLUTION_UNSPECIFIED).
TEST(Encode, EveryEnumValueHasItsContractName) {
  using P = v1::ExceptionRecord;
  const P::Kind kinds[] = {P::NOT_BILLABLE, P::MISSING_ORDER, P::MISSING_INVOICE,
                           P::UNDER_BILLED, P::OVER_BILLED,   P::TERMS_MISMATCH,
                           P::UNPAID,       P::ORPHAN_ORDER,  P::ORPHAN_INVOICE};
  const P::State states[] = {P::OPEN,     P::UPDATED,      P::ESCALATED,
                             P::RESOLVED, P::ACKNOWLEDGED, P::SNOOZED};
  const P::Resolution resolutions[] = {P::RESOLUTION_UNSPECIFIED, P::RECOVERED, P::SUPERSEDED,
                                       P::WITHDRAWN, P::DISMISSED};
  const P::Severity severities[] = {P::P1, P::P2, P::P3, P::P4};
  matcher::ExceptionRecord r = Sample();
  for (int i = 0; i < 9; ++i) {
    r.kind = static_cast<matcher::ExceptionKind>(i);
    r.state = static_cast<matcher::ExceptionState>(i % 6);
    r.resolution = static_cast<matcher::Resolution>(i % 5);
    r.severity = static_cast<matcher::Severity>(i % 4);
    const P p = ToProto(r, matcher::EventTime{});
    EXPECT_EQ(p.kind(), kinds[i]) << i;
    EXPECT_EQ(p.state(), states[i % 6]) << i;
    EXPECT_EQ(p.resolution(), resolutions[i % 5]) << i;
    EXPECT_EQ(p.severity(), severities[i % 4]) << i;
  }
  const std::string json = EncodeJson(Sample(), matcher::EventTime{});
  EXPECT_NE(json.find(R"("resolution":"RESOLUTION_UNSPECIFIED")"), std::string::npos) << json;
}

// Timestamp's range is years 1 to 9999: a time at either end is written as
// it is, to the millisecond; one beyond it as the end it passed.
TEST(EncodeJson, TimesAtAndBeyondTimestampsRangeAreWrittenAsItsEnds) {
  const auto at = [](int64_t ms) { return matcher::EventTime(matcher::Duration(ms)); };
  matcher::ExceptionRecord r = Sample();
  const std::pair<int64_t, const char*> cases[] = {
      {253'402'300'799'999, "9999-12-31T23:59:59.999Z"},
      {253'402'300'800'000, "9999-12-31T23:59:59.999Z"},
      {-62'135'596'800'000, "0001-01-01T00:00:00Z"},
      {-62'135'596'800'001, "0001-01-01T00:00:00Z"}};
  for (const auto& [ms, text] : cases) {
    r.deadline = at(ms);
    const std::string json = EncodeJson(r, at(ms));
    EXPECT_NE(json.find(std::string(R"("deadline":")") + text + '"'), std::string::npos)
        << ms << " " << json;
    EXPECT_NE(json.find(std::string(R"("detected_at":")") + text + '"'), std::string::npos)
        << ms << " " << json;
  }
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
  const auto open = SourceStalledRecord("billing", "billing.invoices", since, std::chrono::hours(6),
                                        since + 2 * matcher::kDay, false);
  EXPECT_EQ(open.exception_id(), "closeloop:SOURCE_STALLED:billing:1772323200000");
  EXPECT_EQ(open.kind(), v1::ExceptionRecord::SOURCE_STALLED);
  EXPECT_EQ(open.state(), v1::ExceptionRecord::OPEN);
  EXPECT_EQ(open.team(), "platform");
  EXPECT_EQ(open.sequence(), 1u);
  EXPECT_EQ(open.age_days(), 2);
  // Every record has its deadline (SPEC §5): here when the silence limit ran out.
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(open.deadline()), "2026-03-01T06:00:00Z");
  EXPECT_NE(open.reason().find("billing.invoices) has received nothing since 2026-03-01T00:00:00Z"),
            std::string::npos)
      << open.reason();
  const auto resumed = SourceStalledRecord("billing", "billing.invoices", since,
                                           std::chrono::hours(6), since + 3 * matcher::kDay, true);
  EXPECT_EQ(resumed.exception_id(), open.exception_id());
  EXPECT_EQ(resumed.state(), v1::ExceptionRecord::RESOLVED);
  EXPECT_EQ(resumed.sequence(), 2u);
  EXPECT_EQ(resumed.deadline(), open.deadline());
}

}  // namespace
}  // namespace closeloop::alerts
