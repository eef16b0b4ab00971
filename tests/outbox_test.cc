// The outbox publisher against the embedded Kafka (label integration): one
// transaction per call, the outbox sequence on every record, reading back
// what a topic already holds, and waiting out a broker outage.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "alerts/outbox_publisher.h"
#include "app/config.h"
#include "app/embedded_kafka.h"
#include "app/kafka_clients.h"
#include "app/pipeline.h"
#include "app/sample_company.h"
#include "app/sample_producer.h"
#include "app/topic_reader.h"
#include "ingest/input.h"
#include "state/store.h"

namespace closeloop {
namespace {

using alerts::OutboxEntry;
using alerts::OutboxPublisher;

class OutboxTest : public testing::Test {
 protected:
  void SetUp() override {
    auto kafka = app::EmbeddedKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = std::move(*kafka);
    ASSERT_TRUE(kafka_->CreateTopic("out", 3).ok());
    publisher_ = MakePublisher(config_);
    ASSERT_NE(publisher_, nullptr);
  }

  // An initialized publisher with the clients `config` makes (fencing any
  // earlier one); null after a test failure. `config` must outlive it.
  std::unique_ptr<OutboxPublisher> MakePublisher(const app::Config& config,
                                                 std::string outbox_id = "") {
    std::unique_ptr<OutboxPublisher> publisher = Uninitialized(config, std::move(outbox_id));
    if (publisher == nullptr) return nullptr;
    const absl::Status init = publisher->Init(stop_);
    EXPECT_TRUE(init.ok()) << init;
    return init.ok() ? std::move(publisher) : nullptr;
  }
  // The same before Init (its clients made, nothing asked of the broker).
  std::unique_ptr<OutboxPublisher> Uninitialized(const app::Config& config,
                                                 std::string outbox_id = "") {
    auto publisher = OutboxPublisher::Create(
        [&](RdKafka::DeliveryReportCb* reports) {
          return app::MakeTransactionalProducer(config, kafka_->bootstrap(), reports);
        },
        [&] { return app::MakeReadbackConsumer(config, kafka_->bootstrap()); },
        {.retry_backoff = std::chrono::milliseconds(200),
         .call_timeout = std::chrono::milliseconds(5000),
         .outbox_id = std::move(outbox_id)});
    EXPECT_TRUE(publisher.ok()) << publisher.status();
    return publisher.ok() ? std::move(*publisher) : nullptr;
  }

  // Brings the broker back up after `delay`, on a thread of its own for the
  // caller to join.
  std::thread BrokerBackAfter(std::chrono::seconds delay) {
    return std::thread([this, delay] {
      std::this_thread::sleep_for(delay);
      kafka_->SetBrokerDown(1, false);
    });
  }

  // Sets stop_ after `delay`, on a thread of its own for the caller to join.
  std::thread StopAfter(std::chrono::seconds delay) {
    return std::thread([this, delay] {
      std::this_thread::sleep_for(delay);
      stop_ = true;
    });
  }

  static std::vector<OutboxEntry> Entries(uint64_t first, int n) {
    std::vector<OutboxEntry> entries;
    for (int i = 0; i < n; ++i) {
      const uint64_t seq = first + static_cast<uint64_t>(i);
      entries.push_back({seq,
                         {.topic = "out",
                          .key = "k" + std::to_string(seq),
                          .value = "v" + std::to_string(seq),
                          .headers = {{"h", "x"}}}});
    }
    return entries;
  }

