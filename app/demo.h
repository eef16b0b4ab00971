// `closeloop demo`: a self-contained tour on the embedded Kafka. Generates a
// sample company with planted leakage, runs the real pipeline over it, reads
// the exceptions and dead letters back from Kafka and prints what was found
// against what was planted.
#pragma once

#include <atomic>
#include <ostream>

namespace closeloop::app {

struct DemoOptions {
  int deals_per_tenant = 150;
  unsigned seed = 42;
  // Keep the embedded Kafka up after the summary, for kcat, until `stop`.
  bool keep_running = false;
};

// Returns the process exit code: 0 when every planted problem was found with
// its exact amount and nothing else was raised, 1 otherwise.
int RunDemo(const DemoOptions& options, const std::atomic<bool>& stop, std::ostream& out);

}  // namespace closeloop::app
