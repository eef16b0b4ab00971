// Pipeline::Run: batches until stopped, or for --until-idle until every
// input is read and published.
#include <algorithm>

#include "app/pipeline.h"

namespace closeloop::app {

absl::Status Pipeline::Run(const std::atomic<bool>& stop, bool until_idle) {
  while (!stop.load()) {
    if (absl::Status s = RunBatch(stop); !s.ok()) return s;
    if (until_idle && !timers_left_ && resettles_.empty() && input_->AllCaughtUp() && IdleRunDone())
      break;
  }
  // Leave no published record in the outbox, so the next start reads nothing back.
  if (absl::Status s = StagePublished(); !s.ok()) return s;
  if (absl::Status s = store_->Commit(); !s.ok()) return s;
  PublishSnapshot(ingest::WallNow(), /*force=*/true);
  return absl::OkStatus();
}

bool Pipeline::IdleRunDone() {
  // The ingest stage's last watermarks may wait for their second
  // (WatermarkSender::kIdleInterval): the tasks need them.
  bool done = role_.kind != Role::kIngest || !watermark_sender_.Pending(watermarks_);
  if (role_.kind == Role::kMatcher) {
    // The ingest stage waited for the sources; a task cannot see them,
    // and the watermarks it was sent are behind its start when the stage
    // ran first (README's order). It is done once it knows watermarks from
    // the stage (read in this run or stored by an earlier one) and nothing
    // more has come for time.idle_after, and for three of the intervals at
    // which a live, idle stage sends watermarks: a shorter silence is not
    // the stage's end (bench_quick's re-keyed part lost its last deadlines
    // with idle_after 200ms).
    bool heard = false;
    for (int s = 0; s < matcher::kSourceCount; ++s) {
      heard |= !watermarks_.Partitions(static_cast<matcher::Source>(s)).empty();
    }
    const matcher::Duration quiet =
        std::max<matcher::Duration>(config_.time.idle_after, 3 * WatermarkSender::kIdleInterval);
    done = heard && ingest::WallNow() - last_input_at_ >= quiet;
  }
  // A stalled source's watermark stays where its silence limit ran out
  // (the deadlines that wait for it hold until it resumes): it has nothing
  // more to give this run. The sources must also reach the commands kept
  // until then (their times are no later than when they were read).
  const bool wait_for_sources = config_.time.follow_wall_clock && role_.kind != Role::kMatcher;
  const matcher::EventTime upto = std::max(started_at_, parked_.LatestDue());
  for (int s = 0; s < matcher::kSourceCount && wait_for_sources; ++s) {
    done &=
        watermarks_.Of(static_cast<matcher::Source>(s)) >= upto || stalled_since_[s].has_value();
  }
  auto left = store_->Outbox(1);
  return done && left.ok() && (left->empty() || left->back().first <= published_upto_);
}

}  // namespace closeloop::app