  app::Config config_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<app::EmbeddedKafka> kafka_;
  std::unique_ptr<OutboxPublisher> publisher_;
};

TEST_F(OutboxTest, PublishesEveryRecordWithItsSequenceAndKnowsWhereItEnded) {
  ASSERT_TRUE(publisher_->Publish(Entries(1, 50), stop_).ok());
  auto records = app::ReadTopic(kafka_->bootstrap(), "out");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 50u);
  std::set<std::string> seqs;
  int64_t total_end = 0;
  for (const app::TopicRecord& r : *records) {
    ASSERT_EQ(r.headers.size(), 2u);
    EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"h", "x"}));
    EXPECT_EQ(r.headers[1].first, alerts::kHeaderOutboxSeq);
    EXPECT_EQ(r.key, "k" + r.headers[1].second);
    seqs.insert(r.headers[1].second);
  }
  EXPECT_EQ(seqs.size(), 50u);
  for (const auto& [tp, next] : publisher_->published_to()) total_end += next;
  EXPECT_EQ(total_end, 50);  // three partitions, offsets from 0
}

// A record that names its partition (the events topic's watermarks go to
// every partition) is written there, not where its key would send it.
TEST_F(OutboxTest, ARecordThatNamesItsPartitionIsWrittenThere) {
  std::vector<OutboxEntry> entries = Entries(1, 12);
  for (OutboxEntry& e : entries) e.record.partition = 2;
  ASSERT_TRUE(publisher_->Publish(entries, stop_).ok());
  auto records = app::ReadTopic(kafka_->bootstrap(), "out");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 12u);
  for (const app::TopicRecord& r : *records) EXPECT_EQ(r.partition, 2) << r.key;
  const alerts::PartitionOffsets want = {{{"out", 2}, 12}};
  EXPECT_EQ(publisher_->published_to(), want);
}

// A record may carry a header of the sequence's name among its own (copied
// from an input record): reading back takes the publisher's, the last one.
TEST_F(OutboxTest, ReadingBackTakesTheSequenceThePublisherAdded) {
  std::vector<OutboxEntry> entries = Entries(1, 5);
  for (OutboxEntry& e : entries) e.record.headers.push_back({alerts::kHeaderOutboxSeq, "999"});
  ASSERT_TRUE(publisher_->Publish(entries, stop_).ok());
  auto held = publisher_->AlreadyPublished(Entries(1, 5), {});
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, (std::set<uint64_t>{1, 2, 3, 4, 5}));
}

TEST_F(OutboxTest, ReadsBackWhatTheTopicsHoldFromWhereItIsTold) {
  ASSERT_TRUE(publisher_->Publish(Entries(1, 20), stop_).ok());
  const alerts::PartitionOffsets after_first = publisher_->published_to();
  ASSERT_TRUE(publisher_->Publish(Entries(21, 10), stop_).ok());
  // The outbox still holds 21..40; 21..30 reached Kafka.
  auto held = publisher_->AlreadyPublished(Entries(21, 20), after_first);
  ASSERT_TRUE(held.ok()) << held.status();
  std::set<uint64_t> want;
  for (uint64_t s = 21; s <= 30; ++s) want.insert(s);
  EXPECT_EQ(*held, want);
  // From the beginning it finds the same; from the end, nothing.
  auto from_start = publisher_->AlreadyPublished(Entries(21, 20), {});
  ASSERT_TRUE(from_start.ok());
  EXPECT_EQ(*from_start, want);
  auto from_end = publisher_->AlreadyPublished(Entries(21, 20), publisher_->published_to());
  ASSERT_TRUE(from_end.ok());
  EXPECT_TRUE(from_end->empty());
}

