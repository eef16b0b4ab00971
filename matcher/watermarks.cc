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
      break;
    }
    s.low = std::min(s.low, it->second);
  }
  for (SourceSet deps = 0; deps <= kAllSources; ++deps) {
    EventTime low = kMaxTime;
    for (int src = 0; src < kSourceCount; ++src) {
      if (deps & (1u << src)) low = std::min(low, sources_[src].low);
    }
    as_of_[deps] = low;
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

void WatermarkSet::AdvanceAll(EventTime time) {
  for (int s = 0; s < kSourceCount; ++s) {
    PerSource& ps = sources_[s];
    if (ps.partitions.empty()) SetPartitions(static_cast<Source>(s), {0});
    for (int p : ps.partitions) Advance(static_cast<Source>(s), p, time);
  }
}

}  // namespace closeloop::matcher
