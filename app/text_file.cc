#include "app/text_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace closeloop::app {

absl::StatusOr<std::string> ReadTextFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = std::string("cannot open: ") + std::strerror(errno);
    return errno == ENOENT ? absl::NotFoundError(why) : absl::InvalidArgumentError(why);
  }
  std::string text;
  char buffer[64 * 1024];
  absl::Status refused;
  while (refused.ok()) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      refused = absl::InvalidArgumentError(std::string("cannot read: ") + std::strerror(errno));
    } else if (text.size() + static_cast<size_t>(n) > max_bytes) {
      refused = absl::InvalidArgumentError("holds more than " + std::to_string(max_bytes) +
                                           " bytes; is it the right file?");
    } else {
      text.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  if (!refused.ok()) return refused;
  return text;
}

}  // namespace closeloop::app
