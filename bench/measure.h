// Process and disk figures for the end-to-end benchmarks: resident memory of
// this process (now and at its peak, from /proc/self/status) and the bytes a
// directory holds. Linux only. Thread-safe (reads the kernel's figures).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "nlohmann/json.hpp"

namespace closeloop::bench {

// CPU time (user + system) this process has used so far, every thread.
double CpuSeconds();

// VmRSS: resident bytes now.
int64_t ResidentBytes();
// VmRSS of another process; -1 when it cannot be read.
int64_t ResidentBytesOf(pid_t pid);
// VmHWM: the peak resident bytes since the process started or since
// ResetPeakResident.
int64_t PeakResidentBytes();
// Resets VmHWM to the current resident set (writes 5 to /proc/self/clear_refs),
// after returning freed memory to the system (malloc_trim). Returns false when
// the kernel refuses; the peak then counts from the process's start.
bool ResetPeakResident();

// Bytes of the regular files under `dir`, or nullopt when it does not exist
// or holds no file (state kept in memory).
std::optional<int64_t> DirectoryBytes(const std::string& dir);

// The "state on disk" figures of a run whose state store was configured at
// `state_dir`: {"state_disk_bytes": N, "state_disk_bytes_per_deal": N/deals}
// when the directory holds files, else both "n/a (in-memory state)".
nlohmann::json StateDiskFigures(const std::string& state_dir, int64_t deals);

// A fresh, empty directory under the system's temporary directory.
std::string FreshTempDir(const std::string& prefix);

// A `closeloop run` child process, its stdout and stderr on a pipe.
struct RunChild {
  pid_t pid = -1;
  FILE* log = nullptr;  // null when the child could not be started
};
// Starts `CLOSELOOP run --config CONFIG --bootstrap BOOTSTRAP`, with
// `--until-idle` when asked.
RunChild SpawnRun(const std::string& closeloop, const std::string& config,
                  const std::string& bootstrap, bool until_idle = false);
// How a child ended: exit code 0 or not and the CPU time of all its
// threads. Not its peak memory: wait4's ru_maxrss counts the resident set
// the child had when it was forked (a copy of this process's, which holds
// a whole generated company), before it became closeloop; closeloop's
// closing log line says its own (StopLine).
struct ChildExit {
  bool ok = false;
  double cpu_seconds = 0;
};
// What `closeloop run` says when it stops: "stopped after N records, M
// exception records published, peak resident memory K kB" (-1: not said).
struct StopLine {
  int64_t records = -1;
  int64_t exception_records = -1;
  int64_t peak_rss_bytes = -1;
};
// Fills `stop` when `line` is that line.
void ParseStopLine(const char* line, StopLine& stop);

// Waits for the child to end (its log should have been read to the end, or
// closed), closing its log.
ChildExit WaitExit(RunChild& child);

}  // namespace closeloop::bench
