#include "bench/measure.h"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "app/process_status.h"

namespace closeloop::bench {
namespace {

double Seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return Seconds(usage.ru_utime) + Seconds(usage.ru_stime);
}

int64_t ResidentBytes() { return app::ProcessStatusBytes("VmRSS"); }
int64_t PeakResidentBytes() { return app::ProcessStatusBytes("VmHWM"); }
int64_t ResidentBytesOf(pid_t pid) { return app::ProcessStatusBytes("VmRSS", std::to_string(pid)); }

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

RunChild SpawnRun(const std::string& closeloop, const std::string& config,
                  const std::string& bootstrap, bool until_idle) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    execl(closeloop.c_str(), closeloop.c_str(), "run", "--config", config.c_str(), "--bootstrap",
          bootstrap.c_str(), until_idle ? "--until-idle" : static_cast<char*>(nullptr),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return {};
  }
  return {pid, fdopen(fds[0], "r")};
}

void ParseStopLine(const char* line, StopLine& stop) {
  const char* s = std::strstr(line, "stopped after ");
  long long records = -1, exceptions = -1, kb = -1;
  if (s == nullptr || std::sscanf(s,
                                  "stopped after %lld records, %lld exception records published, "
                                  "peak resident memory %lld kB",
                                  &records, &exceptions, &kb) < 2) {
    return;
  }
  stop = {records, exceptions, kb < 0 ? -1 : kb * 1024};
}

ChildExit WaitExit(RunChild& child) {
  if (child.log != nullptr) std::fclose(child.log);
  child.log = nullptr;
  int status = 0;
  rusage usage{};
  ChildExit exit;
  if (wait4(child.pid, &status, 0, &usage) != child.pid) return exit;
  exit.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  exit.cpu_seconds = Seconds(usage.ru_utime) + Seconds(usage.ru_stime);
  return exit;
}

}  // namespace closeloop::bench
