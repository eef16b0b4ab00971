// Tracks how far each input partition is complete in event time (SPEC §6,
// ARCHITECTURE "Time"): the latest event time seen, clamped to the wall clock
// plus max_future_skew; or the wall clock once the partition is caught up and
// idle; never past the point where its source went silent (stalled).
// Wall-clock time is passed in, so tests drive it. Not thread-safe.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "matcher/watermarks.h"

namespace closeloop::ingest {

using matcher::Duration;
using matcher::EventTime;
using matcher::Source;

class WatermarkTracker {
 public:
  struct Options {
    Duration idle_after = std::chrono::seconds(5);
    Duration max_future_skew = matcher::kDay;
    // Per source (by matcher::Source): one silent this long is stalled.
    std::array<Duration, matcher::kSourceCount> silence_limits = {matcher::kDay, matcher::kDay,
                                                                  matcher::kDay, matcher::kDay};
    // false: idle partitions do not advance by the wall clock; watermarks
    // follow event time only (deterministic replays and backfills).
    bool follow_wall_clock = true;
  };
  WatermarkTracker(Options options, EventTime started_at);

  // The partitions of `source` this process reads; replaces the previous set.
  void SetPartitions(Source source, const std::vector<int>& partitions);
  // A record arrived (valid or not): the partition is busy, not idle.
  void OnRecord(Source source, int partition, EventTime now);
  // A valid record's event time.
  void OnEventTime(Source source, int partition, EventTime event_time, EventTime now);
  // The consumer reached the end of the partition.
  void OnEndOfPartition(Source source, int partition, EventTime now);

  // Writes every partition's watermark at `now` into `out`.
  void Publish(EventTime now, matcher::WatermarkSet& out) const;
  // Whether `source` has received nothing for longer than its silence limit.
  // Not while a partition of it has been neither read nor found at its end
  // by this process: records may be waiting there (a restart after a stop
  // longer than the limit has not heard a silence, only missed the records).
  bool Stalled(Source source, EventTime now) const;
  // When `source` last received a record: in this process, else what
  // RestoreActivity gave, else when the tracker started. Reaching the end of
  // a partition is not activity.
  EventTime LastActivity(Source source) const;
  // The LastActivity of a source before this process (the pipeline stores it
  // with each batch), so a restart neither forgets that a source went silent
  // nor lets its watermark follow the wall clock from the restart on.
  void RestoreActivity(Source source, EventTime last_activity);
  // The latest event time seen on every partition, so a restart can give
  // it back through OnEventTime (the pipeline stores it with each batch).
  std::vector<std::pair<std::pair<Source, int>, EventTime>> Progress() const;
  // Whether partitions are assigned and every one of them is at its end.
  bool AllCaughtUp() const;

 private:
  struct Partition {
    EventTime max_event_time = matcher::kMinTime;
    std::optional<EventTime> last_record;   // wall clock of the last record
    std::optional<EventTime> caught_up_at;  // since when it has been at its end
  };

  Options options_;
  // Per source: the activity before any record of this process.
  std::array<EventTime, matcher::kSourceCount> activity_before_;
  std::map<std::pair<Source, int>, Partition> partitions_;
};

}  // namespace closeloop::ingest
