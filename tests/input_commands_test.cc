// ingest::Input against a real consumer on the embedded Kafka (label
// integration): commands (kept with the record they were read from, and read
// to their end before any source record) and the internal events topic (a
// matcher task's partition only, its records kept as the ingest stage wrote
// them).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/input_testing.h"

namespace closeloop::ingest {
namespace {

using namespace input_testing;  // the fixture and its helpers

TEST_F(InputTest, CommandsKeepTheRecordTheyWereReadFrom) {
  const std::string value = Json(testing::ValidCommand());
  const Headers headers = {{"from", "slack"}};
  ASSERT_NO_FATAL_FAILURE(
      Produce({{.topic = kCommands, .value = "{}"},
               {.topic = kCommands, .value = value, .key = "acme/ex-1", .headers = headers}}));
  Open(Inputs());
  const Batch& batch = ReadRecords(2);
  ASSERT_EQ(batch.commands.size(), 1u);
  const CommandRecord& c = batch.commands[0];
  EXPECT_EQ(c.event.command().command_id(), "cmd-1");
  EXPECT_EQ(c.event.origin().topic(), kCommands);
  EXPECT_EQ(c.event.origin().offset(), 1);
  EXPECT_EQ(c.original.topic, kCommands);
  EXPECT_EQ(c.original.partition, 0);
  EXPECT_EQ(c.original.offset, 1);
  EXPECT_EQ(c.original.key, "acme/ex-1");
  EXPECT_EQ(c.original.value, value);
  EXPECT_EQ(c.original.headers, headers);
  // Commands feed no watermark.
  EXPECT_TRUE(tracker_.Progress().empty());
  EXPECT_TRUE(batch.events.empty());
}

// The sources wait until the commands topic has been read to its end: a
// rebuild keeps the commands given before the sources pass their time
// (app/parked_commands.h), whichever partitions the consumer fetches first.
TEST_F(InputTest, CommandsAreReadToTheirEndBeforeAnySourceRecord) {
  std::vector<Record> records;
  for (int i = 0; i < 20; ++i) {
    v1::Deal deal = testing::ValidDeal();
    deal.set_deal_id("D-" + std::to_string(i));
    records.push_back({.topic = kDeals, .partition = i % 2, .value = Json(deal)});
  }
  for (int i = 0; i < 5; ++i) {
    v1::Command command = testing::ValidCommand();
    command.set_command_id("cmd-" + std::to_string(i));
    records.push_back({.topic = kCommands, .value = Json(command)});
  }
  ASSERT_NO_FATAL_FAILURE(Produce(records));
  Open(Inputs());
  Batch batch;
  std::vector<std::string> order;  // "command" or "deal", as read
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (batch.records < 25 && std::chrono::steady_clock::now() < deadline) {
    const int events = batch.events.size();
    const size_t commands = batch.commands.size();
    ASSERT_TRUE(input_->Poll(1, std::chrono::milliseconds(100), batch).ok());
    if (batch.commands.size() > commands) order.push_back("command");
    if (batch.events.size() > events) order.push_back("deal");
  }
  ASSERT_EQ(order.size(), 25u);
  EXPECT_EQ(std::count(order.begin(), order.begin() + 5, "command"), 5)
      << "a source record was read before the commands were at their end";
  for (int i = 0; i < 50 && !input_->AllCaughtUp(); ++i) {
    ASSERT_TRUE(input_->Poll(1, std::chrono::milliseconds(100), batch).ok());
  }
  EXPECT_TRUE(input_->AllCaughtUp()) << "the sources resumed";
}

TEST_F(InputTest, InternalTopicIsReadFromItsPartitionOnly) {
  v1::Event watermark;
  v1::Watermark* w = watermark.mutable_watermark();
  w->set_source(v1::SOURCE_BILLING);
  w->set_source_partition(1);
  w->set_source_partitions(2);
  *w->mutable_event_time() = Time("2024-03-02T00:00:00Z");
  v1::Event stray = watermark;
  stray.mutable_watermark()->set_source_partition(2);  // of 2 partitions: 0 and 1
  v1::Event command;
  *command.mutable_command() = testing::ValidCommand();
  command.mutable_origin()->set_topic(kCommands);
  command.mutable_origin()->set_offset(3);
  command.set_original_key("acme/ex-1");
  command.set_original_value("{...}");
  v1::Event::Header* h = command.add_original_headers();
  h->set_name("from");
  h->set_value("slack");
  const Headers headers = {{"writer", "someone else"}};
  ASSERT_NO_FATAL_FAILURE(Produce({
      {.topic = kEvents, .partition = 0, .value = Serialized(DealEvent("D-0", 0))},
      {.topic = kEvents, .partition = 1, .value = Serialized(DealEvent("D-1", 7))},
      {.topic = kEvents, .partition = 1, .value = Serialized(watermark)},
      {.topic = kEvents, .partition = 1, .value = "garbage", .key = "g", .headers = headers},
      {.topic = kEvents, .partition = 1, .value = Serialized(stray)},
      {.topic = kEvents, .partition = 1, .value = Serialized(command)},
  }));
  Open(Internal());
  EXPECT_FALSE(input_->AllCaughtUp());
  const Batch& batch = ReadToEnd(5);
  EXPECT_EQ(batch.records, 5);
  EXPECT_EQ(batch.next_offsets,
            (std::map<std::pair<std::string, int32_t>, int64_t>{{{kEvents, 1}, 5}}));

  // Documents keep the origin the ingest stage gave them.
  ASSERT_EQ(batch.events.size(), 1);
  EXPECT_EQ(batch.events[0].deal().deal_id(), "D-1");
  EXPECT_EQ(batch.events[0].origin().topic(), kDeals);
  EXPECT_EQ(batch.events[0].origin().offset(), 7);

  ASSERT_EQ(batch.watermarks.size(), 1u);
  EXPECT_EQ(batch.watermarks[0].source(), v1::SOURCE_BILLING);
  EXPECT_EQ(batch.watermarks[0].source_partition(), 1);

  ASSERT_EQ(batch.dead_letters.size(), 2u);
  const DeadLetter* garbage = LetterAt(batch, kEvents, 1, 2);
  ASSERT_NE(garbage, nullptr);
  EXPECT_EQ(garbage->rejection.reason, Reason::kMalformedProtobuf);
  EXPECT_EQ(garbage->value, "garbage");
  // Something other than the ingest stage wrote it: its key and headers may
  // say what, and the DLQ record is keyed like the original.
  EXPECT_EQ(garbage->key, "g");
  EXPECT_EQ(garbage->headers, headers);
  const DeadLetter* bad_watermark = LetterAt(batch, kEvents, 1, 3);
  ASSERT_NE(bad_watermark, nullptr);
  EXPECT_EQ(bad_watermark->rejection.reason, Reason::kInvalidValue);
  EXPECT_EQ(bad_watermark->value, Serialized(stray));

  // A refused command is dead-lettered as the ingest stage read it.
  ASSERT_EQ(batch.commands.size(), 1u);
  const DeadLetter& original = batch.commands[0].original;
  EXPECT_EQ(original.topic, kCommands);
  EXPECT_EQ(original.offset, 3);
  EXPECT_EQ(original.key, "acme/ex-1");
  EXPECT_EQ(original.value, "{...}");
  EXPECT_EQ(original.headers, (Headers{{"from", "slack"}}));
  EXPECT_TRUE(batch.commands[0].event.original_value().empty());

  // The internal topic feeds no source watermark: its records carry them.
  EXPECT_TRUE(tracker_.Progress().empty());
  EXPECT_FALSE(tracker_.AllCaughtUp());
  EXPECT_TRUE(input_->AllCaughtUp());

  // A record after the end makes its partition busy again.
  ASSERT_NO_FATAL_FAILURE(
      Produce({{.topic = kEvents, .partition = 1, .value = Serialized(DealEvent("D-2", 8))}}));
  Batch more;
  ASSERT_TRUE(input_->Poll(1, std::chrono::seconds(10), more).ok());
  EXPECT_EQ(more.events.size(), 1);
  EXPECT_FALSE(input_->AllCaughtUp());
}

}  // namespace
}  // namespace closeloop::ingest
