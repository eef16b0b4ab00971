// Commands read before the exception they name was raised (SPEC §5, §6). A
// rebuild (a new state_dir, a move to a split) reads the small commands
// topic long before the documents catch up; refused then, each command would
// go to the DLQ although its exception opens later in the same input. So a
// command the matcher has never raised the exception of is kept until the
// watermarks of that exception's sources reach the command's event time (or
// the wall clock when it was read, if earlier: a clock running ahead holds
// nothing for long), and then applied or refused as any command is, with
// its exception evaluated up to that time and no further (an ACK stops the
// escalations after it, as it did when it was given).
//
// Kept in the state store (meta records "parked/<due>/<origin>"), written
// with the batch that read the command and removed with the batch that
// takes it out, so a restart neither loses nor repeats one. Not thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ingest/input.h"
#include "matcher/watermarks.h"
#include "state/store.h"

namespace closeloop::app {

class ParkedCommands {
 public:
  // The most kept at once. Past it a command is refused when read, as if
  // nothing were kept: a client flooding the topic with commands for
  // exceptions that never come cannot grow the store without bound.
  static constexpr size_t kMax = 10000;
  // The most bytes of stored records kept at once, for the same reason: a
  // valid command may be as large as limits.max_record_bytes (1 MiB), and
  // kMax of them held 10 GB in memory and in the store.
  static constexpr size_t kMaxBytes = size_t{64} << 20;

  // Reads what an earlier run kept. The store must outlive this.
  absl::Status Load(state::RocksStore& store);

  // Keeps `command` (moved from) when it names an exception of its own
  // tenant whose sources' watermarks have not reached its due time yet,
  // adding it to the store's pending batch; false, and `command` untouched,
  // otherwise (also when kMax or kMaxBytes is reached, or when the same input
  // record is kept already). REQUIRES: the matcher refused it as an unknown exception.
  bool Park(ingest::CommandRecord& command, matcher::EventTime read_at,
            const matcher::WatermarkSet& watermarks);
  // The due time of `command` read at `read_at` (its event time, or
  // `read_at` if earlier) when it names an exception of its own tenant whose
  // sources' watermarks have reached it; nullopt otherwise.
  static std::optional<matcher::EventTime> Reached(const ingest::CommandRecord& command,
                                                   matcher::EventTime read_at,
                                                   const matcher::WatermarkSet& watermarks);

  // A kept command whose time has come, and that time.
  struct Due {
    matcher::EventTime time;
    ingest::CommandRecord command;
  };
  // Takes out, in due-time order, every command whose due time its
  // exception's sources' watermarks have reached, removing each from the
  // store in its pending batch.
  std::vector<Due> TakeDue(const matcher::WatermarkSet& watermarks);
  // `watermarks` with every partition held at `t` at most: those a command
  // due at `t` is applied at.
  static matcher::WatermarkSet HeldAt(const matcher::WatermarkSet& watermarks,
                                      matcher::EventTime t);

  size_t size() const { return kept_.size(); }
  // The latest due time of the commands kept (kMinTime when none).
  matcher::EventTime LatestDue() const;

 private:
  struct Kept {
    matcher::EventTime due;
    matcher::SourceSet deps;  // the sources of the exception it names
    size_t bytes;             // of its store record
    ingest::CommandRecord command;
  };
  // The sources of the exception `command` names when it is of the
  // command's own tenant; nullopt otherwise.
  static std::optional<matcher::SourceSet> DepsOfCommand(const v1::Event& command);
  // When a command read at `read_at` is due, and which sources' watermarks
  // must reach it; nullopt when it names no exception of its own tenant.
  struct Timing {
    matcher::SourceSet deps;
    matcher::EventTime due;
  };
  static std::optional<Timing> TimingOf(const ingest::CommandRecord& command,
                                        matcher::EventTime read_at);
  static std::string NameOf(matcher::EventTime due, const ingest::DeadLetter& origin);

  state::RocksStore* store_ = nullptr;
  std::map<std::string, Kept> kept_;  // by store name: due time, then origin
  size_t bytes_ = 0;                  // of the store records of kept_
};

}  // namespace closeloop::app
