#include "app/rekey.h"

#include <gtest/gtest.h>

#include "ingest/dead_letter.h"

namespace closeloop::app {
namespace {

using matcher::EventTime;
using matcher::Source;

EventTime Ms(int64_t ms) { return EventTime(matcher::Duration(ms)); }

TEST(TaskOfTenant, IsFnv1aModuloTasksSoItNeverChanges) {
  // Fixed values: a different hash would move tenants between matcher tasks
  // whose stores hold their state.
  EXPECT_EQ(TaskOfTenant("acme", 2), 1);
  EXPECT_EQ(TaskOfTenant("globex", 2), 0);
  EXPECT_EQ(TaskOfTenant("acme", 4), 3);
  EXPECT_EQ(TaskOfTenant("initech", 3), 0);
  for (int tasks = 1; tasks < 10; ++tasks) EXPECT_LT(TaskOfTenant("any", tasks), tasks);
  EXPECT_EQ(TaskOfTenant("anything", 1), 0);
}

TEST(RekeyedRecord, GoesToItsTenantsPartitionAndKeepsTheCommandsOriginal) {
  v1::Event deal;
  deal.mutable_origin()->set_topic("crm.deals");
  deal.mutable_origin()->set_offset(7);
  deal.mutable_deal()->set_tenant_id("acme");
  deal.mutable_deal()->set_deal_id("D-1");
  state::OutboxRecord r = RekeyedRecord(deal, nullptr, "closeloop.events", 4);
  EXPECT_EQ(r.topic, "closeloop.events");
  EXPECT_EQ(r.key, "acme");
  EXPECT_EQ(r.partition, 3);
  v1::Event back;
  ASSERT_TRUE(back.ParseFromString(r.value));
  EXPECT_EQ(back.SerializeAsString(), deal.SerializeAsString());

  // A command carries the record it was read from, which the matcher task
  // takes out again to dead-letter it if it refuses the command.
  v1::Event command;
  command.mutable_origin()->set_topic("closeloop.commands");
  command.mutable_origin()->set_partition(1);
  command.mutable_origin()->set_offset(9);
  command.mutable_command()->set_tenant_id("globex");
  const ingest::DeadLetter original{
      .topic = "closeloop.commands",
      .partition = 1,
      .offset = 9,
      .key = "k",
      .value = R"({"action":"ACK"})",
      .headers = {{"slack-user", "U123"}, {"trace", std::string("\0\xff", 2)}}};
  r = RekeyedRecord(command, &original, "closeloop.events", 2);
  EXPECT_EQ(r.partition, 0);
  ASSERT_TRUE(back.ParseFromString(r.value));
  const ingest::DeadLetter taken = ingest::TakeOriginal(back);
  EXPECT_EQ(taken.topic, original.topic);
  EXPECT_EQ(taken.partition, original.partition);
  EXPECT_EQ(taken.offset, original.offset);
  EXPECT_EQ(taken.key, original.key);
  EXPECT_EQ(taken.value, original.value);
  EXPECT_EQ(taken.headers, original.headers);
  // What is left is the command as the ingest stage wrote it.
  EXPECT_EQ(back.SerializeAsString(), command.SerializeAsString());
}

TEST(WatermarkSender, SendsEachRiseToEveryTaskAndTheTaskAppliesIt) {
  matcher::WatermarkSet wm;
  wm.SetPartitionCount(Source::kCrm, 2);
  wm.Advance(Source::kCrm, 0, Ms(5'000));
  WatermarkSender sender("events", 3);
  std::vector<state::OutboxRecord> out;
  sender.Append(wm, Ms(0), true, out);
  // Partition 1 of crm has nothing yet: only partition 0, to each task.
  ASSERT_EQ(out.size(), 3u);
  for (int task = 0; task < 3; ++task) EXPECT_EQ(out[task].partition, task);

  matcher::WatermarkSet task;
  v1::Event e;
  ASSERT_TRUE(e.ParseFromString(out[0].value));
  ApplyWatermark(e.watermark(), task);
  EXPECT_EQ(task.Partitions(Source::kCrm),
            (std::vector<std::pair<int, EventTime>>{{0, Ms(5'000)}, {1, matcher::kMinTime}}));
  EXPECT_EQ(task.Of(Source::kCrm), matcher::kMinTime);  // partition 1 holds it back

  out.clear();
  sender.Append(wm, Ms(10), true, out);
  EXPECT_TRUE(out.empty()) << "nothing rose";
  wm.Advance(Source::kCrm, 1, Ms(-1'500));  // before 1970: still exact to the millisecond
  sender.Append(wm, Ms(20), true, out);
  ASSERT_EQ(out.size(), 3u);
  ASSERT_TRUE(e.ParseFromString(out[2].value));
  ApplyWatermark(e.watermark(), task);
  EXPECT_EQ(task.Of(Source::kCrm), Ms(-1'500));

  // A rise in a batch that read nothing (the wall clock's) waits until a
  // second has passed since the last send; one with records does not.
  out.clear();
  wm.Advance(Source::kCrm, 0, Ms(6'000));
  sender.Append(wm, Ms(500), false, out);
  EXPECT_TRUE(out.empty()) << "480 ms after the last send";
  EXPECT_TRUE(sender.Pending(wm));
  sender.Append(wm, Ms(1'020), false, out);
  EXPECT_EQ(out.size(), 3u) << "a second after the last send";
  EXPECT_FALSE(sender.Pending(wm));
  out.clear();
  wm.Advance(Source::kCrm, 0, Ms(7'000));
  sender.Append(wm, Ms(1'030), true, out);
  EXPECT_EQ(out.size(), 3u) << "records read: sent at once";
}

// The idle interval counts from the last send, not from the last batch.
TEST(WatermarkSender, ABatchThatSendsNothingDoesNotHoldBackTheNextRise) {
  matcher::WatermarkSet wm;
  wm.SetPartitionCount(Source::kCrm, 1);
  wm.Advance(Source::kCrm, 0, Ms(5'000));
  WatermarkSender sender("events", 2);
  std::vector<state::OutboxRecord> out;
  sender.Append(wm, Ms(0), true, out);
  ASSERT_EQ(out.size(), 2u);
  out.clear();
  sender.Append(wm, Ms(5'000), true, out);  // records read, nothing rose
  EXPECT_TRUE(out.empty());
  wm.Advance(Source::kCrm, 0, Ms(6'000));
  sender.Append(wm, Ms(5'100), false, out);
  EXPECT_EQ(out.size(), 2u) << "5.1 s after the last send";
}

// A command too large to forward whole goes without its value, its size
// kept, so that its dead letter can still say how large it was.
TEST(RekeyedRecord, ALargeCommandsOriginalIsTrimmedWithItsSizeKept) {
  v1::Event command;
  command.mutable_command()->set_tenant_id("acme");
  const ingest::DeadLetter original{.topic = "closeloop.commands",
                                    .partition = 0,
                                    .offset = 3,
                                    .key = "k",
                                    .value = std::string(ingest::kMaxDeadLetterBytes + 1, 'x')};
  const state::OutboxRecord r = RekeyedRecord(command, &original, "closeloop.events", 2);
  EXPECT_LT(r.value.size(), ingest::kMaxDeadLetterBytes);
  v1::Event back;
  ASSERT_TRUE(back.ParseFromString(r.value));
  const ingest::DeadLetter taken = ingest::TakeOriginal(back);
  EXPECT_EQ(taken.key, "k");
  EXPECT_EQ(taken.value, "");
  EXPECT_EQ(taken.value_bytes, ingest::kMaxDeadLetterBytes + 1);
}

TEST(Roles, CheckRoleSaysWhatToRunAndConfigForRoleSeparatesStores) {
  Config config;
  EXPECT_TRUE(CheckRole(config, {}).ok());
  config.pipeline.tasks = 3;
  absl::Status s = CheckRole(config, {});
  EXPECT_NE(s.message().find("--role ingest"), std::string_view::npos) << s;
  EXPECT_TRUE(CheckRole(config, {Role::kIngest}).ok());
  EXPECT_TRUE(CheckRole(config, {Role::kMatcher, 2}).ok());
  s = CheckRole(config, {Role::kMatcher, 3});
  EXPECT_NE(s.message().find("tasks are 0 to 2"), std::string_view::npos) << s;
  s = CheckRole(config, {Role::kMatcher, -1});
  EXPECT_NE(s.message().find("--task -1 is not a matcher task"), std::string_view::npos) << s;

  config.state_dir = "/var/lib/closeloop";
  config.kafka.group_id = "g";
  const Config task = ConfigForRole(config, {Role::kMatcher, 2});
  EXPECT_EQ(task.state_dir, "/var/lib/closeloop/task-2");
  EXPECT_EQ(task.TransactionalId(), "g-outbox-task-2");
  const Config ingest = ConfigForRole(config, {Role::kIngest});
  EXPECT_EQ(ingest.state_dir, "/var/lib/closeloop/ingest");
  EXPECT_EQ(ingest.TransactionalId(), "g-outbox-ingest");
  EXPECT_EQ(ConfigForRole(config, {}).state_dir, config.state_dir);
}

}  // namespace
}  // namespace closeloop::app
