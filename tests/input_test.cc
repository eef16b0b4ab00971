// ingest::Input against a real consumer on the embedded Kafka (label
// integration): what each record of a source topic becomes in the Batch (an
// event with its origin, or a dead letter with its reason and the record as
// it was read; SPEC §3), the Kafka timestamp as the fallback event time,
// what the watermark tracker learns (arrivals, event times, partition ends;
// SPEC §6) and max_records. Commands and the internal events topic:
// tests/input_commands_test.cc.
#include "tests/input_testing.h"

namespace closeloop::ingest {
namespace {

using namespace input_testing;  // the fixture and its helpers

TEST_F(InputTest, ValidRecordsBecomeEventsWithTheirOriginAndFeedTheWatermark) {
  v1::Deal first = testing::ValidDeal();
  v1::Deal second = testing::ValidDeal();
  second.set_deal_id("D-2");
  *second.mutable_event_time() = Time("2024-03-05T00:00:00Z");
  ASSERT_NO_FATAL_FAILURE(Produce({{.topic = kDeals, .partition = 1, .value = Json(first)},
                                   {.topic = kDeals, .partition = 1, .value = Json(second)}}));
  Open(Inputs());
  const Batch& batch = ReadToEnd(2);
  ASSERT_EQ(batch.events.size(), 2);
  EXPECT_TRUE(batch.dead_letters.empty());
  EXPECT_EQ(batch.records, 2);
  for (int64_t offset : {0, 1}) {
    const v1::Event& e = batch.events[static_cast<int>(offset)];
    EXPECT_EQ(e.deal().deal_id(), offset == 0 ? "D-1" : "D-2");
    EXPECT_EQ(e.origin().topic(), kDeals);
    EXPECT_EQ(e.origin().partition(), 1);
    EXPECT_EQ(e.origin().offset(), offset);
  }
  // The next offset to read, per partition read: what a restart resumes at.
  EXPECT_EQ(batch.next_offsets,
            (std::map<std::pair<std::string, int32_t>, int64_t>{{{kDeals, 1}, 2}}));
  EXPECT_EQ(ProgressOf(tracker_, Source::kCrm, 1), EventTimeOf(batch.events[1]));
  EXPECT_EQ(ProgressOf(tracker_, Source::kCrm, 0), std::nullopt);
}

TEST_F(InputTest, RejectedRecordsAreDeadLetteredAsTheyWereRead) {
  v1::Deal negative = testing::ValidDeal();
  negative.set_amount_minor(-5);
  const std::string garbage = "{not json";
  const Headers headers = {{"trace", "abc"}, {"bin", std::string("\0\x01\xfe", 3)}};
  ASSERT_NO_FATAL_FAILURE(Produce({
      {.topic = kDeals, .partition = 0, .value = Json(testing::ValidDeal())},
      {.topic = kDeals,
       .partition = 0,
       .value = garbage,
       .key = "k-1",
       .headers = headers,
       .timestamp_ms = 1'700'000'000'123},
      {.topic = kDeals, .partition = 0, .value = Json(negative)},
      {.topic = kInvoices, .partition = 0, .value = std::nullopt, .key = "gone"},
      {.topic = kCommands, .partition = 0, .value = "{\"command_id\": 7}", .key = "c"},
  }));
  Open(Inputs());
  const Batch& batch = ReadRecords(5);
  EXPECT_EQ(batch.records, 5);
  ASSERT_EQ(batch.events.size(), 1);
  EXPECT_TRUE(batch.commands.empty());
  ASSERT_EQ(batch.dead_letters.size(), 4u);

  const DeadLetter* bad = LetterAt(batch, kDeals, 0, 1);
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->rejection.reason, Reason::kMalformedJson);
  EXPECT_EQ(bad->key, "k-1");
  EXPECT_EQ(bad->value, garbage);
  EXPECT_EQ(bad->headers, headers);
  EXPECT_EQ(bad->value_bytes, std::nullopt);
  EXPECT_EQ(bad->timestamp_ms, 1'700'000'000'123);

