// Engine::TakeFiguresChanges: what is reported, when, and that `before` is
// exact across engines sharing a store (a restart). The figures of each
// billing situation are shown by matcher/scenarios/figures_*.scenario.
#include <gtest/gtest.h>

#include "matcher/engine.h"
#include "matcher/memory_store.h"

namespace closeloop::matcher {
namespace {

const EventTime kT0 = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 1 / 1));
EventTime Day(int d) { return kT0 + d * kDay; }

Deal WonDeal(int64_t amount, int day) {
  return Deal{.tenant = {"acme"},
              .id = {"D-1"},
              .stage = "Closed Won",
              .amount_minor = amount,
              .currency = "EUR",
              .customer = {"C-1"},
              .close_time = Day(0),
              .event_time = Day(day)};
}

Invoice InvoiceOf(const std::string& id, int64_t amount, int day) {
  return Invoice{.tenant = {"acme"},
                 .id = {id},
                 .deal = {"D-1"},
                 .customer = {"C-1"},
                 .amount_minor = amount,
                 .currency = "EUR",
                 .issue_time = Day(day),
                 .event_time = Day(day)};
}

Payment PaymentOf(const std::string& id, const std::string& invoice, int64_t amount, int day) {
  return Payment{.tenant = {"acme"},
                 .id = {id},
                 .invoice = {invoice},
                 .amount_minor = amount,
                 .currency = "EUR",
                 .event_time = Day(day)};
}

class Figures : public testing::Test {
 protected:
  Figures() {
    for (int s = 0; s < kSourceCount; ++s) watermarks_.SetPartitionCount(static_cast<Source>(s), 1);
  }
  std::vector<FiguresChange> Apply(Engine& engine, const Document& doc) {
    std::vector<ExceptionRecord> out;
    engine.Apply(doc, watermarks_, out);
    return engine.TakeFiguresChanges();
  }

  TenantDirectory tenants_;
  MemoryStore store_;
  WatermarkSet watermarks_;
};

TEST_F(Figures, FirstReportHasNoBeforeAndEachChangeStartsFromTheLast) {
  Engine engine(tenants_, store_);
  auto changes = Apply(engine, WonDeal(1'000, 0));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].before.has_value());
  EXPECT_EQ(changes[0].tenant.value, "acme");
  EXPECT_EQ(changes[0].deal.value, "D-1");
  const DealFigures booked{
      .currency = "EUR", .closed_at = Day(0), .booked = true, .booked_minor = 1'000};
  EXPECT_EQ(changes[0].after, booked);
  EXPECT_EQ(changes[0].at, Day(0));

  changes = Apply(engine, InvoiceOf("I-1", 1'000, 3));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].before, booked);
  EXPECT_EQ(changes[0].after.billed_minor, 1'000);
  EXPECT_EQ(changes[0].after.first_billed_at, Day(3));
  EXPECT_EQ(changes[0].at, Day(3));
}

TEST_F(Figures, NothingIsReportedWhenNothingChanged) {
  Engine engine(tenants_, store_);
  Apply(engine, WonDeal(1'000, 0));
  EXPECT_TRUE(Apply(engine, WonDeal(1'000, 0)).empty()) << "re-delivery";
  // A new version that changes nothing the books count.
  Deal renamed = WonDeal(1'000, 1);
  renamed.owner = "someone else";
  EXPECT_TRUE(Apply(engine, renamed).empty());
  // A failed payment collects nothing.
  Apply(engine, InvoiceOf("I-1", 1'000, 3));
  Payment failed = PaymentOf("P-1", "I-1", 1'000, 4);
  failed.status = Payment::Status::kFailed;
  EXPECT_TRUE(Apply(engine, failed).empty());
  std::vector<ExceptionRecord> out;
  watermarks_.AdvanceAll(Day(400));
  engine.Advance(watermarks_, out);
  EXPECT_TRUE(engine.TakeFiguresChanges().empty()) << "timers change no figures";
}

TEST_F(Figures, TakeForgetsWhatItReturned) {
  Engine engine(tenants_, store_);
  std::vector<ExceptionRecord> out;
  engine.Apply(WonDeal(1'000, 0), watermarks_, out);
  engine.Apply(InvoiceOf("I-1", 400, 3), watermarks_, out);
  engine.Apply(PaymentOf("P-1", "I-1", 400, 5), watermarks_, out);
  const auto changes = engine.TakeFiguresChanges();
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[1].before, changes[0].after);
  EXPECT_EQ(changes[2].before, changes[1].after);
  EXPECT_EQ(changes[2].after.collected_minor, 400);
  EXPECT_EQ(changes[2].after.first_collected_at, Day(5));
  EXPECT_EQ(changes[2].at, Day(5));
  EXPECT_TRUE(engine.TakeFiguresChanges().empty());
}

// Taking into the same vector batch after batch, as the pipeline does: each
// take holds that batch's changes only, whatever the vector held before.
TEST_F(Figures, TakeIntoAVectorReplacesItsContents) {
  Engine engine(tenants_, store_);
  std::vector<ExceptionRecord> out;
  std::vector<FiguresChange> taken(5);  // stale contents are dropped
  engine.Apply(WonDeal(1'000, 0), watermarks_, out);
  engine.Apply(InvoiceOf("I-1", 400, 3), watermarks_, out);
  engine.TakeFiguresChanges(taken);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[1].after.billed_minor, 400);
  engine.Apply(PaymentOf("P-1", "I-1", 400, 5), watermarks_, out);
  engine.TakeFiguresChanges(taken);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].after.collected_minor, 400);
  EXPECT_EQ(taken[0].before->billed_minor, 400);
  engine.TakeFiguresChanges(taken);
  EXPECT_TRUE(taken.empty());
}

TEST_F(Figures, BeforeIsExactAfterARestartOnTheSameStore) {
  DealFigures last;
  {
    Engine engine(tenants_, store_);
    Apply(engine, WonDeal(1'000, 0));
    last = Apply(engine, InvoiceOf("I-1", 600, 3)).at(0).after;
  }
  Engine restarted(tenants_, store_);
  const auto changes = Apply(restarted, PaymentOf("P-1", "I-1", 600, 9));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].before, last);
  EXPECT_EQ(changes[0].after.collected_minor, 600);
}

TEST_F(Figures, AMovedPaymentLeavesOneDealForAnother) {
  Engine engine(tenants_, store_);
  Apply(engine, WonDeal(1'000, 0));
  Deal other = WonDeal(500, 0);
  other.id = {"D-2"};
  Apply(engine, other);
  Invoice second = InvoiceOf("I-2", 500, 3);
  second.deal = {"D-2"};
  Apply(engine, InvoiceOf("I-1", 1'000, 3));
  Apply(engine, second);
  Apply(engine, PaymentOf("P-1", "I-1", 500, 5));
  const auto changes = Apply(engine, PaymentOf("P-1", "I-2", 500, 6));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].deal.value, "D-2");
  EXPECT_EQ(changes[0].after.collected_minor, 500);
  EXPECT_EQ(changes[1].deal.value, "D-1");
  EXPECT_EQ(changes[1].before->collected_minor, 500);
  EXPECT_EQ(changes[1].after.collected_minor, 0);
}

TEST_F(Figures, AnInvoiceInAnotherCurrencyIsNotCounted) {
  Engine engine(tenants_, store_);
  Apply(engine, WonDeal(1'000, 0));
  Invoice usd = InvoiceOf("I-1", 1'000, 3);
  usd.currency = "USD";
  EXPECT_TRUE(Apply(engine, usd).empty());
}

}  // namespace
}  // namespace closeloop::matcher
