#include "matcher/watermarks.h"

#include <algorithm>

namespace closeloop::matcher {

void WatermarkSet::SetPartitions(Source source, std::vector<int> partitions) {
  PerSource& s = sources_[static_cast<int>(source)];
  s.partitions = std::move(partitions);
  Recompute(s);
}

void WatermarkSet::SetPartitionCount(Source source, int count) {
  std::vector<int> partitions(count);
  for (int p = 0; p < count; ++p) partitions[p] = p;
  SetPartitions(source, std::move(partitions));
}

void WatermarkSet::Advance(Source source, int partition, EventTime time) {
  PerSource& s = sources_[static_cast<int>(source)];
  EventTime& reached = s.reached.try_emplace(partition, kMinTime).first->second;
  if (time <= reached) return;
  reached = time;
  Recompute(s);
}

void WatermarkSet::Recompute(PerSource& s) {
  s.low = s.partitions.empty() ? kMinTime : kMaxTime;
  for (int p : s.partitions) {
    auto it = s.reached.find(p);
    if (it == s.reached.end()) {
      s.low = kMinTime;
      return;
    }
    s.low = std::min(s.low, it->second);
  }
}

EventTime WatermarkSet::Of(Source source) const { return sources_[static_cast<int>(source)].low; }

std::vector<std::pair<int, EventTime>> WatermarkSet::Partitions(Source source) const {
  const PerSource& s = sources_[static_cast<int>(source)];
  std::vector<std::pair<int, EventTime>> out;
  out.reserve(s.partitions.size());
  for (int p : s.partitions) {
    auto it = s.reached.find(p);
    out.emplace_back(p, it == s.reached.end() ? kMinTime : it->second);
  }
  return out;
}

EventTime WatermarkSet::AsOf(SourceSet deps) const {
  EventTime low = kMaxTime;
  for (int s = 0; s < kSourceCount; ++s) {
    if (deps & (1u << s)) low = std::min(low, Of(static_cast<Source>(s)));
  }
  return low;
}

void WatermarkSet::AdvanceAll(EventTime time) {
  for (int s = 0; s < kSourceCount; ++s) {
    PerSource& ps = sources_[s];
    if (ps.partitions.empty()) SetPartitions(static_cast<Source>(s), {0});
    for (int p : ps.partitions) Advance(static_cast<Source>(s), p, time);
  }
}

}  // namespace closeloop::matcher
