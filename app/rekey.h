// Re-keying (ARCHITECTURE "Data flow", "Time"; README "Scaling out"): with
// pipeline.tasks > 1 the ingest stage writes every valid event and command
// to the internal events topic, in the partition of its tenant, and, per
// input partition, watermark records into every partition of it; matcher
// task K reads partition K. These build the ingest stage's records. Pure;
// not thread-safe (WatermarkSender remembers what it sent).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "app/config.h"
#include "closeloop/v1/internal.pb.h"
#include "ingest/dead_letter.h"
#include "ingest/input.h"
#include "matcher/watermarks.h"
#include "state/records.h"

namespace closeloop::app {

// Which part of the data flow one `closeloop run` process runs.
struct Role {
  enum Kind {
    kAll,      // read the input topics and match (pipeline.tasks 1)
    kIngest,   // read the input topics, re-key onto topics.events
    kMatcher,  // match partition `task` of topics.events
  };
  Kind kind = kAll;
  int task = 0;
};

// Refuses a role the config does not allow: kAll with pipeline.tasks > 1,
// kMatcher with a task outside 0..tasks-1. The message says what to run.
absl::Status CheckRole(const Config& config, Role role);
// `config` for a process of `role`: kIngest and kMatcher keep their state in
// their own subdirectory of state_dir ("ingest", "task-K") and publish with
// their own transactional id (the configured one + "-ingest" / "-task-K"),
// so several roles can share a machine, a config file and a cluster.
Config ConfigForRole(Config config, Role role);

// The partition of the events topic (of `tasks` partitions) that carries
// everything of `tenant`: FNV-1a of the tenant id, so it never changes
// between builds, machines or restarts.
int32_t TaskOfTenant(std::string_view tenant, int tasks);

// "deal", "order", "invoice", "payment" or "command": the `type` label of
// closeloop_events_consumed_total.
const char* TypeOf(const v1::Event& event);

// The tenant a document or command belongs to.
const std::string& TenantOf(const v1::Event& event);

// The events-topic record of a valid document (`original` null) or command
// (`original` its input record, kept for a dead letter should the matcher
// task refuse it), keyed and partitioned by tenant.
state::OutboxRecord RekeyedRecord(const v1::Event& event, const ingest::DeadLetter* original,
                                  const std::string& events_topic, int tasks);

// Sends each input partition's watermark to every matcher task when it has
// risen since it was last sent (by this process: a restart sends them all
// again, which changes nothing, as a watermark never goes back).
class WatermarkSender {
 public:
  // With no input, idle partitions follow the wall clock and rise at every
  // batch: sending each rise made about ten transactions a second into every
  // events partition for nothing. Rises with no record read are sent at most
  // this often (a deadline fires at most this much later in a task).
  static constexpr matcher::Duration kIdleInterval = std::chrono::seconds(1);

  WatermarkSender(std::string events_topic, int tasks)
      : topic_(std::move(events_topic)), tasks_(tasks) {}
  // Appends the rises at wall-clock `now`; `read_records`: the batch read
  // input, so its rises are sent whenever they come.
  void Append(const matcher::WatermarkSet& watermarks, matcher::EventTime now, bool read_records,
              std::vector<state::OutboxRecord>& out);
  // Whether a partition of `watermarks` has risen above what was sent (an
  // --until-idle run sends it before it ends).
  bool Pending(const matcher::WatermarkSet& watermarks) const;

 private:
  // Whether a partition's watermark `time` is known and above what was sent.
  bool Rose(matcher::Source source, int partition, matcher::EventTime time) const;

  std::string topic_;
  int tasks_;
  std::map<std::pair<matcher::Source, int>, matcher::EventTime> sent_;
  matcher::EventTime last_sent_at_ = matcher::kMinTime;
};

// Applies a watermark record read from the events topic to `watermarks`.
// REQUIRES: Input accepted it (a known source, a partition in range).
void ApplyWatermark(const v1::Watermark& record, matcher::WatermarkSet& watermarks);

}  // namespace closeloop::app
