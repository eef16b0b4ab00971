// Pipeline::Advance and ApplyCommand: people's commands, applied at once,
// kept until the watermarks reach them (app/parked_commands.h), or
// dead-lettered.
#include <algorithm>

#include "app/pipeline.h"
#include "ingest/dead_letter.h"
#include "ingest/normalize.h"

namespace closeloop::app {

bool Pipeline::Advance(std::vector<ingest::CommandRecord>& commands, matcher::EventTime read_at,
                       std::vector<matcher::ExceptionRecord>& records,
                       std::vector<ingest::DeadLetter>& dead_letters) {
  // First the commands whose time the watermarks have reached, kept ones and
  // this batch's alike, in time order (a kept one first at equal times), each
  // at the watermarks held at its time: applying a command evaluates its
  // exception up to there, timers included, so it meets the exception as it
  // was at its time, whatever the batch boundaries. No timer has fired past
  // that time yet, unless the watermarks had passed it before the command was
  // read. The batch's other commands come after the timers (RunBatch).
  std::vector<ParkedCommands::Due> due = parked_.TakeDue(watermarks_);
  std::vector<ingest::CommandRecord> later;
  for (ingest::CommandRecord& command : commands) {
    if (const std::optional<matcher::EventTime> time =
            ParkedCommands::Reached(command, read_at, watermarks_)) {
      due.push_back({*time, std::move(command)});
    } else {
      later.push_back(std::move(command));
    }
  }
  commands = std::move(later);
  std::stable_sort(
      due.begin(), due.end(),
      [](const ParkedCommands::Due& a, const ParkedCommands::Due& b) { return a.time < b.time; });
  for (ParkedCommands::Due& d : due) {
    ApplyCommand(d.command, ParkedCommands::HeldAt(watermarks_, d.time), /*read_at=*/{}, records,
                 dead_letters);
  }
  return engine_->Advance(watermarks_, records,
                          static_cast<size_t>(config_.pipeline.batch_max_timers));
}

void Pipeline::ApplyCommand(ingest::CommandRecord& command, const matcher::WatermarkSet& watermarks,
                            std::optional<matcher::EventTime> read_at,
                            std::vector<matcher::ExceptionRecord>& records,
                            std::vector<ingest::DeadLetter>& dead_letters) {
  auto rejection =
      engine_->ApplyCommand(ingest::ToCommand(command.event.command()), watermarks, records);
  if (!rejection) return;
  if (read_at && rejection->why == matcher::CommandRejection::Why::kUnknownException &&
      parked_.Park(command, *read_at, watermarks)) {
    return;
  }
  command.original.rejection = ingest::RejectionOf(*rejection);
  dead_letters.push_back(std::move(command.original));
}

}  // namespace closeloop::app
