// Process and disk figures for the end-to-end benchmarks: resident memory of
// this process (now and at its peak, from /proc/self/status) and the bytes a
// directory holds. Linux only. Thread-safe (reads the kernel's figures).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nlohmann/json.hpp"

namespace closeloop::bench {

// CPU time (user + system) this process has used so far, every thread.
double CpuSeconds();

// VmRSS: resident bytes now.
int64_t ResidentBytes();
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

}  // namespace closeloop::bench
