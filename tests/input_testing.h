// The InputTest fixture: ingest::Input against a real consumer on the embedded
// Kafka, with the topics, producing and polling helpers the tests of
// tests/input_test.cc and tests/input_commands_test.cc share.
#pragma once

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
#include "ingest/input.h"
#include "ingest/normalize.h"
#include "ingest/record_cache.h"
#include "ingest/watermark_tracker.h"

namespace closeloop::ingest::input_testing {

using Headers = std::vector<std::pair<std::string, std::string>>;
using matcher::Source;
using testing::Json;
using testing::Time;

inline constexpr char kDeals[] = "deals";        // 2 partitions, source kCrm
inline constexpr char kInvoices[] = "invoices";  // 1 partition, source kBilling
inline constexpr char kOrders[] = "orders";      // 1 partition, Debezium, source kErp
inline constexpr char kCommands[] = "commands";  // 1 partition, no source
inline constexpr char kEvents[] = "events";      // 2 partitions, the internal events topic

// One record to produce.
struct Record {
  std::string topic;
  int32_t partition = 0;
  std::optional<std::string> value;  // nullopt: a tombstone (null value)
  std::optional<std::string> key;
  Headers headers;
  int64_t timestamp_ms = 0;  // 0: the producer's clock
};

inline EventTime FromMillis(int64_t ms) {
  return EventTime(std::chrono::duration_cast<matcher::Duration>(std::chrono::milliseconds(ms)));
}

// The dead letter read from topic/partition/offset; fails the test if none.
inline const DeadLetter* LetterAt(const Batch& batch, const std::string& topic, int32_t partition,
                                  int64_t offset) {
  for (const DeadLetter& d : batch.dead_letters) {
    if (d.topic == topic && d.partition == partition && d.offset == offset) return &d;
  }
  ADD_FAILURE() << "no dead letter for " << topic << " [" << partition << "] @" << offset;
  return nullptr;
}

// The event progress the tracker holds for one partition, if any.
inline std::optional<EventTime> ProgressOf(const WatermarkTracker& tracker, Source source,
                                           int partition) {
  for (const auto& [key, time] : tracker.Progress()) {
    if (key == std::pair(source, partition)) return time;
  }
  return std::nullopt;
}

inline std::string Serialized(const v1::Event& event) {
  std::string bytes;
  EXPECT_TRUE(event.SerializeToString(&bytes));
  return bytes;
}

inline v1::Event DealEvent(const std::string& deal_id, int64_t origin_offset) {
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

}  // namespace closeloop::ingest::input_testing
