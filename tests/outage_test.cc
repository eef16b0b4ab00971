// Broker faults at the pipeline level (SPEC §9, issue "State and
// exactly-once"; label crash: about a minute). The real app::Pipeline runs on
// its own thread over a generated sample company on the embedded Kafka while
// the test, driven by the pipeline's own progress (its metrics snapshot):
//   (a) takes every broker down for 30 seconds in the middle of the input;
//   (b) injects request errors on Produce, Fetch, EndTxn, AddPartitionsToTxn,
//       FindCoordinator and ListOffsets (retriable errors and dropped
//       connections);
//   (c) adds 300 ms of latency to every broker response.
// After each fault the pipeline must resume by itself and go on consuming.
// At the end (Run with until_idle returns OK) every planted problem is open
// on closeloop.exceptions with its exact amount and nothing else is, every
// bad record is on the DLQ once with its reason, and no (exception_id,
// sequence) pair and no dead letter appears twice. The embedded broker shows
// aborted transactions to consumers, so every visible record counts: a
// transaction aborted and retried would fail the test (README
// "Exactly-once").
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "app/embedded_kafka.h"
#include "app/pipeline.h"
#include "app/sample_company.h"
#include "app/sample_producer.h"
#include "app/topic_reader.h"
#include "closeloop/v1/exception.pb.h"
#include "ingest/input.h"
#include "spdlog/sinks/base_sink.h"
#include "spdlog/spdlog.h"

namespace closeloop {
namespace {

using std::chrono::seconds;
using Kafka = app::EmbeddedKafka;

// Counts the pipeline's warnings, to show that it saw each fault.
class CountingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  int warnings() const { return warnings_.load(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (msg.level >= spdlog::level::warn) ++warnings_;
  }
  void flush_() override {}