// Where the topic's retention has deleted the start of what the outbox
// published, reading back starts at what the partition still holds (a read
// from an offset it no longer has would jump to its end and find nothing,
// and the records it holds would be published twice).
TEST_F(OutboxTest, ReadsBackWhatRetentionLeftOfWhereItIsTold) {
  // The embedded Kafka keeps about 5 MiB per partition: 8 transactions of
  // 8 records of 100 kB, all to partition 0, are more.
  std::vector<OutboxEntry> all;
  for (uint64_t first = 1; first <= 64; first += 8) {
    std::vector<OutboxEntry> batch = Entries(first, 8);
    for (OutboxEntry& e : batch) {
      e.record.partition = 0;
      e.record.value = std::string(100'000, 'x');
    }
    ASSERT_TRUE(publisher_->Publish(batch, stop_).ok());
    all.insert(all.end(), batch.begin(), batch.end());
  }
  auto held = publisher_->AlreadyPublished(all, {{{"out", 0}, 0}});
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_LT(held->size(), all.size()) << "retention deleted nothing: the test proves nothing";
  ASSERT_FALSE(held->empty());
  // What is held is the end of what was published, without a gap.
  EXPECT_EQ(*held->rbegin(), 64u);
  EXPECT_EQ(held->size(), 64u - *held->begin() + 1);
}

// Every partition's end, including those it never published to: noted before
// a first publish, they bound what a restart reads back.
TEST_F(OutboxTest, EndsNameEveryPartitionOfTheTopics) {
  std::vector<OutboxEntry> entries = Entries(1, 7);
  for (OutboxEntry& e : entries) e.record.partition = 1;
  ASSERT_TRUE(publisher_->Publish(entries, stop_).ok());
  auto ends = publisher_->Ends({"out"});
  ASSERT_TRUE(ends.ok()) << ends.status();
  const alerts::PartitionOffsets want = {{{"out", 0}, 0}, {{"out", 1}, 7}, {{"out", 2}, 0}};
  EXPECT_EQ(*ends, want);
}

// Reading back a long topic goes on for as long as it moves: a fixed bound
// of four call timeouts failed every restart once the topics held more than
// could be read in it. Each fetch here takes 100 ms and returns one
// transaction of a partition, so 40 transactions on one partition take
// about 4 s to read, against a bound of 4 x 500 ms.
TEST_F(OutboxTest, ReadingBackGoesOnWhileItMoves) {
  for (uint64_t seq = 1; seq <= 40; ++seq) {
    std::vector<OutboxEntry> one = Entries(seq, 1);
    one[0].record.partition = 0;
    ASSERT_TRUE(publisher_->Publish(one, stop_).ok());
  }
  app::Config small = config_;
  small.kafka.properties = {{"fetch.max.bytes", "1024"},
                            {"max.partition.fetch.bytes", "1024"},
                            {"message.max.bytes", "1000"}};
  auto publisher = OutboxPublisher::Create(
      [&](RdKafka::DeliveryReportCb* reports) {
        return app::MakeTransactionalProducer(config_, kafka_->bootstrap(), reports);
      },
      [&] { return app::MakeReadbackConsumer(small, kafka_->bootstrap()); },
      {.call_timeout = std::chrono::milliseconds(500)});
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  kafka_->SetLatency(1, 100);
  const auto started = std::chrono::steady_clock::now();
  auto held = (*publisher)->AlreadyPublished(Entries(1, 40), {});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->size(), 40u);
  // Otherwise the test shows nothing: the read took longer than the old bound.
  EXPECT_GT(took, std::chrono::seconds(2));
}

