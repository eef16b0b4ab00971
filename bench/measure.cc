#include "bench/measure.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string_view>

namespace closeloop::bench {
namespace {

// A "Name:   123 kB" line of /proc/self/status, in bytes; 0 if absent.
int64_t StatusBytes(std::string_view name) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(name) && line.size() > name.size() && line[name.size()] == ':') {
      return std::stoll(line.substr(name.size() + 1)) * 1024;
    }
  }
  return 0;
}

}  // namespace

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

int64_t ResidentBytes() { return StatusBytes("VmRSS"); }
int64_t PeakResidentBytes() { return StatusBytes("VmHWM"); }

bool ResetPeakResident() {
  malloc_trim(0);
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return clear.good();
}

std::optional<int64_t> DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return std::nullopt;
  int64_t bytes = 0;
  bool any = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) {
      any = true;
      bytes += static_cast<int64_t>(entry.file_size(ec));
    }
  }
  if (!any) return std::nullopt;
  return bytes;
}

nlohmann::json StateDiskFigures(const std::string& state_dir, int64_t deals) {
  const std::optional<int64_t> bytes = DirectoryBytes(state_dir);
  if (!bytes) {
    return {{"state_disk_bytes", "n/a (in-memory state)"},
            {"state_disk_bytes_per_deal", "n/a (in-memory state)"}};
  }
  return {{"state_disk_bytes", *bytes},
          {"state_disk_bytes_per_deal",
           deals > 0 ? static_cast<double>(*bytes) / static_cast<double>(deals) : 0.0}};
}

std::string FreshTempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

}  // namespace closeloop::bench
