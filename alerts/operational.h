// Operational records on the exceptions topic: things about closeloop's
// inputs rather than about money, for the platform team. Pure; thread-safe.
#pragma once

#include <string>

#include "closeloop/v1/exception.pb.h"
#include "matcher/types.h"

namespace closeloop::alerts {

// SOURCE_STALLED for `source_name` (e.g. "billing") reading `topic`, silent
// since `silent_since`: OPEN (sequence 1) when it stalls, RESOLVED (sequence
// 2) when it resumes. The id names the source and when it went silent; the
// deadline is when its `silence_limit` ran out.
v1::ExceptionRecord SourceStalledRecord(const std::string& source_name, const std::string& topic,
                                        matcher::EventTime silent_since,
                                        matcher::Duration silence_limit, matcher::EventTime now,
                                        bool resumed);

}  // namespace closeloop::alerts