  const DeadLetter* violation = LetterAt(batch, kDeals, 0, 2);
  ASSERT_NE(violation, nullptr);
  EXPECT_EQ(violation->rejection.reason, Reason::kNegativeAmount);
  EXPECT_EQ(violation->rejection.field, "amount_minor");
  EXPECT_EQ(violation->value, Json(negative));
  EXPECT_EQ(violation->key, "");
  EXPECT_TRUE(violation->headers.empty());

  const DeadLetter* tombstone = LetterAt(batch, kInvoices, 0, 0);
  ASSERT_NE(tombstone, nullptr);
  EXPECT_EQ(tombstone->rejection.reason, Reason::kEmpty);
  EXPECT_EQ(tombstone->key, "gone");
  EXPECT_EQ(tombstone->value, "");

  const DeadLetter* command = LetterAt(batch, kCommands, 0, 0);
  ASSERT_NE(command, nullptr);
  EXPECT_EQ(command->rejection.reason, Reason::kWrongType);
  EXPECT_EQ(command->key, "c");

  // A partition that held only rejected records was read: it is busy.
  EXPECT_GT(tracker_.LastActivity(Source::kBilling), started_);
  EXPECT_EQ(tracker_.LastActivity(Source::kPayments), started_);
  EXPECT_EQ(batch.next_offsets.at({kDeals, 0}), 3);
  EXPECT_EQ(batch.next_offsets.at({kInvoices, 0}), 1);
  EXPECT_EQ(batch.next_offsets.at({kCommands, 0}), 1);
}

TEST_F(InputTest, KafkaTimestampFillsAMissingEventTime) {
  constexpr int64_t kDealMs = 1'700'000'000'123;
  constexpr int64_t kOrderMs = 1'700'000'100'456;
  constexpr int64_t kDeleteMs = 1'700'000'200'789;
  constexpr int64_t kCommandMs = 1'700'000'300'999;
  v1::Deal deal = testing::ValidDeal();
  deal.clear_event_time();
  deal.clear_close_time();
  v1::Command command = testing::ValidCommand();
  command.clear_event_time();
  // A Debezium envelope without source.ts_ms or ts_ms, then its row's
  // tombstone: both take the record's time.
  const std::string create =
      R"({"before":null,"after":{"id":5,"amount":"10.00","cur":"USD"},"op":"c"})";
  ASSERT_NO_FATAL_FAILURE(Produce({
      {.topic = kDeals, .partition = 0, .value = Json(deal), .timestamp_ms = kDealMs},
      {.topic = kOrders, .value = create, .key = R"({"id":5})", .timestamp_ms = kOrderMs},
      {.topic = kOrders, .value = std::nullopt, .key = R"({"id":5})", .timestamp_ms = kDeleteMs},
      {.topic = kCommands, .value = Json(command), .timestamp_ms = kCommandMs},
  }));
  Open(Inputs());
  const Batch& batch = ReadRecords(4);
  for (const DeadLetter& d : batch.dead_letters) {
    ADD_FAILURE() << d.topic << " @" << d.offset << ": " << ReasonName(d.rejection.reason) << " "
                  << d.rejection.message;
  }
  ASSERT_EQ(batch.events.size(), 3);
  ASSERT_EQ(batch.commands.size(), 1u);
  const v1::Event* deal_event = nullptr;
  std::vector<const v1::Event*> orders;
  for (const v1::Event& e : batch.events) {
    if (e.has_deal()) deal_event = &e;
    if (e.has_order()) orders.push_back(&e);
  }
  ASSERT_NE(deal_event, nullptr);
  EXPECT_EQ(EventTimeOf(*deal_event), FromMillis(kDealMs));
  EXPECT_EQ(ProgressOf(tracker_, Source::kCrm, 0), FromMillis(kDealMs));

  ASSERT_EQ(orders.size(), 2u);
  EXPECT_NE(orders[0]->order().status(), v1::Order::CANCELLED);
  EXPECT_EQ(EventTimeOf(*orders[0]), FromMillis(kOrderMs));
  EXPECT_EQ(orders[0]->origin().offset(), 0);
  EXPECT_EQ(orders[1]->order().status(), v1::Order::CANCELLED);
  EXPECT_EQ(EventTimeOf(*orders[1]), FromMillis(kDeleteMs));
  EXPECT_EQ(orders[1]->origin().offset(), 1);
  EXPECT_EQ(ProgressOf(tracker_, Source::kErp, 0), FromMillis(kDeleteMs));

  EXPECT_EQ(EventTimeOf(batch.commands[0].event), FromMillis(kCommandMs));
}

// Kafka's timestamp -1 means none (a record of the old message format, or
// a producer that gave none): a Debezium row with no time of its own is
// refused as a canonical order without event_time is, not dated 1969.
TEST_F(InputTest, AKafkaTimestampOfMinusOneIsNoTime) {
  const std::string create =
      R"({"before":null,"after":{"id":5,"amount":"10.00","cur":"USD"},"op":"c"})";
  ASSERT_NO_FATAL_FAILURE(
      Produce({{.topic = kOrders, .value = create, .key = R"({"id":5})", .timestamp_ms = -1}}));
  Open(Inputs());
  const Batch& batch = ReadRecords(1);
  for (const v1::Event& e : batch.events) {
    ADD_FAILURE() << "accepted with event time " << e.order().event_time().ShortDebugString();
  }
  const DeadLetter* letter = LetterAt(batch, kOrders, 0, 0);
  ASSERT_NE(letter, nullptr);
  EXPECT_EQ(letter->rejection.reason, Reason::kMissingField);
  EXPECT_EQ(letter->rejection.field, "event_time");
  EXPECT_EQ(letter->timestamp_ms, std::nullopt);
}

TEST_F(InputTest, ReadsAtMostMaxRecordsPerPoll) {
  std::vector<Record> records;
  for (int i = 0; i < 5; ++i) {
    v1::Deal deal = testing::ValidDeal();
    deal.set_deal_id("D-" + std::to_string(i));
    records.push_back({.topic = kDeals, .partition = 0, .value = Json(deal)});
  }
  ASSERT_NO_FATAL_FAILURE(Produce(records));
  Open(Inputs());
  Batch batch;
  for (int64_t expected : {2, 4, 5}) {
    ASSERT_TRUE(input_->Poll(2, std::chrono::seconds(10), batch).ok());
    EXPECT_EQ(batch.records, expected);
    EXPECT_EQ(static_cast<int64_t>(batch.events.size()), expected);
    EXPECT_EQ(batch.next_offsets.at({kDeals, 0}), expected);
  }
}

TEST_F(InputTest, PollReturnsOnceEveryInputPartitionIsAtItsEnd) {
  Open(Inputs());
  // The tracker knows every assigned partition before any is read, so a
  // watermark cannot pass a partition it has not heard from.
  matcher::WatermarkSet before;
  tracker_.Publish(WallNow(), before);
  EXPECT_EQ(before.Partitions(Source::kCrm).size(), 2u);
  EXPECT_EQ(before.Partitions(Source::kBilling).size(), 1u);
  EXPECT_EQ(before.Partitions(Source::kErp).size(), 1u);
  EXPECT_FALSE(input_->AllCaughtUp());

  ASSERT_NO_FATAL_FAILURE(
      Produce({{.topic = kDeals, .partition = 1, .value = Json(testing::ValidDeal())}}));
  Batch batch;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(input_->Poll(1000, std::chrono::seconds(20), batch).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10))
      << "waited for a batch that could not fill";
  EXPECT_EQ(batch.records, 1);
  EXPECT_TRUE(input_->AllCaughtUp());
  EXPECT_TRUE(tracker_.AllCaughtUp());

  // A record after the end makes its partition busy again.
  ASSERT_NO_FATAL_FAILURE(
      Produce({{.topic = kDeals, .partition = 0, .value = Json(testing::ValidDeal())}}));
  ASSERT_TRUE(input_->Poll(1, std::chrono::seconds(10), batch).ok());
  EXPECT_EQ(batch.records, 2);
  EXPECT_FALSE(input_->AllCaughtUp());
}

}  // namespace
}  // namespace closeloop::ingest
