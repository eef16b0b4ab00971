#include "ingest/watermark_tracker.h"

#include <algorithm>

namespace closeloop::ingest {

WatermarkTracker::WatermarkTracker(Options options, EventTime started_at) : options_(options) {
  activity_before_.fill(started_at);
}

void WatermarkTracker::SetPartitions(Source source, const std::vector<int>& partitions) {
  std::map<std::pair<Source, int>, Partition> kept;
  for (auto& [key, p] : partitions_) {
    if (key.first != source) kept.emplace(key, p);
  }
  for (int partition : partitions) {
    auto it = partitions_.find({source, partition});
    kept.emplace(std::pair(source, partition), it != partitions_.end() ? it->second : Partition{});
  }
  partitions_ = std::move(kept);
}

void WatermarkTracker::OnRecord(Source source, int partition, EventTime now) {
  Partition& p = partitions_[{source, partition}];
  p.caught_up_at.reset();
  p.last_record = now;
}

void WatermarkTracker::OnEventTime(Source source, int partition, EventTime event_time,
                                   EventTime now) {
  Partition& p = partitions_[{source, partition}];
  p.max_event_time =
      std::max(p.max_event_time, std::min(event_time, now + options_.max_future_skew));
}

void WatermarkTracker::OnEndOfPartition(Source source, int partition, EventTime now) {
  Partition& p = partitions_[{source, partition}];
  if (!p.caught_up_at) p.caught_up_at = now;
}

EventTime WatermarkTracker::LastActivity(Source source) const {
  EventTime last = activity_before_[static_cast<int>(source)];
  for (const auto& [key, p] : partitions_) {
    if (key.first == source && p.last_record) last = std::max(last, *p.last_record);
  }
  return last;
}

void WatermarkTracker::RestoreActivity(Source source, EventTime last_activity) {
  activity_before_[static_cast<int>(source)] = last_activity;
}

std::vector<std::pair<std::pair<Source, int>, EventTime>> WatermarkTracker::Progress() const {
  std::vector<std::pair<std::pair<Source, int>, EventTime>> out;
  for (const auto& [key, p] : partitions_) {
    if (p.max_event_time != matcher::kMinTime) out.emplace_back(key, p.max_event_time);
  }
  return out;
}

bool WatermarkTracker::Stalled(Source source, EventTime now) const {
  for (const auto& [key, p] : partitions_) {
    if (key.first == source && !p.last_record && !p.caught_up_at) return false;
  }
  return now - LastActivity(source) > options_.silence_limits[static_cast<size_t>(source)];
}

bool WatermarkTracker::AllCaughtUp() const {
  // Nothing assigned yet is not caught up.
  return !partitions_.empty() &&
         std::all_of(partitions_.begin(), partitions_.end(),
                     [](const auto& kv) { return kv.second.caught_up_at.has_value(); });
}

void WatermarkTracker::Publish(EventTime now, matcher::WatermarkSet& out) const {
  std::map<Source, std::vector<int>> ids;
  for (const auto& [key, p] : partitions_) ids[key.first].push_back(key.second);
  for (auto& [source, list] : ids) out.SetPartitions(source, std::move(list));
  for (const auto& [key, p] : partitions_) {
    // More records at the partition's latest event time may follow (ties are
    // common with date-only times): the watermark stays just before it, so a
    // deadline at that time fires once a later time or idleness passes it
    // (SPEC §6: passed, not reached), whatever the batch boundaries.
    EventTime wm =
        p.max_event_time == matcher::kMinTime ? p.max_event_time : p.max_event_time - Duration(1);
    if (options_.follow_wall_clock && p.caught_up_at &&
        now - *p.caught_up_at >= options_.idle_after) {
      // A silent source stops advancing where its silence limit ran out.
      const Duration limit = options_.silence_limits[static_cast<size_t>(key.first)];
      wm = std::max(wm, std::min(now, LastActivity(key.first) + limit));
    }
    out.Advance(key.first, key.second, wm);
  }
}

}  // namespace closeloop::ingest