// Before its first publish to an output topic, the pipeline commits where
// every partition of it ends, so that a restart reads back only what came
// after: not the whole topic, which another outbox (a rebuild's predecessor,
// another matcher task) may have filled. Before, only the partitions it had
// published to were noted, after the publish: a crash before that, or any
// partition it had not published to yet, was read from the beginning.
TEST_F(OutboxTest, APipelineNotesEveryOutputPartitionsEndBeforeItsFirstPublish) {
  constexpr int kPartitions = 32;
  const app::SampleCompany company =
      app::GenerateSampleCompany({.seed = 7, .now = ingest::WallNow(), .deals_per_tenant = 10});
  auto loaded = app::LoadConfigText(company.tenants_yaml + "time:\n  idle_after: 1s\n", "test");
  ASSERT_TRUE(std::holds_alternative<app::Config>(loaded));
  app::Config config = std::get<app::Config>(std::move(loaded));
  const std::filesystem::path state = std::filesystem::path(testing::TempDir()) / "noted_ends";
  std::filesystem::remove_all(state);
  config.state_dir = state.string();
  for (const std::string& t : config.topics.Names()) {
    ASSERT_TRUE(kafka_->CreateTopic(t, t == config.topics.exceptions ? kPartitions : 1).ok());
  }
  // Another outbox's records, 3 on each partition.
  app::Config other = config_;
  other.kafka.transactional_id = "other";
  std::unique_ptr<OutboxPublisher> before = MakePublisher(other, "other");
  ASSERT_NE(before, nullptr);
  std::vector<OutboxEntry> foreign = Entries(1, 3 * kPartitions);
  for (size_t i = 0; i < foreign.size(); ++i) {
    foreign[i].record.topic = config.topics.exceptions;
    foreign[i].record.partition = static_cast<int32_t>(i % kPartitions);
  }
  ASSERT_TRUE(before->Publish(foreign, stop_).ok());
  ASSERT_TRUE(app::ProduceSampleCompany(company, config, kafka_->bootstrap(),
                                        {.json_only = true, .include_bad_records = false})
                  .ok());
  {
    app::SnapshotBox snapshots;
    app::Pipeline pipeline(config, kafka_->bootstrap(), &snapshots);
    ASSERT_TRUE(pipeline.Start(stop_).ok());
    ASSERT_TRUE(pipeline.Run(stop_, /*until_idle=*/true).ok());
  }
  auto records = app::ReadTopic(kafka_->bootstrap(), config.topics.exceptions);
  ASSERT_TRUE(records.ok()) << records.status();
  std::set<int32_t> published_to;
  for (const app::TopicRecord& r : *records) {
    if (r.offset >= 3) published_to.insert(r.partition);
  }
  // Otherwise the test shows nothing: some partitions got none of its records.
  ASSERT_FALSE(published_to.empty());
  ASSERT_LT(published_to.size(), size_t{kPartitions});

  auto store = state::RocksStore::Open({.dir = config.state_dir});
  ASSERT_TRUE(store.ok()) << store.status();
  auto noted = (*store)->ScanMeta("published_to/" + config.topics.exceptions + "/");
  ASSERT_TRUE(noted.ok()) << noted.status();
  ASSERT_EQ(noted->size(), size_t{kPartitions});
  for (const auto& [name, offset] : *noted) {
    EXPECT_GE(std::stoll(offset), 3) << name << ": before the other outbox's records";
  }
}

TEST_F(OutboxTest, CountsOnlyItsOwnRecordsWhenOutboxesShareATopic) {
  // Two matcher tasks publish to one exceptions topic, each numbering its
  // outbox from 1: one's records must not pass for the other's.
  app::Config a = config_, b = config_;
  a.kafka.transactional_id = "task-0";
  b.kafka.transactional_id = "task-1";
  std::unique_ptr<OutboxPublisher> first = MakePublisher(a, "task-0");
  std::unique_ptr<OutboxPublisher> second = MakePublisher(b, "task-1");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(first->Publish(Entries(1, 10), stop_).ok());
  ASSERT_TRUE(second->Publish(Entries(1, 4), stop_).ok());
  auto held = second->AlreadyPublished(Entries(1, 10), {});
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, (std::set<uint64_t>{1, 2, 3, 4}));
  held = first->AlreadyPublished(Entries(1, 12), {});
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->size(), 10u);
  auto records = app::ReadTopic(kafka_->bootstrap(), "out");
  ASSERT_TRUE(records.ok());
  for (const app::TopicRecord& r : *records) {
    ASSERT_EQ(r.headers.size(), 3u);
    EXPECT_EQ(r.headers[2].first, alerts::kHeaderOutboxId);
  }
}

