// Turns exception lifecycle records into records for the exceptions topic,
// keyed by exception_id, plus a copy on the route's team topic when the
// record has one (SPEC §5 "Routing"). Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "alerts/encode.h"
#include "matcher/types.h"
#include "state/records.h"

namespace closeloop::alerts {

class Router {
 public:
  Router(std::string topic, Encoding encoding);

  // Appends every record, stamped with `detected_at`, and its team copy.
  void Append(const std::vector<matcher::ExceptionRecord>& records, matcher::EventTime detected_at,
              std::vector<state::OutboxRecord>& out) const;
  // Appends one record built elsewhere (operational records).
  void Append(const v1::ExceptionRecord& record, std::vector<state::OutboxRecord>& out) const;

 private:
  std::string topic_;
  Encoding encoding_;
};

}  // namespace closeloop::alerts
