// The contract rules of SPEC §5 "Commands" that Decode checks after parsing
// a command (its fields' types and ranges are in validate_test.cc).
#include <gtest/gtest.h>

#include "ingest/decode.h"
#include "ingest/decode_testing.h"

namespace closeloop::ingest {
namespace {

using testing::Accepted;
using testing::ExpectRejected;
using testing::Rejected;
using testing::Time;

TEST(Validate, RejectsMissingRequiredCommandFields) {
  for (const char* field : {"command_id", "tenant_id", "exception_id", "action"}) {
    SCOPED_TRACE(field);
    v1::Command command = testing::ValidCommand();
    command.GetReflection()->ClearField(&command, command.GetDescriptor()->FindFieldByName(field));
    ExpectRejected(DocType::kCommand, command, Reason::kMissingField, field);
  }
}

// A snooze that ends before it was given holds nothing: echoed as SNOOZED it
// would tell people the exception is quiet while its escalations go on.
TEST(Validate, RejectsSnoozeUntilNotAfterItsEventTime) {
  v1::Command command = testing::ValidCommand();
  for (const char* until : {"2024-04-20T08:00:00Z", "2024-04-19T00:00:00Z"}) {
    SCOPED_TRACE(until);
    *command.mutable_snooze_until() = Time(until);
    ExpectRejected(DocType::kCommand, command, Reason::kInvalidValue, "snooze_until");
  }
  // Without an event time of its own, the Kafka record's timestamp is the time it was given.
  command.clear_event_time();
  *command.mutable_snooze_until() = Time("2024-04-20T08:00:00Z");
  const int64_t kafka_ms = 1713600000000;  // 2024-04-20T08:00:00Z
  EXPECT_EQ(
      Rejected(Decode(DocType::kCommand, Format::kProtobuf, command.SerializeAsString(), kafka_ms))
          .field,
      "snooze_until");
  *command.mutable_snooze_until() = Time("2024-04-20T08:00:01Z");
  Accepted(Decode(DocType::kCommand, Format::kProtobuf, command.SerializeAsString(), kafka_ms));
  // Other actions do not read it.
  *command.mutable_snooze_until() = Time("2024-04-19T00:00:00Z");
  command.set_action(v1::Command::ACK);
  Accepted(Decode(DocType::kCommand, Format::kProtobuf, command.SerializeAsString(), kafka_ms));
}

TEST(Validate, RejectsSnoozeWithoutSnoozeUntil) {
  v1::Command command = testing::ValidCommand();
  command.clear_snooze_until();
  ExpectRejected(DocType::kCommand, command, Reason::kMissingField, "snooze_until");
  command.set_action(v1::Command::ACK);
  Accepted(Decode(DocType::kCommand, Format::kProtobuf, command.SerializeAsString(), {}));
}

}  // namespace
}  // namespace closeloop::ingest
