// Figures of a process from /proc/<pid>/status (Linux): its resident memory
// now (VmRSS) and at its peak (VmHWM). `closeloop run` logs its peak when it
// stops; the benchmarks read these for themselves and their children.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace closeloop::app {

// The "NAME:  123 kB" line of /proc/PID/status, in bytes; -1 when the file
// or the line is missing.
int64_t ProcessStatusBytes(std::string_view name, const std::string& pid = "self");

}  // namespace closeloop::app
