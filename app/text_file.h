// A small text file a person points closeloop at (its config, a bearer
// token): read whole, or refused with a reason. Never thrown: std::ifstream
// opens a directory and then throws from the read.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace closeloop::app {

// The file's bytes. Refused (the status says why, without the path) when it
// cannot be opened (NotFound when it does not exist) or read (a directory),
// or holds more than `max_bytes`: a config or token of gigabytes, or a
// device such as /dev/zero, is a mistake to name, not to read until memory
// runs out. Pipes and devices are read as files are (`check-config
// /dev/stdin`).
absl::StatusOr<std::string> ReadTextFile(const std::string& path, size_t max_bytes);

}  // namespace closeloop::app
