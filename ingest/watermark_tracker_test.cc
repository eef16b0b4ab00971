#include "ingest/watermark_tracker.h"

#include <gtest/gtest.h>

namespace closeloop::ingest {
namespace {

using std::chrono::seconds;
// A partition's watermark stays just before its latest event time: records
// at that time may still follow.
constexpr matcher::Duration kJustBefore{1};
const EventTime kStart = EventTime(std::chrono::sys_days(std::chrono::year{2026} / 6 / 1));

WatermarkTracker::Options Opts() {
  return {.idle_after = seconds(5),
          .max_future_skew = matcher::kDay,
          .silence_limits = {matcher::kDay, matcher::kDay, matcher::kDay, matcher::kDay}};
}

TEST(WatermarkTracker, SourceWatermarkIsTheSlowestPartition) {
  WatermarkTracker t(Opts(), kStart);
  t.SetPartitions(Source::kBilling, {0, 1});
  t.OnEventTime(Source::kBilling, 0, kStart - 10 * matcher::kDay, kStart);
  matcher::WatermarkSet wm;
  t.Publish(kStart, wm);
  EXPECT_EQ(wm.Of(Source::kBilling), matcher::kMinTime) << "partition 1 unheard of";
  t.OnEventTime(Source::kBilling, 1, kStart - 20 * matcher::kDay, kStart);
  t.Publish(kStart, wm);
  EXPECT_EQ(wm.Of(Source::kBilling), kStart - 20 * matcher::kDay - kJustBefore);
}

// Two records at the same event time in one partition, with a batch boundary
// (a Publish) between them: the second must not be late, so the first must
// not let a deadline at that time fire.
TEST(WatermarkTracker, ADeadlineAtTheLatestEventTimeWaitsForItsTies) {
  WatermarkTracker t(Opts(), kStart);
  t.SetPartitions(Source::kErp, {0});
  const EventTime day = kStart - 10 * matcher::kDay;
  t.OnEventTime(Source::kErp, 0, day, kStart);
  matcher::WatermarkSet wm;
  t.Publish(kStart, wm);
  EXPECT_LT(wm.Of(Source::kErp), day);
  t.OnEventTime(Source::kErp, 0, day + seconds(1), kStart);
  t.Publish(kStart, wm);
  EXPECT_GE(wm.Of(Source::kErp), day);
}

TEST(WatermarkTracker, CaughtUpPartitionFollowsTheWallClockOnlyAfterIdling) {
  WatermarkTracker t(Opts(), kStart);
  t.SetPartitions(Source::kCrm, {0});
  t.OnRecord(Source::kCrm, 0, kStart);
  t.OnEventTime(Source::kCrm, 0, kStart - 40 * matcher::kDay, kStart);
  t.OnEndOfPartition(Source::kCrm, 0, kStart + seconds(1));
  matcher::WatermarkSet wm;
  t.Publish(kStart + seconds(3), wm);
  EXPECT_EQ(wm.Of(Source::kCrm), kStart - 40 * matcher::kDay - kJustBefore);
  t.Publish(kStart + seconds(7), wm);
  EXPECT_EQ(wm.Of(Source::kCrm), kStart + seconds(7));
  EXPECT_TRUE(t.AllCaughtUp());
  // New data: busy again, and the watermark never goes back.
  t.OnRecord(Source::kCrm, 0, kStart + seconds(8));
  EXPECT_FALSE(t.AllCaughtUp());
  t.Publish(kStart + seconds(9), wm);
  EXPECT_EQ(wm.Of(Source::kCrm), kStart + seconds(7));
}

TEST(WatermarkTracker, FutureEventTimesAreClamped) {
  WatermarkTracker t(Opts(), kStart);
  t.SetPartitions(Source::kErp, {0});
  t.OnEventTime(Source::kErp, 0, kStart + 365 * matcher::kDay, kStart);
  matcher::WatermarkSet wm;
  t.Publish(kStart, wm);
  EXPECT_EQ(wm.Of(Source::kErp), kStart + matcher::kDay - kJustBefore);
}

TEST(WatermarkTracker, SilentSourceStallsAndStopsAdvancing) {
  WatermarkTracker t(Opts(), kStart);
  t.SetPartitions(Source::kPayments, {0});
  t.OnEndOfPartition(Source::kPayments, 0, kStart);
  matcher::WatermarkSet wm;
  t.Publish(kStart + std::chrono::hours(20), wm);
  EXPECT_FALSE(t.Stalled(Source::kPayments, kStart + std::chrono::hours(20)));
  EXPECT_EQ(wm.Of(Source::kPayments), kStart + std::chrono::hours(20));
  t.Publish(kStart + std::chrono::hours(50), wm);
  EXPECT_TRUE(t.Stalled(Source::kPayments, kStart + std::chrono::hours(50)));
  EXPECT_EQ(wm.Of(Source::kPayments), kStart + matcher::kDay);
}

// Each source by its own limit: payments at three days is neither stalled
// nor held where the CRM, at one, is both.
TEST(WatermarkTracker, EachSourceStallsByItsOwnLimit) {
  WatermarkTracker::Options options = Opts();
  options.silence_limits[static_cast<size_t>(Source::kPayments)] = 3 * matcher::kDay;
  WatermarkTracker t(options, kStart);
  matcher::WatermarkSet wm;
  for (Source s : {Source::kCrm, Source::kPayments}) {
    t.SetPartitions(s, {0});
    t.OnEndOfPartition(s, 0, kStart);
  }
  const EventTime later = kStart + std::chrono::hours(50);
  t.Publish(later, wm);
  EXPECT_TRUE(t.Stalled(Source::kCrm, later));
  EXPECT_EQ(wm.Of(Source::kCrm), kStart + matcher::kDay);
  EXPECT_FALSE(t.Stalled(Source::kPayments, later));
  EXPECT_EQ(wm.Of(Source::kPayments), later);
  const EventTime much_later = kStart + std::chrono::hours(80);
  t.Publish(much_later, wm);
  EXPECT_TRUE(t.Stalled(Source::kPayments, much_later));
  EXPECT_EQ(wm.Of(Source::kPayments), kStart + 3 * matcher::kDay);
}

// SPEC §6: stalled after nothing for longer than the limit, not at it;
// README: a caught-up partition idle for idle_after (5 s) follows the clock.
TEST(WatermarkTracker, SilenceAndIdlenessBoundaries) {
  WatermarkTracker t(Opts(), kStart);
  t.SetPartitions(Source::kPayments, {0});
  t.OnRecord(Source::kPayments, 0, kStart);
  EXPECT_FALSE(t.Stalled(Source::kPayments, kStart + matcher::kDay));
  EXPECT_TRUE(t.Stalled(Source::kPayments, kStart + matcher::kDay + matcher::Duration(1)));
  t.OnEventTime(Source::kPayments, 0, kStart - matcher::kDay, kStart);
  t.OnEndOfPartition(Source::kPayments, 0, kStart);
  matcher::WatermarkSet wm;
  t.Publish(kStart + seconds(5), wm);
  EXPECT_EQ(wm.Of(Source::kPayments), kStart + seconds(5));
}

TEST(WatermarkTracker, ReachingTheEndIsNotActivity) {
  WatermarkTracker t(Opts(), kStart);
  t.SetPartitions(Source::kErp, {0});
  t.OnEndOfPartition(Source::kErp, 0, kStart + std::chrono::hours(30));
  EXPECT_EQ(t.LastActivity(Source::kErp), kStart);
  EXPECT_TRUE(t.Stalled(Source::kErp, kStart + std::chrono::hours(30)));
  t.OnRecord(Source::kErp, 0, kStart + std::chrono::hours(31));
  EXPECT_FALSE(t.Stalled(Source::kErp, kStart + std::chrono::hours(31)));
}

TEST(WatermarkTracker, ARestartKeepsTheSilenceOfASource) {
  // Billing went silent at kStart; the service restarts 50 hours later.
  const EventTime restart = kStart + std::chrono::hours(50);
  WatermarkTracker t(Opts(), restart);
  t.RestoreActivity(Source::kBilling, kStart);
  t.SetPartitions(Source::kBilling, {0});
  t.OnEndOfPartition(Source::kBilling, 0, restart);
  EXPECT_TRUE(t.Stalled(Source::kBilling, restart));
  matcher::WatermarkSet wm;
  t.Publish(restart + seconds(10), wm);
  EXPECT_EQ(wm.Of(Source::kBilling), kStart + matcher::kDay) << "held where the limit ran out";
  // A source with nothing restored counts its silence from this start.
  EXPECT_EQ(t.LastActivity(Source::kCrm), restart);
  t.OnRecord(Source::kBilling, 0, restart + seconds(20));
  EXPECT_FALSE(t.Stalled(Source::kBilling, restart + seconds(20)));
}

// A restart after a stop longer than the silence limit, with records
// waiting: the source was not silent, closeloop was away. It is stalled only
// once every partition of it has been read or found at its end.
TEST(WatermarkTracker, ARestartWithRecordsWaitingIsNoSilence) {
  const EventTime restart = kStart + std::chrono::hours(50);
  WatermarkTracker t(Opts(), restart);
  t.RestoreActivity(Source::kBilling, kStart);
  t.RestoreActivity(Source::kCrm, kStart);
  t.SetPartitions(Source::kBilling, {0, 1});
  t.SetPartitions(Source::kCrm, {0, 1});
  EXPECT_FALSE(t.Stalled(Source::kBilling, restart));
  t.OnEndOfPartition(Source::kBilling, 0, restart);
  EXPECT_FALSE(t.Stalled(Source::kBilling, restart)) << "partition 1 not read yet";
  t.OnRecord(Source::kBilling, 1, restart + seconds(1));
  EXPECT_FALSE(t.Stalled(Source::kBilling, restart + seconds(1)));
  // Nothing was waiting on the CRM: silent since kStart.
  t.OnEndOfPartition(Source::kCrm, 0, restart);
  t.OnEndOfPartition(Source::kCrm, 1, restart);
  EXPECT_TRUE(t.Stalled(Source::kCrm, restart));
}

// A rebalance replaces one source's partitions: the other sources keep
// theirs, and a partition still assigned keeps its progress.
TEST(WatermarkTracker, SetPartitionsReplacesOneSourceAndKeepsProgress) {
  WatermarkTracker t(Opts(), kStart);
  t.SetPartitions(Source::kCrm, {0});
  t.SetPartitions(Source::kErp, {0, 1});
  const EventTime day = kStart - 10 * matcher::kDay;
  t.OnEventTime(Source::kCrm, 0, day, kStart);
  t.OnEventTime(Source::kErp, 0, day, kStart);
  t.OnEventTime(Source::kErp, 1, day, kStart);
  t.SetPartitions(Source::kErp, {1});
  matcher::WatermarkSet wm;
  t.Publish(kStart, wm);
  EXPECT_EQ(wm.Of(Source::kCrm), day - kJustBefore);
  EXPECT_EQ(wm.Of(Source::kErp), day - kJustBefore);
  const auto progress = t.Progress();
  EXPECT_EQ(progress.size(), 2u);
}

// Progress lists the partitions that have seen an event time, no others.
TEST(WatermarkTracker, ProgressListsOnlyPartitionsWithEventTimes) {
  WatermarkTracker t(Opts(), kStart);
  t.SetPartitions(Source::kPayments, {0, 1});
  EXPECT_TRUE(t.Progress().empty());
  t.OnEventTime(Source::kPayments, 1, kStart - matcher::kDay, kStart);
  const auto progress = t.Progress();
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0].first, std::make_pair(Source::kPayments, 1));
}

// Nothing assigned is not caught up; a partition is idle from its first
// end-of-partition, which later ones do not push back.
TEST(WatermarkTracker, IdlenessCountsFromTheFirstEndOfPartition) {
  WatermarkTracker t(Opts(), kStart);
  EXPECT_FALSE(t.AllCaughtUp());
  t.SetPartitions(Source::kCrm, {0});
  const EventTime day = kStart - 10 * matcher::kDay;
  t.OnEventTime(Source::kCrm, 0, day, kStart);
  t.OnEndOfPartition(Source::kCrm, 0, kStart);
  t.OnEndOfPartition(Source::kCrm, 0, kStart + seconds(4));
  EXPECT_TRUE(t.AllCaughtUp());
  matcher::WatermarkSet wm;
  t.Publish(kStart + seconds(5), wm);
  EXPECT_EQ(wm.Of(Source::kCrm), kStart + seconds(5));
}

}  // namespace
}  // namespace closeloop::ingest
