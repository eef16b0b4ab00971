#include "app/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace closeloop::app {
namespace {

using matcher::EventTime;
using matcher::ExceptionKind;
using matcher::ExceptionRecord;
using matcher::ExceptionState;
using matcher::kDay;
using ::testing::HasSubstr;
using ::testing::Not;

EventTime Day(int n) { return EventTime(std::chrono::milliseconds(1772409600000LL)) + n * kDay; }

// The sample lines starting with `prefix`, sorted (series order is the
// registry's).
std::vector<std::string> Samples(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

ExceptionRecord Rec(const std::string& id, const std::string& tenant, ExceptionKind kind,
                    ExceptionState state, int64_t amount, int opened_day) {
  ExceptionRecord r;
  r.exception_id = id;
  r.tenant.value = tenant;
  r.kind = kind;
  r.state = state;
  r.team = kind == ExceptionKind::kUnpaid ? "collections" : "billing";
  r.currency = "USD";
  r.amount_at_risk_minor = amount;
  r.opened_at = Day(opened_day);
  return r;
}

class MetricsTest : public ::testing::Test {
 protected:
  Metrics metrics_{{.tenants = {"acme"}, .trailing_period = 90 * kDay}};
  PipelineStats stats_;
  Books books_;
  PipelineProbe probe_;

  void SetUp() override {
    probe_.now = Day(100);
    for (auto& w : probe_.watermarks) w = matcher::kMinTime;
  }
};

TEST_F(MetricsTest, CountersCarryThePipelineStats) {
  stats_.consumed[{"crm.deals", "deal"}] = 7;
  stats_.consumed[{"closeloop.commands", "command"}] = 2;
  stats_.dead_letters["malformed_json"] = 3;
  stats_.decode_failures[{"crm.deals", "malformed_json"}] = 3;
  metrics_.Refresh(stats_, books_, probe_);
  stats_.consumed[{"crm.deals", "deal"}] = 9;
  metrics_.Refresh(stats_, books_, probe_);
  const std::string text = metrics_.Text();
  EXPECT_EQ(Samples(text, "closeloop_events_consumed_total"),
            (std::vector<std::string>{
                R"(closeloop_events_consumed_total{topic="closeloop.commands",type="command"} 2)",
                R"(closeloop_events_consumed_total{topic="crm.deals",type="deal"} 9)"}));
  EXPECT_EQ(Samples(text, "closeloop_dlq_records_total"),
            std::vector<std::string>{R"(closeloop_dlq_records_total{reason="malformed_json"} 3)"});
  EXPECT_EQ(Samples(text, "closeloop_decode_failures_total"),
            std::vector<std::string>{
                R"(closeloop_decode_failures_total{reason="malformed_json",topic="crm.deals"} 3)"});
  EXPECT_THAT(text, HasSubstr("# TYPE closeloop_events_consumed_total counter"));
}

TEST(Metrics, DeadLetterReasonsStartAtZero) {
  Metrics metrics({.dlq_reasons = {"bad_currency", "malformed_json"}});
  PipelineStats stats;
  stats.dead_letters["malformed_json"] = 2;
  PipelineProbe probe{.now = Day(100)};
  metrics.Refresh(stats, Books(), probe);
  EXPECT_EQ(
      Samples(metrics.Text(), "closeloop_dlq_records_total"),
      (std::vector<std::string>{R"(closeloop_dlq_records_total{reason="bad_currency"} 0)",
                                R"(closeloop_dlq_records_total{reason="malformed_json"} 2)"}));
}

TEST_F(MetricsTest, OpenExceptionsByTenantKindTeamAndAge) {
  books_.Apply(Rec("a1", "acme", ExceptionKind::kUnpaid, ExceptionState::kOpen, 1'200'000, 95));
  books_.Apply(Rec("a2", "acme", ExceptionKind::kUnpaid, ExceptionState::kOpen, 50, 40));
  books_.Apply(Rec("z1", "zeta", ExceptionKind::kUnpaid, ExceptionState::kOpen, 1'000, 99));
  books_.Apply(Rec("y1", "yota", ExceptionKind::kUnpaid, ExceptionState::kOpen, 2'000, 99));
  metrics_.Refresh(stats_, books_, probe_);
  std::string text = metrics_.Text();
  EXPECT_EQ(
      Samples(text, "closeloop_open_exceptions{"),
      (std::vector<std::string>{
          R"(closeloop_open_exceptions{kind="UNPAID",team="collections",tenant="acme"} 2)",
          R"(closeloop_open_exceptions{kind="UNPAID",team="collections",tenant="other"} 2)"}));
  EXPECT_EQ(
      Samples(text, "closeloop_amount_at_risk"),
      (std::vector<std::string>{
          R"(closeloop_amount_at_risk{currency="USD",kind="UNPAID",team="collections",tenant="acme"} 12000.5)",
          R"(closeloop_amount_at_risk{currency="USD",kind="UNPAID",team="collections",tenant="other"} 30)"}));
  EXPECT_EQ(Samples(text, "closeloop_open_exceptions_by_age"),
            (std::vector<std::string>{
                R"(closeloop_open_exceptions_by_age{age_bucket="0-7",kind="UNPAID"} 3)",
                R"(closeloop_open_exceptions_by_age{age_bucket="31-90",kind="UNPAID"} 1)"}));
  // Every kind's series exists from the start, at 0 until counted; a
  // recovered series from the first exception open for its tenant, kind and
  // currency (increase() cannot count the step from no series to a value).
  const auto opened = Samples(text, "closeloop_exceptions_opened_total");
  EXPECT_EQ(opened.size(), 9u);
  EXPECT_THAT(opened, ::testing::Contains(R"(closeloop_exceptions_opened_total{kind="UNPAID"} 4)"));
  EXPECT_THAT(opened,
              ::testing::Contains(R"(closeloop_exceptions_opened_total{kind="ORPHAN_ORDER"} 0)"));
  EXPECT_EQ(Samples(text, "closeloop_exceptions_resolved_total").size(), 36u);
  EXPECT_THAT(
      Samples(text, "closeloop_recovered_amount_total"),
      ::testing::ElementsAre(
          R"(closeloop_recovered_amount_total{currency="USD",kind="UNPAID",tenant="acme"} 0)",
          R"(closeloop_recovered_amount_total{currency="USD",kind="UNPAID",tenant="other"} 0)"));

  // Resolving a1 as recovered: its series shrink, the resolution is counted.
  ExceptionRecord done =
      Rec("a1", "acme", ExceptionKind::kUnpaid, ExceptionState::kResolved, 0, 95);
  done.resolution = matcher::Resolution::kRecovered;
  done.recovered_minor = 1'200'000;
  books_.Apply(done);
  ExceptionRecord withdrawn =
      Rec("a2", "acme", ExceptionKind::kUnpaid, ExceptionState::kResolved, 0, 40);
  withdrawn.resolution = matcher::Resolution::kWithdrawn;
  books_.Apply(withdrawn);
  metrics_.Refresh(stats_, books_, probe_);
  text = metrics_.Text();
  EXPECT_EQ(Samples(text, "closeloop_open_exceptions{"),
            std::vector<std::string>{
                R"(closeloop_open_exceptions{kind="UNPAID",team="collections",tenant="other"} 2)"});
  EXPECT_THAT(
      Samples(text, "closeloop_recovered_amount_total"),
      ::testing::ElementsAre(
          R"(closeloop_recovered_amount_total{currency="USD",kind="UNPAID",tenant="acme"} 12000)",
          R"(closeloop_recovered_amount_total{currency="USD",kind="UNPAID",tenant="other"} 0)"));
  const auto resolved = Samples(text, "closeloop_exceptions_resolved_total");
  EXPECT_THAT(
      resolved,
      ::testing::Contains(
          R"(closeloop_exceptions_resolved_total{kind="UNPAID",resolution="RECOVERED"} 1)"));
  EXPECT_THAT(
      resolved,
      ::testing::Contains(
          R"(closeloop_exceptions_resolved_total{kind="UNPAID",resolution="WITHDRAWN"} 1)"));
  EXPECT_THAT(
      resolved,
      ::testing::Contains(
          R"(closeloop_exceptions_resolved_total{kind="UNPAID",resolution="DISMISSED"} 0)"));
}

TEST_F(MetricsTest, BooksAndRealizationInMajorUnits) {
  matcher::DealFigures old;
  old.currency = "USD";
  old.booked = true;
  old.closed_at = Day(0);  // outside the 90-day trailing period
  old.booked_minor = old.billed_minor = 1'000'000;
  matcher::DealFigures recent = old;
  recent.closed_at = Day(50);
  recent.booked_minor = 2'000'000;
  recent.billed_minor = 2'000'000;
  recent.collected_minor = 1'500'000;
  books_.Apply(matcher::FiguresChange{{"acme"}, {"D-1"}, std::nullopt, old, Day(0)});
  books_.Apply(matcher::FiguresChange{{"acme"}, {"D-2"}, std::nullopt, recent, Day(50)});
  metrics_.Refresh(stats_, books_, probe_);
  const std::string text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("closeloop_booked_amount{currency=\"USD\",tenant=\"acme\"} 30000\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_billed_amount{currency=\"USD\",tenant=\"acme\"} 30000\n"));
  EXPECT_THAT(text,
              HasSubstr("closeloop_collected_amount{currency=\"USD\",tenant=\"acme\"} 15000\n"));
  EXPECT_THAT(text,
              HasSubstr("closeloop_realization_ratio{currency=\"USD\",tenant=\"acme\"} 0.75\n"));
  // The ratio's parts, which processes of a split deployment add up.
  EXPECT_THAT(
      text, HasSubstr("closeloop_period_booked_amount{currency=\"USD\",tenant=\"acme\"} 20000\n"));
  EXPECT_THAT(
      text,
      HasSubstr("closeloop_period_collected_amount{currency=\"USD\",tenant=\"acme\"} 15000\n"));
}

// Major units follow the currency's minor digits (JPY has none, BHD three);
// a deal closed on the period's first day is in the period; a tenant and
// currency with nothing booked in the period has no realization series.
TEST_F(MetricsTest, MajorUnitsByCurrencyAndTheTrailingPeriodsEdges) {
  matcher::DealFigures yen;
  yen.currency = "JPY";
  yen.booked = true;
  yen.closed_at = Day(10);  // now is day 100: the 90-day period starts on day 10
  yen.booked_minor = 50'000;
  yen.billed_minor = yen.collected_minor = 40'000;
  matcher::DealFigures dinar = yen;
  dinar.currency = "BHD";
  dinar.closed_at = Day(9);  // the day before the period
  dinar.booked_minor = 1'500;
  books_.Apply(matcher::FiguresChange{{"acme"}, {"D-1"}, std::nullopt, yen, Day(10)});
  books_.Apply(matcher::FiguresChange{{"acme"}, {"D-2"}, std::nullopt, dinar, Day(9)});
  metrics_.Refresh(stats_, books_, probe_);
  const std::string text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("closeloop_booked_amount{currency=\"JPY\",tenant=\"acme\"} 50000\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_booked_amount{currency=\"BHD\",tenant=\"acme\"} 1.5\n"));
  EXPECT_THAT(
      text, HasSubstr("closeloop_period_booked_amount{currency=\"JPY\",tenant=\"acme\"} 50000\n"));
  EXPECT_EQ(
      Samples(text, "closeloop_realization_ratio"),
      std::vector<std::string>{R"(closeloop_realization_ratio{currency="JPY",tenant="acme"} 0.8)"});
}

// Tenants not listed in the config share the label "other" in the book
// gauges too (SPEC §8: bounded label cardinality), their money added up.
TEST_F(MetricsTest, BooksOfUnlistedTenantsAreOther) {
  matcher::DealFigures f;
  f.currency = "USD";
  f.booked = true;
  f.closed_at = Day(50);
  f.booked_minor = f.billed_minor = f.collected_minor = 100'000;
  books_.Apply(matcher::FiguresChange{{"zeta"}, {"D-1"}, std::nullopt, f, Day(50)});
  books_.Apply(matcher::FiguresChange{{"yota"}, {"D-1"}, std::nullopt, f, Day(50)});
  metrics_.Refresh(stats_, books_, probe_);
  const std::string text = metrics_.Text();
  EXPECT_EQ(
      Samples(text, "closeloop_booked_amount"),
      std::vector<std::string>{R"(closeloop_booked_amount{currency="USD",tenant="other"} 2000)"});
  EXPECT_EQ(
      Samples(text, "closeloop_realization_ratio"),
      std::vector<std::string>{R"(closeloop_realization_ratio{currency="USD",tenant="other"} 1)"});
}

// Recovered money given back leaves the counter where it was, and a
// restarted process, which loads the stored books, exports it there too:
// a counter that came back lower would read to Prometheus as a reset, and
// increase() would count the whole total again as recovered.
TEST_F(MetricsTest, RecoveredCounterIsWhereItWasAfterARestart) {
  ExceptionRecord r =
      Rec("a1", "acme", ExceptionKind::kUnderBilled, ExceptionState::kOpen, 100'000, 95);
  books_.Apply(r);
  r.state = ExceptionState::kUpdated;
  r.amount_at_risk_minor = 70'000;
  r.recovered_minor = 30'000;  // an invoice arrived
  books_.Apply(r);
  metrics_.Refresh(stats_, books_, probe_);  // the pipeline refreshes after each batch
  r.amount_at_risk_minor = 90'000;
  r.recovered_minor = 10'000;  // then a credit memo
  books_.Apply(r);
  metrics_.Refresh(stats_, books_, probe_);
  const std::vector<std::string> before = Samples(metrics_.Text(), "closeloop_recovered_amount");
  EXPECT_EQ(before, std::vector<std::string>{R"(closeloop_recovered_amount_total{currency="USD",)"
                                             R"(kind="UNDER_BILLED",tenant="acme"} 300)"});

  std::vector<BooksChange> stored;
  books_.DrainChanges(stored);
  Books restarted;
  for (const auto& [key, bytes] : stored) {
    if (!bytes) continue;
    ASSERT_TRUE(restarted.Load(key, *bytes).ok()) << key;
  }
  EXPECT_EQ(restarted.recovered(), books_.recovered());
  Metrics fresh({.tenants = {"acme"}, .trailing_period = 90 * kDay});
  fresh.Refresh(stats_, restarted, probe_);
  EXPECT_EQ(Samples(fresh.Text(), "closeloop_recovered_amount"), before);
}

TEST_F(MetricsTest, HistogramsAndOperationalGauges) {
  metrics_.OnBatch({Rec("a1", "acme", ExceptionKind::kUnpaid, ExceptionState::kOpen, 1, 1)},
                   Latencies{{2 * 86400.0}, {20 * 86400.0}}, 0.02);
  probe_.watermarks[2] = probe_.now - std::chrono::seconds(30);
  probe_.stalled[3] = true;
  probe_.consumer_lag["crm.deals"] = 12;
  probe_.ready = true;
  stats_.parked_commands = 3;
  metrics_.Refresh(stats_, books_, probe_);
  const std::string text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("closeloop_exception_records_published_total{kind=\"UNPAID\","
                              "state=\"OPEN\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_close_to_invoice_seconds_bucket{le=\"259200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_close_to_invoice_seconds_bucket{le=\"86400\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_invoice_to_payment_seconds_bucket{le=\"2592000\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_processing_latency_seconds_count 1\n"));
  EXPECT_EQ(Samples(text, "closeloop_stream_time_lag_seconds"),
            std::vector<std::string>{R"(closeloop_stream_time_lag_seconds{source="billing"} 30)"});
  EXPECT_THAT(text, HasSubstr("closeloop_source_stalled{source=\"payments\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_source_stalled{source=\"crm\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_consumer_lag_records{topic=\"crm.deals\"} 12\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_ready 1\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_commands_parked 3\n"));
  // No size yet: the family is declared, with no sample.
  EXPECT_THAT(text, HasSubstr("# TYPE closeloop_state_store_bytes gauge\n"));
  EXPECT_THAT(text, Not(HasSubstr("\ncloseloop_state_store_bytes ")));
}

// Booked, billed and collected are three sums, each of its own figure.
TEST_F(MetricsTest, BookedBilledAndCollectedAreEachTheirOwnSum) {
  matcher::DealFigures f;
  f.currency = "USD";
  f.booked = true;
  f.closed_at = Day(50);
  f.booked_minor = 300'000;
  f.billed_minor = 200'000;
  f.collected_minor = 100'000;
  books_.Apply(matcher::FiguresChange{{"acme"}, {"D-1"}, std::nullopt, f, Day(50)});
  metrics_.Refresh(stats_, books_, probe_);
  const std::string text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("closeloop_booked_amount{currency=\"USD\",tenant=\"acme\"} 3000\n"));
  EXPECT_THAT(text, HasSubstr("closeloop_billed_amount{currency=\"USD\",tenant=\"acme\"} 2000\n"));
  EXPECT_THAT(text,
              HasSubstr("closeloop_collected_amount{currency=\"USD\",tenant=\"acme\"} 1000\n"));
}

// The other side of the operational gauges: not ready is 0, and a known
// state store size is its value.
TEST_F(MetricsTest, NotReadyIsZeroAndAKnownStoreSizeIsExported) {
  probe_.ready = false;
  probe_.state_store_bytes = 123'456'789;
  metrics_.Refresh(stats_, books_, probe_);
  const std::string text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("\ncloseloop_ready 0\n"));
  EXPECT_THAT(text, HasSubstr("\ncloseloop_state_store_bytes 123456789\n"));
}

}  // namespace
}  // namespace closeloop::app