 private:
  std::atomic<int> warnings_{0};
};

// Input records consumed so far (valid and dead letters), from the metrics
// the pipeline publishes after its batches.
int64_t Consumed(const app::SnapshotBox& box) {
  auto snapshot = box.Get();
  if (!snapshot) return 0;
  int64_t total = 0;
  std::istringstream lines(snapshot->metrics_text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("closeloop_events_consumed_total{") ||
        line.starts_with("closeloop_dlq_records_total{")) {
      total += static_cast<int64_t>(std::stod(line.substr(line.rfind(' ') + 1)));
    }
  }
  return total;
}

std::string HeaderOf(const app::TopicRecord& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class OutageTest : public testing::Test {
 protected:
  void SetUp() override {
    state_dir_ = (std::filesystem::temp_directory_path() / "closeloop-outage-XXXXXX").string();
    ASSERT_NE(mkdtemp(state_dir_.data()), nullptr);
    sink_ = std::make_shared<CountingSink>();
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  void TearDown() override {
    auto& sinks = spdlog::default_logger()->sinks();
    std::erase(sinks, sink_);
    std::error_code ignored;
    std::filesystem::remove_all(state_dir_, ignored);
  }

  // Waits until the pipeline has consumed at least `records`, or it ended,
  // or `limit` passed; returns what it consumed.
  int64_t WaitForConsumed(int64_t records, seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    int64_t now = Consumed(snapshots_);
    while (now < records && !finished_.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      now = Consumed(snapshots_);
    }
    return now;
  }

  std::string state_dir_;
  std::shared_ptr<CountingSink> sink_;
  app::SnapshotBox snapshots_;
  std::atomic<bool> finished_{false};
};

TEST_F(OutageTest, PausesAndResumesByItselfThroughOutageErrorsAndLatencyLosingNothing) {
  const char* deals_env = std::getenv("OUTAGE_DEALS");
  // Enough input that the outage falls early: the consumed count is seen
  // once a second (metrics snapshots), and the pipeline reads about 10,000
  // records a second here.
  const int deals = deals_env ? std::atoi(deals_env) : 10000;
  auto kafka = Kafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  const app::SampleCompany company =
      app::GenerateSampleCompany({.seed = 5, .now = ingest::WallNow(), .deals_per_tenant = deals});
  auto loaded = app::LoadConfigText(company.tenants_yaml +
                                        "time:\n  idle_after: 1s\n"
                                        "pipeline:\n  batch_max_records: 100\n",
                                    "outage-config");
  ASSERT_TRUE(std::holds_alternative<app::Config>(loaded))
      << std::get<app::ConfigError>(loaded).ToString();
  app::Config config = std::get<app::Config>(std::move(loaded));
  config.state_dir = state_dir_;
  const std::string bootstrap = (*kafka)->bootstrap();
  for (const std::string& t : config.topics.Names()) {
    ASSERT_TRUE((*kafka)->CreateTopic(t, config.kafka.topic_partitions).ok());
  }
  ASSERT_TRUE(app::ProduceSampleCompany(company, config, bootstrap).ok());
  const int64_t total = static_cast<int64_t>(company.events.size() + company.bad_records.size());

  std::atomic<bool> stop{false};
  absl::Status result = absl::UnknownError("did not run");
  int64_t records_read = 0;
  std::thread worker([&] {
    app::Pipeline pipeline(config, bootstrap, &snapshots_);
    result = pipeline.Start(stop);
    if (result.ok()) result = pipeline.Run(stop, /*until_idle=*/true);
    records_read = pipeline.stats().records;
    finished_ = true;
  });
  struct Join {
    std::thread& t;
    std::atomic<bool>& stop;
    ~Join() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } join{worker, stop};

  // (a) Every broker down for 30 seconds, a tenth of the way in.
  int64_t at = WaitForConsumed(total / 10, seconds(180));
  ASSERT_FALSE(finished_.load()) << result;
  ASSERT_LT(at, total / 2) << "the pipeline was too fast to be interrupted in the middle";
  int warnings = sink_->warnings();
  (*kafka)->SetBrokerDown(Kafka::kAllBrokers, true);
  // Records fetched before the outage are still processed and committed to
  // the store, until a batch has output to publish; then it waits.
  std::this_thread::sleep_for(seconds(15));
  const int64_t paused = Consumed(snapshots_);
  std::this_thread::sleep_for(seconds(15));
  const int64_t during = Consumed(snapshots_);
  (*kafka)->SetBrokerDown(Kafka::kAllBrokers, false);
  EXPECT_FALSE(finished_.load()) << "the pipeline ended during the outage: " << result;
  EXPECT_EQ(during, paused) << "the pipeline went on consuming without a broker";
  EXPECT_LT(during, total) << "everything was consumed during the outage";
  at = WaitForConsumed(during + 500, seconds(120));
  EXPECT_GE(at, std::min(total, during + 500)) << "no progress after the brokers came back";
  std::cerr << "outage: " << during << " of " << total << " records consumed when it ended, " << at
            << " soon after; " << sink_->warnings() - warnings << " warnings\n";

  // (b) Request errors on the data, transaction and coordinator paths.
  ASSERT_FALSE(finished_.load()) << "the pipeline finished before the request errors";
  warnings = sink_->warnings();
  (*kafka)->PushRequestErrors(Kafka::Request::kProduce, 3, Kafka::Error::kNotLeader);
  (*kafka)->PushRequestErrors(Kafka::Request::kProduce, 2, Kafka::Error::kRequestTimedOut);
  (*kafka)->PushRequestErrors(Kafka::Request::kFetch, 3, Kafka::Error::kNotLeader);
  (*kafka)->PushRequestErrors(Kafka::Request::kFetch, 2, Kafka::Error::kDisconnect);
  (*kafka)->PushRequestErrors(Kafka::Request::kEndTxn, 3, Kafka::Error::kCoordinatorNotAvailable);
  (*kafka)->PushRequestErrors(Kafka::Request::kAddPartitionsToTxn, 2,
                              Kafka::Error::kCoordinatorLoading);
  (*kafka)->PushRequestErrors(Kafka::Request::kFindCoordinator, 2,
                              Kafka::Error::kCoordinatorNotAvailable);
  (*kafka)->PushRequestErrors(Kafka::Request::kListOffsets, 2, Kafka::Error::kNotLeader);
  const int64_t before_errors = Consumed(snapshots_);
  at = WaitForConsumed(before_errors + 1000, seconds(120));
  EXPECT_GE(at, std::min(total, before_errors + 1000)) << "no progress through request errors";
  std::cerr << "request errors: from " << before_errors << " to " << at << " records, "
            << sink_->warnings() - warnings << " warnings\n";

  // (c) 300 ms on every response.
  ASSERT_FALSE(finished_.load()) << "the pipeline finished before the latency";
  (*kafka)->SetLatency(Kafka::kAllBrokers, 300);
  const int64_t before_latency = Consumed(snapshots_);
  at = WaitForConsumed(before_latency + 500, seconds(180));
  (*kafka)->SetLatency(Kafka::kAllBrokers, 0);
  EXPECT_GE(at, std::min(total, before_latency + 500)) << "no progress with latency";
  std::cerr << "latency: from " << before_latency << " to " << at << " records\n";

  // The rest, to the end, by itself.
  const auto until = std::chrono::steady_clock::now() + seconds(600);
  while (!finished_.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(finished_.load()) << "the pipeline did not finish within 10 minutes";
  worker.join();
  ASSERT_TRUE(result.ok()) << result;
  EXPECT_EQ(records_read, total) << "input records read more or less than once";

  auto records = app::ReadTopic(bootstrap, config.topics.exceptions);
  ASSERT_TRUE(records.ok()) << records.status();
  std::set<std::pair<std::string, int64_t>> pairs;
  std::map<std::string, v1::ExceptionRecord> latest;
  int twice = 0;
  for (const app::TopicRecord& r : *records) {
    v1::ExceptionRecord rec;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.value, &rec).ok()) << r.value;
    if (!pairs.insert({rec.exception_id(), static_cast<int64_t>(rec.sequence())}).second) {
      ++twice;
    }
    auto& slot = latest[rec.exception_id()];
    if (rec.sequence() > slot.sequence()) slot = rec;
  }
  EXPECT_EQ(twice, 0) << "(exception_id, sequence) pairs published twice";
  std::map<std::string, int64_t> found;  // tenant/kind/subject -> amount
  for (const auto& [id, rec] : latest) {
    if (rec.state() == v1::ExceptionRecord::RESOLVED) continue;
    found[rec.tenant_id() + "/" + v1::ExceptionRecord::Kind_Name(rec.kind()) + "/" +
          app::SubjectOf(rec)] = rec.amount_at_risk_minor();
  }
  std::map<std::string, int64_t> planted;
  for (const app::PlantedProblem& p : company.planted) {
    planted[p.tenant + "/" + std::string(matcher::KindName(p.kind)) + "/" + p.subject_id] =
        p.amount_at_risk_minor;
  }
  ASSERT_GT(planted.size(), 20u);
  EXPECT_EQ(found, planted) << "open exceptions differ from the planted problems";

  auto letters = app::ReadTopic(bootstrap, config.topics.dlq);
  ASSERT_TRUE(letters.ok()) << letters.status();
  std::set<std::string> sources;
  std::map<std::string, int> reasons, planted_reasons;
  for (const app::TopicRecord& r : *letters) {
    const std::string source = HeaderOf(r, "closeloop.source.topic") + "/" +
                               HeaderOf(r, "closeloop.source.partition") + "/" +
                               HeaderOf(r, "closeloop.source.offset");
    EXPECT_TRUE(sources.insert(source).second) << "dead letter twice: " << source;
    ++reasons[HeaderOf(r, "closeloop.reason")];
  }
  for (const app::BadRecord& bad : company.bad_records) ++planted_reasons[bad.reason];
  EXPECT_EQ(reasons, planted_reasons);
  std::cerr << total << " records: " << planted.size() << " planted problems found with "
            << "their exact amounts, " << records->size() << " exception records, "
            << letters->size() << " dead letters, none twice\n";
}

}  // namespace
}  // namespace closeloop