TEST_F(OutboxTest, WaitsOutABrokerOutageAndPublishesOnce) {
  kafka_->SetBrokerDown(1, true);
  std::thread back = BrokerBackAfter(std::chrono::seconds(8));
  const absl::Status s = publisher_->Publish(Entries(1, 30), stop_);
  back.join();
  ASSERT_TRUE(s.ok()) << s;
  auto records = app::ReadTopic(kafka_->bootstrap(), "out");
  ASSERT_TRUE(records.ok());
  std::set<std::string> seqs;
  for (const app::TopicRecord& r : *records) seqs.insert(r.headers.back().second);
  EXPECT_EQ(seqs.size(), 30u);
  EXPECT_EQ(records->size(), 30u) << "a record was delivered twice";
}

TEST_F(OutboxTest, AStopDuringAnOutageGivesUpWithoutClaimingSuccess) {
  kafka_->SetBrokerDown(1, true);
  std::thread stopper = StopAfter(std::chrono::seconds(2));
  const absl::Status s = publisher_->Publish(Entries(1, 5), stop_);
  stopper.join();
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  kafka_->SetBrokerDown(1, false);
}

// A closeloop started while the broker is down registers its transactional
// id once the broker is back (Init retries past each call's timeout) and
// publishes. (That it fences the one before it is not checked: the embedded
// broker does not fence by producer epoch; AFencedPublisherStopsAndSaysSo
// injects the error.)
TEST_F(OutboxTest, InitWaitsOutABrokerOutage) {
  kafka_->SetBrokerDown(1, true);
  std::thread back = BrokerBackAfter(std::chrono::seconds(5));
  std::unique_ptr<OutboxPublisher> later = MakePublisher(config_);
  back.join();
  ASSERT_NE(later, nullptr);
  ASSERT_TRUE(later->Publish(Entries(1, 3), stop_).ok());
  auto records = app::ReadTopic(kafka_->bootstrap(), "out");
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), 3u);
}

// A stop while Init waits for the broker ends the wait (the process can shut
// down) and says the publisher is not registered.
TEST_F(OutboxTest, AStopDuringInitGivesUpWithoutRegistering) {
  kafka_->SetBrokerDown(1, true);
  std::unique_ptr<OutboxPublisher> later = Uninitialized(config_);
  ASSERT_NE(later, nullptr);
  std::thread stopper = StopAfter(std::chrono::seconds(1));
  const absl::Status s = later->Init(stop_);
  stopper.join();
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  kafka_->SetBrokerDown(1, false);
}

// A stop while the commit is being retried (the coordinator answers, again
// and again, that it is loading) ends the retries: Publish says it stopped
// and claims nothing published.
TEST_F(OutboxTest, AStopWhileTheCommitIsRetriedGivesUpWithoutClaimingSuccess) {
  kafka_->PushRequestErrors(app::EmbeddedKafka::Request::kEndTxn, 100000,
                            app::EmbeddedKafka::Error::kCoordinatorLoading);
  std::thread stopper = StopAfter(std::chrono::seconds(2));
  const absl::Status s = publisher_->Publish(Entries(1, 3), stop_);
  stopper.join();
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_TRUE(publisher_->published_to().empty());
}

// A record over a limit is refused for good: Publish says which, at once,
// instead of retrying forever; nothing of the transaction is published, and
// the same entries go through once the limit allows them.
TEST_F(OutboxTest, ARecordTheProducerRefusesForGoodIsNamedNotRetried) {
  app::Config small = config_;
  small.kafka.properties["message.max.bytes"] = "2000";
  // Fences publisher_, which this test no longer uses.
  std::unique_ptr<OutboxPublisher> publisher = MakePublisher(small);
  ASSERT_NE(publisher, nullptr);
  std::vector<OutboxEntry> entries = Entries(1, 5);
  entries[3].record.key = "acme:UNPAID:INV-9:1";
  entries[3].record.value = std::string(5000, 'x');
  const absl::Status s = publisher->Publish(entries, stop_);
  ASSERT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find(
                "seq 4 (key acme:UNPAID:INV-9:1, 5021 bytes with key and headers) for topic out"),
            std::string::npos)
      << s;
  auto records = app::ReadTopic(kafka_->bootstrap(), "out");
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 0u);
  publisher.reset();

  // With the limit raised (the default), the same entries are published.
  std::unique_ptr<OutboxPublisher> raised = MakePublisher(config_);
  ASSERT_NE(raised, nullptr);
  ASSERT_TRUE(raised->Publish(entries, stop_).ok());
  records = app::ReadTopic(kafka_->bootstrap(), "out");
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 5u);
}

