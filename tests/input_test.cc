// ingest::Input against a real consumer on the embedded Kafka (label
// integration): what each record read becomes in the Batch (an event with its
// origin, a command with its original, or a dead letter with its reason and
// the record as it was read; SPEC §3), the Kafka timestamp as the fallback
// event time, what the watermark tracker learns (arrivals, event times,
// partition ends; SPEC §6), max_records, and the internal events topic.
#include "ingest/input.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/config.h"
#include "app/embedded_kafka.h"
#include "app/kafka_clients.h"
#include "ingest/adapter.h"
#include "ingest/decode_testing.h"
#include "ingest/normalize.h"
#include "ingest/record_cache.h"
#include "ingest/watermark_tracker.h"

namespace closeloop::ingest {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;
using matcher::Source;
using testing::Json;
using testing::Time;

constexpr char kDeals[] = "deals";        // 2 partitions, source kCrm
constexpr char kInvoices[] = "invoices";  // 1 partition, source kBilling
constexpr char kOrders[] = "orders";      // 1 partition, Debezium, source kErp
constexpr char kCommands[] = "commands";  // 1 partition, no source
constexpr char kEvents[] = "events";      // 2 partitions, the internal events topic

// One record to produce.
struct Record {
  std::string topic;
  int32_t partition = 0;
  std::optional<std::string> value;  // nullopt: a tombstone (null value)
  std::optional<std::string> key;
  Headers headers;
  int64_t timestamp_ms = 0;  // 0: the producer's clock
};

EventTime FromMillis(int64_t ms) {
  return EventTime(std::chrono::duration_cast<matcher::Duration>(std::chrono::milliseconds(ms)));
}

// The dead letter read from topic/partition/offset; fails the test if none.
const DeadLetter* LetterAt(const Batch& batch, const std::string& topic, int32_t partition,
                           int64_t offset) {
  for (const DeadLetter& d : batch.dead_letters) {
    if (d.topic == topic && d.partition == partition && d.offset == offset) return &d;
  }
  ADD_FAILURE() << "no dead letter for " << topic << " [" << partition << "] @" << offset;
  return nullptr;
}

// The event progress the tracker holds for one partition, if any.
std::optional<EventTime> ProgressOf(const WatermarkTracker& tracker, Source source, int partition) {
  for (const auto& [key, time] : tracker.Progress()) {
    if (key == std::pair(source, partition)) return time;
  }
  return std::nullopt;
}

std::string Serialized(const v1::Event& event) {
  std::string bytes;
  EXPECT_TRUE(event.SerializeToString(&bytes));
  return bytes;
}

v1::Event DealEvent(const std::string& deal_id, int64_t origin_offset) {
  v1::Event event;
  *event.mutable_deal() = testing::ValidDeal();
  event.mutable_deal()->set_deal_id(deal_id);
  event.mutable_origin()->set_topic(kDeals);
  event.mutable_origin()->set_partition(1);
  event.mutable_origin()->set_offset(origin_offset);
  return event;
}

class InputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kafka = app::EmbeddedKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = std::move(*kafka);
    for (const auto& [topic, partitions] : std::vector<std::pair<std::string, int>>{
             {kDeals, 2}, {kInvoices, 1}, {kOrders, 1}, {kCommands, 1}, {kEvents, 2}}) {
      ASSERT_TRUE(kafka_->CreateTopic(topic, partitions).ok()) << topic;
    }
    auto producer = app::MakeProducer(config_, kafka_->bootstrap());
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    Mapping m;
    m.fields["tenant_id"].constant = "acme";
    m.fields["order_id"].path = "id";
    m.fields["amount"].path = "amount";
    m.fields["currency"].path = "cur";
    adapter_ = MakeAdapter(Format::kDebezium, DocType::kOrder, m, {}, cache_);
  }

  // The input sources, a Debezium topic and the commands topic, as the
  // pipeline binds them.
  std::vector<TopicBinding> Inputs() {
    return {{kDeals, DocType::kDeal, Format::kAuto, Source::kCrm},
            {kInvoices, DocType::kInvoice, Format::kAuto, Source::kBilling},
            {.name = kOrders,
             .type = DocType::kOrder,
             .format = Format::kDebezium,
             .source = Source::kErp,
             .adapter = adapter_.get()},
            {kCommands, DocType::kCommand, Format::kAuto, std::nullopt}};
  }

  // A matcher task's binding: partition 1 of the internal events topic.
  static std::vector<TopicBinding> Internal() {
    return {{.name = kEvents, .type = DocType::kDeal, .internal = true, .partition = 1}};
  }

  void Produce(const std::vector<Record>& records) {
    for (const Record& r : records) {
      RdKafka::Headers* headers = RdKafka::Headers::create();
      for (const auto& [name, value] : r.headers) {
        headers->add(name, value.data(), value.size());
      }
      const RdKafka::ErrorCode err =
          producer_->produce(r.topic, r.partition, RdKafka::Producer::RK_MSG_COPY,
                             r.value ? const_cast<char*>(r.value->data()) : nullptr,
                             r.value ? r.value->size() : 0, r.key ? r.key->data() : nullptr,
                             r.key ? r.key->size() : 0, r.timestamp_ms, headers, nullptr);
      if (err != RdKafka::ERR_NO_ERROR) delete headers;
      ASSERT_EQ(err, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(err);
    }
    ASSERT_EQ(producer_->flush(10000), RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(producer_->outq_len(), 0);
  }

  // An Input over `bindings` on a new consumer, assigned from the beginning.
  Input& Open(std::vector<TopicBinding> bindings) {
    auto consumer = app::MakeConsumer(config_, kafka_->bootstrap());
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    consumer_ = std::move(*consumer);
    input_ = std::make_unique<Input>(*consumer_, std::move(bindings), Limits{}, tracker_);
    const absl::Status assigned = input_->AssignAll(
        [](const std::string&, int32_t) { return std::optional<int64_t>(); }, false);
    EXPECT_TRUE(assigned.ok()) << assigned;
    return *input_;
  }

  // Polls into a new batch until `done` holds (fails the test after 15 s).
  const Batch& ReadUntil(const std::function<bool(const Batch&)>& done) {
    Batch& batch = batches_.emplace_back();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!done(batch)) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "timed out with " << batch.records << " records read";
        break;
      }
      const absl::Status polled = input_->Poll(1000, std::chrono::milliseconds(100), batch);
      EXPECT_TRUE(polled.ok()) << polled;
    }
    return batch;
  }
  const Batch& ReadRecords(int64_t n) {
    return ReadUntil([&](const Batch& b) { return b.records >= n; });
  }
  // Reads until `n` records and every input partition is at its end.
  const Batch& ReadToEnd(int64_t n) {
    return ReadUntil([&](const Batch& b) { return b.records >= n && input_->AllCaughtUp(); });
  }

  // What ReadUntil read, for the test's lifetime (a Batch does not move: its
  // documents are on its arena).
  std::list<Batch> batches_;
  app::Config config_;
  const EventTime started_ = WallNow() - std::chrono::hours(1);
  WatermarkTracker tracker_{{}, started_};
  std::unique_ptr<app::EmbeddedKafka> kafka_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  MemoryRecordCache cache_;
  std::unique_ptr<Adapter> adapter_;
  std::unique_ptr<Input> input_;
};

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
