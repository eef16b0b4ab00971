// `closeloop redrive`: sends dead letters back to the topic they were read
// from, once what refused them is fixed (a config corrected, a command's
// exception raised since). Each goes with its original key, value and
// headers; what the service does with it then is what it would have done
// the first time, and a record sent twice changes nothing the second time
// (a re-delivered document is ignored, a replayed command refused).
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace closeloop::app {

struct RedriveOptions {
  std::string bootstrap;
  std::string config_path;           // the service's: topics.dlq and kafka.properties
  std::vector<std::string> reasons;  // closeloop.reason values to send; at least one
  std::vector<std::string> topics;   // only dead letters from these topics; empty: every
  bool dry_run = false;              // count and list, send nothing
};

// Whether `name` is a closeloop.reason a dead letter can carry (README
// "Input and output"), e.g. "bad_currency".
bool IsDeadLetterReason(std::string_view name);
// Every such name, comma-separated, for a message.
std::string DeadLetterReasons();

// Reads the DLQ from its beginning to its end and sends each dead letter of
// `reasons` (and `topics`) back, only ever to a topic `config` reads (one
// naming another, several or none is listed, not sent), each record once
// however many letters hold it. Prints what it sent and skipped to `out`,
// errors to `err`. Returns the exit code: 0, 1 on a Kafka error, 2 on a bad
// config.
int RunRedrive(const RedriveOptions& options, std::ostream& out, std::ostream& err);

}  // namespace closeloop::app
