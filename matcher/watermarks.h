// Per-source watermarks (SPEC §6): how far in event time each input source is
// known complete. A source's watermark is the minimum over its partitions; a
// partition not heard from holds its source back. Pure value; not thread-safe.
#pragma once

#include <array>
#include <map>
#include <utility>
#include <vector>

#include "matcher/state.h"
#include "matcher/types.h"

namespace closeloop::matcher {

class WatermarkSet {
 public:
  // Declares which partitions `source` has. Until declared, the source's
  // watermark is kMinTime.
  void SetPartitions(Source source, std::vector<int> partitions);
  // Declares partitions 0..count-1.
  void SetPartitionCount(Source source, int count);
  // Raises the watermark of one partition; never lowers it.
  void Advance(Source source, int partition, EventTime time);
  // Minimum over the source's declared partitions; kMinTime if any is unknown.
  EventTime Of(Source source) const;
  // Minimum over the sources in `deps` (kMaxTime for none). Kept for every
  // set of sources: slots ask it at every evaluation, watermarks move once a
  // batch.
  EventTime AsOf(SourceSet deps) const { return as_of_[deps & kAllSources]; }
  // The declared partitions of `source` with how far each has got (kMinTime
  // when not heard from), in declaration order.
  std::vector<std::pair<int, EventTime>> Partitions(Source source) const;
  // Raises every source to at least `time` (tests and replays).
  void AdvanceAll(EventTime time);

  bool operator==(const WatermarkSet&) const = default;

 private:
  struct PerSource {
    std::vector<int> partitions;
    std::map<int, EventTime> reached;
    // Of(), kept up to date by SetPartitions and Advance: rules ask it at
    // every evaluation.
    EventTime low = kMinTime;
    bool operator==(const PerSource&) const = default;
  };
  static constexpr SourceSet kAllSources = (1u << kSourceCount) - 1;
  // Recomputes the source's low and then every AsOf answer.
  void Recompute(PerSource& s);
  std::array<PerSource, kSourceCount> sources_{};
  std::array<EventTime, kAllSources + 1> as_of_ = AsOfAllAt(kMinTime);
  static std::array<EventTime, kAllSources + 1> AsOfAllAt(EventTime t) {
    std::array<EventTime, kAllSources + 1> as_of;
    as_of.fill(t);
    as_of[0] = kMaxTime;
    return as_of;
  }
};

}  // namespace closeloop::matcher
