#include "app/process_status.h"

#include <fstream>

namespace closeloop::app {

int64_t ProcessStatusBytes(std::string_view name, const std::string& pid) {
  std::ifstream status("/proc/" + pid + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(name) && line.size() > name.size() && line[name.size()] == ':') {
      return std::stoll(line.substr(name.size() + 1)) * 1024;
    }
  }
  return -1;
}

}  // namespace closeloop::app
