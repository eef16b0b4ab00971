#include "app/parked_commands.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "ingest/dead_letter.h"
#include "ingest/normalize.h"
#include "matcher/lifecycle.h"
#include "matcher/state.h"

namespace closeloop::app {
namespace {

constexpr std::string_view kPrefix = "parked/";

// Event times as 20 digits that sort as the times do, negative ones too.
uint64_t Sortable(matcher::EventTime t) {
  return static_cast<uint64_t>(t.time_since_epoch().count()) ^ (uint64_t{1} << 63);
}
matcher::EventTime FromSortable(uint64_t v) {
  return matcher::EventTime(matcher::Duration(static_cast<int64_t>(v ^ (uint64_t{1} << 63))));
}

}  // namespace

std::optional<matcher::SourceSet> ParkedCommands::DepsOfCommand(const v1::Event& event) {
  const v1::Command& command = event.command();
  const std::optional<matcher::ExceptionIdParts> parts =
      matcher::ParseExceptionId(command.exception_id());
  if (!parts || parts->tenant.value != command.tenant_id()) return std::nullopt;
  return matcher::DepsOf(matcher::SlotOf(parts->kind));
}

std::string ParkedCommands::NameOf(matcher::EventTime due, const ingest::DeadLetter& origin) {
  char numbers[64];
  std::snprintf(numbers, sizeof numbers, "%020" PRIu64, Sortable(due));
  char place[48];
  std::snprintf(place, sizeof place, "/%010" PRId32 "/%020" PRId64, origin.partition,
                origin.offset);
  return std::string(kPrefix) + numbers + "/" + origin.topic + place;
}

absl::Status ParkedCommands::Load(state::RocksStore& store) {
  store_ = &store;
  kept_.clear();
  bytes_ = 0;
  auto records = store.ScanMeta(kPrefix);
  if (!records.ok()) return records.status();
  for (auto& [name, bytes] : *records) {
    uint64_t due = 0;
    v1::Event event;
    std::optional<matcher::SourceSet> deps;
    if (std::sscanf(name.c_str() + kPrefix.size(), "%20" SCNu64 "/", &due) != 1 ||
        !event.ParseFromString(bytes) || !event.has_command() || !(deps = DepsOfCommand(event))) {
      return absl::DataLossError("state store: a malformed kept command " + name);
    }
    ingest::DeadLetter origin = ingest::TakeOriginal(event);
    bytes_ += bytes.size();
    kept_.emplace(
        name, Kept{FromSortable(due), *deps, bytes.size(), {std::move(event), std::move(origin)}});
  }
  return absl::OkStatus();
}

std::optional<ParkedCommands::Timing> ParkedCommands::TimingOf(const ingest::CommandRecord& command,
                                                               matcher::EventTime read_at) {
  const std::optional<matcher::SourceSet> deps = DepsOfCommand(command.event);
  if (!deps) return std::nullopt;
  return Timing{*deps, std::min(ingest::ToCommand(command.event.command()).event_time, read_at)};
}

std::optional<matcher::EventTime> ParkedCommands::Reached(const ingest::CommandRecord& command,
                                                          matcher::EventTime read_at,
                                                          const matcher::WatermarkSet& watermarks) {
  const std::optional<Timing> t = TimingOf(command, read_at);
  if (!t || watermarks.AsOf(t->deps) < t->due) return std::nullopt;
  return t->due;
}

bool ParkedCommands::Park(ingest::CommandRecord& command, matcher::EventTime read_at,
                          const matcher::WatermarkSet& watermarks) {
  const std::optional<Timing> t = TimingOf(command, read_at);
  if (!t || kept_.size() >= kMax || watermarks.AsOf(t->deps) >= t->due) return false;
  std::string name = NameOf(t->due, command.original);
  // The same record again (the events topic can hold a command twice) would
  // replace the one kept: refused, as before keeping, not lost.
  if (kept_.contains(name)) return false;
  const std::string bytes =
      ingest::WithOriginal(command.event, command.original).SerializeAsString();
  if (bytes_ + bytes.size() > kMaxBytes) return false;
  store_->PutMeta(name, bytes);
  bytes_ += bytes.size();
  kept_.emplace(std::move(name), Kept{t->due, t->deps, bytes.size(), std::move(command)});
  return true;
}

matcher::WatermarkSet ParkedCommands::HeldAt(const matcher::WatermarkSet& watermarks,
                                             matcher::EventTime t) {
  matcher::WatermarkSet held;
  for (int i = 0; i < matcher::kSourceCount; ++i) {
    const auto source = static_cast<matcher::Source>(i);
    const std::vector<std::pair<int, matcher::EventTime>> partitions =
        watermarks.Partitions(source);
    std::vector<int> declared;
    for (const auto& [partition, reached] : partitions) declared.push_back(partition);
    held.SetPartitions(source, std::move(declared));
    for (const auto& [partition, reached] : partitions) {
      held.Advance(source, partition, std::min(reached, t));
    }
  }
  return held;
}

std::vector<ParkedCommands::Due> ParkedCommands::TakeDue(const matcher::WatermarkSet& watermarks) {
  std::vector<Due> due;
  for (auto it = kept_.begin(); it != kept_.end();) {
    if (watermarks.AsOf(it->second.deps) < it->second.due) {
      ++it;
      continue;
    }
    store_->DeleteMeta(it->first);
    bytes_ -= it->second.bytes;
    due.push_back({it->second.due, std::move(it->second.command)});
    it = kept_.erase(it);
  }
  return due;
}

matcher::EventTime ParkedCommands::LatestDue() const {
  matcher::EventTime latest = matcher::kMinTime;
  for (const auto& [name, kept] : kept_) latest = std::max(latest, kept.due);
  return latest;
}

}  // namespace closeloop::app
