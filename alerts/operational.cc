#include "alerts/operational.h"

#include <google/protobuf/util/time_util.h>

#include "matcher/money.h"

namespace closeloop::alerts {

v1::ExceptionRecord SourceStalledRecord(const std::string& source_name, const std::string& topic,
                                        matcher::EventTime silent_since,
                                        matcher::Duration silence_limit, matcher::EventTime now,
                                        bool resumed) {
  using google::protobuf::util::TimeUtil;
  const int64_t since_ms = silent_since.time_since_epoch().count();
  v1::ExceptionRecord r;
  r.set_exception_id("closeloop:SOURCE_STALLED:" + source_name + ":" + std::to_string(since_ms));
  r.set_kind(v1::ExceptionRecord::SOURCE_STALLED);
  r.set_state(resumed ? v1::ExceptionRecord::RESOLVED : v1::ExceptionRecord::OPEN);
  r.set_resolution(resumed ? v1::ExceptionRecord::RECOVERED
                           : v1::ExceptionRecord::RESOLUTION_UNSPECIFIED);
  r.set_team("platform");
  r.set_severity(v1::ExceptionRecord::P2);
  r.set_sequence(resumed ? 2 : 1);
  *r.mutable_opened_at() = TimeUtil::MillisecondsToTimestamp(since_ms);
  *r.mutable_deadline() = TimeUtil::MillisecondsToTimestamp(since_ms + silence_limit.count());
  *r.mutable_detected_at() = TimeUtil::MillisecondsToTimestamp(now.time_since_epoch().count());
  *r.mutable_effective_at() = *r.mutable_detected_at();
  r.set_age_days(matcher::DaysBetween(silent_since, now));
  r.set_confidence(1.0);
  r.set_reason(resumed ? "Source " + source_name + " (" + topic + ") is receiving records again."
                       : "Source " + source_name + " (" + topic + ") has received nothing since " +
                             TimeUtil::ToString(r.opened_at()) +
                             "; the deadlines that wait for it are held until it resumes.");
  return r;
}

}  // namespace closeloop::alerts