// The exception id holds ids from the input: a line break or escape
// sequence in a deal id is shown as '?', so it can forge no log line.
// Each refusal a broker gives for good (the record, or its batch, will never
// be taken): retrying would stop the service at the same record for ever.
TEST_F(OutboxTest, ARecordTheBrokerRefusesForGoodIsNamedNotRetried) {
  using Error = app::EmbeddedKafka::Error;
  size_t published = 0;
  for (const Error refusal :
       {Error::kMessageTooLarge, Error::kRecordListTooLarge, Error::kInvalidRecord}) {
    SCOPED_TRACE(static_cast<int>(refusal));
    kafka_->PushRequestErrors(app::EmbeddedKafka::Request::kProduce, 1, refusal);
    std::vector<OutboxEntry> entries = Entries(7 + static_cast<int64_t>(published), 1);
    entries[0].record.key = "acme:MISSING_INVOICE:D-1\n[error] forged\x1b[2J:1";
    const absl::Status s = publisher_->Publish(entries, stop_);
    ASSERT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_NE(s.message().find("seq " + std::to_string(7 + published) +
                               " (key acme:MISSING_INVOICE:D-1?[error] forged?[2J:1, 49 bytes "
                               "with key and headers)"),
              std::string::npos)
        << s;
    // What to mend: a size limit, or the topic's validation.
    EXPECT_NE(s.message().find(refusal == Error::kInvalidRecord ? "must not be compacted"
                                                                : "max.message.bytes"),
              std::string::npos)
        << s;
    auto records = app::ReadTopic(kafka_->bootstrap(), "out");
    ASSERT_TRUE(records.ok());
    EXPECT_EQ(records->size(), published);
    // The injected refusal was one Produce: the same entry goes through now.
    ASSERT_TRUE(publisher_->Publish(entries, stop_).ok());
    records = app::ReadTopic(kafka_->bootstrap(), "out");
    ASSERT_TRUE(records.ok());
    EXPECT_EQ(records->size(), ++published);
  }
}

// When the broker refuses several records of a transaction, the error names
// the first (in the order they were given), so that the operator mends what
// stops the outbox first.
TEST_F(OutboxTest, OfSeveralRecordsTheBrokerRefusesTheFirstIsNamed) {
  kafka_->PushRequestErrors(app::EmbeddedKafka::Request::kProduce, 3,
                            app::EmbeddedKafka::Error::kInvalidRecord);
  std::vector<OutboxEntry> entries = Entries(1, 3);
  for (OutboxEntry& e : entries) e.record.partition = 0;
  const absl::Status s = publisher_->Publish(entries, stop_);
  ASSERT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("seq 1 (key k1,"), std::string::npos) << s;
}

// A second instance with the same transactional id fences this one
// (README kafka.transactional_id): the publisher stops at once with an error
// that says so, rather than retrying, and claims nothing published, so the
// caller keeps its outbox. The embedded Kafka does not fence on its own (a
// second publisher's Init leaves the first publishing), so it is injected.
TEST_F(OutboxTest, AFencedPublisherStopsAndSaysSo) {
  kafka_->PushRequestErrors(app::EmbeddedKafka::Request::kEndTxn, 1,
                            app::EmbeddedKafka::Error::kProducerFenced);
  const auto started = std::chrono::steady_clock::now();
  const absl::Status s = publisher_->Publish(Entries(1, 3), stop_);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("fenced"), std::string_view::npos) << s;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_TRUE(publisher_->published_to().empty());
}

}  // namespace
}  // namespace closeloop
