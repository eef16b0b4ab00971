// `bench_e2e latency`: detection latency of the live Pipeline, as a person
// waiting on closeloop.exceptions sees it (bench/README.md, "Detection
// latency"). Each sample is one won deal of tenant `lat` whose invoice window
// (30 days) ends at T:
//   (b) the deal is in state; heartbeat documents with event time T + 1 s are
//       produced to every partition of every input topic, which moves every
//       source's watermark past T; timed until its MISSING_INVOICE OPEN record
//       is read back;
//   (a) the invoice (issued T + 0.5 s, full amount) is produced; timed until
//       the RESOLVED record is read back.
// Heartbeats belong to tenant `hb` and never come near a deadline.
#include <google/protobuf/util/time_util.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "app/embedded_kafka.h"
#include "app/kafka_clients.h"
#include "app/pipeline.h"
#include "bench/e2e.h"
#include "bench/measure.h"
#include "ingest/input.h"
#include "spdlog/fmt/fmt.h"

namespace closeloop::bench {
namespace {

using Clock = std::chrono::steady_clock;
using matcher::EventTime;
using matcher::kDay;

std::string Rfc3339(EventTime t) {
  return google::protobuf::util::TimeUtil::ToString(
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(t.time_since_epoch().count()));
}

class Producer {
 public:
  static absl::StatusOr<Producer> Make(const std::string& bootstrap) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("linger.ms", "0", err);  // the clock starts at produce(): send at once
    Producer p;
    p.producer_.reset(RdKafka::Producer::create(conf.get(), err));
    if (!p.producer_) return absl::InternalError("latency producer: " + err);
    return p;
  }
  absl::Status Send(const std::string& topic, int partition, const std::string& key,
                    const std::string& value) {
    const RdKafka::ErrorCode err = producer_->produce(
        topic, partition, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
        value.size(), key.data(), key.size(), 0, nullptr);
    if (err != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError("produce to " + topic + ": " + RdKafka::err2str(err));
    }
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (producer_->flush(10000) != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError("the broker did not acknowledge within 10 s");
    }
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<RdKafka::Producer> producer_;
};

// Reads closeloop.exceptions as a separate client would, waiting for one
// record.
class ExceptionWatcher {
 public:
  static absl::StatusOr<ExceptionWatcher> Make(const std::string& bootstrap,
                                               const std::string& topic, int partitions) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("group.id", "bench-latency-watcher", err);
    conf->set("enable.auto.commit", "false", err);
    // The embedded Kafka answers an empty fetch only after the full wait,
    // even when data arrives meanwhile: ask often, so that the watcher adds
    // at most ~10 ms.
    conf->set("fetch.wait.max.ms", "10", err);
    ExceptionWatcher w;
    w.consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!w.consumer_) return absl::InternalError("latency watcher: " + err);
    std::vector<RdKafka::TopicPartition*> parts;
    for (int p = 0; p < partitions; ++p) {
      parts.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
    }
    w.consumer_->assign(parts);
    RdKafka::TopicPartition::destroy(parts);
    return w;
  }
  // Waits until a record for `deal_id` in `state` ("OPEN", "RESOLVED") is
  // read; returns when it was read.
  absl::StatusOr<Clock::time_point> WaitFor(const std::string& deal_id, const std::string& state,
                                            std::chrono::seconds timeout) {
    const Clock::time_point start = Clock::now();
    while (Clock::now() - start < timeout) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(5));
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      const auto record = nlohmann::json::parse(
          std::string_view(static_cast<const char*>(m->payload()), m->len()), nullptr, false);
      if (record.is_discarded()) continue;
      if (record.value("kind", "") == "MISSING_INVOICE" && record.value("deal_id", "") == deal_id &&
          record.value("state", "") == state) {
        return Clock::now();
      }
    }
    return absl::DeadlineExceededError("no " + state + " MISSING_INVOICE for " + deal_id +
                                       " within " + std::to_string(timeout.count()) + " s");
  }

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

double Ms(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

std::vector<Heartbeat> HeartbeatDocs(const app::TopicsConfig& t, int partition, EventTime at) {
  const std::string ts = Rfc3339(at);
  const std::string id = "HB-" + std::to_string(partition);
  const std::string key = "hb:" + id;
  return {
      {&t.deals.name, key,
       fmt::format(R"({{"tenant_id":"hb","deal_id":"{}","stage":"Prospecting","event_time":"{}"}})",
                   id, ts)},
      {&t.orders.name, key,
       fmt::format(R"({{"tenant_id":"hb","order_id":"{}","event_time":"{}"}})", id, ts)},
      {&t.invoices.name, key,
       fmt::format(R"({{"tenant_id":"hb","invoice_id":"{}","amount_minor":1,"currency":"USD",)"
                   R"("issue_time":"{}","event_time":"{}"}})",
                   id, ts, ts)},
      {&t.payments.name, key,
       fmt::format(R"({{"tenant_id":"hb","payment_id":"{}","invoice_id":"HB-0",)"
                   R"("amount_minor":1,"currency":"USD","event_time":"{}"}})",
                   id, ts)}};
}

nlohmann::json Percentiles(std::vector<double>& ms) {
  if (ms.empty()) return {{"samples", 0}};
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    const auto i = static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size()))) - 1;
    return ms[std::min(ms.size() - 1, i)];
  };
  return {
      {"samples", ms.size()}, {"p50_ms", at(0.50)}, {"p99_ms", at(0.99)}, {"max_ms", ms.back()}};
}

absl::StatusOr<nlohmann::json> RunLatencyBench(const LatencyOptions& o) {
  const std::string state_root = FreshTempDir("closeloop-bench");
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_state{state_root};
  const std::string yaml = fmt::format(
      "state_dir: {}/state\n"
      "defaults:\n  invoice_window: 30d\n  require_order: false\n  fuzzy_match: false\n"
      "kafka:\n  create_topics: false\n  topic_partitions: {}\n{}"
      "time:\n  idle_after: 1d\n  source_silence_limit: 1w\n{}",
      state_root, o.partitions,
      o.fetch_wait_max_ms
          ? fmt::format("  properties:\n    fetch.wait.max.ms: \"{}\"\n", *o.fetch_wait_max_ms)
          : "",
      o.extra_yaml);
  auto loaded = app::LoadConfigText(yaml, "bench-latency-config");
  if (auto* err = std::get_if<app::ConfigError>(&loaded)) {
    return absl::InvalidArgumentError(err->ToString());
  }
  const app::Config config = std::get<app::Config>(std::move(loaded));
  auto kafka = app::EmbeddedKafka::Start();
  if (!kafka.ok()) return kafka.status();
  const std::string& bootstrap = (*kafka)->bootstrap();
  for (const std::string& topic : config.topics.Names()) {
    if (absl::Status s = (*kafka)->CreateTopic(topic, o.partitions); !s.ok()) return s;
  }
  auto producer = Producer::Make(bootstrap);
  if (!producer.ok()) return producer.status();
  auto watcher = ExceptionWatcher::Make(bootstrap, config.topics.exceptions, o.partitions);
  if (!watcher.ok()) return watcher.status();

  app::Pipeline pipeline(config, bootstrap);
  std::atomic<bool> stop{false};
  if (absl::Status s = pipeline.Start(stop); !s.ok()) return s;
  absl::Status run_status;
  std::thread runner([&] { run_status = pipeline.Run(stop, /*until_idle=*/false); });

  const app::TopicsConfig& t = config.topics;
  const EventTime base = ingest::WallNow() - 3 * kDay;
  auto heartbeats = [&](EventTime at) -> absl::Status {
    for (int p = 0; p < o.partitions; ++p) {
      for (const Heartbeat& hb : HeartbeatDocs(t, p, at)) {
        if (absl::Status s = producer->Send(*hb.topic, p, hb.key, hb.value); !s.ok()) return s;
      }
    }
    return producer->Flush();
  };

  std::vector<double> open_ms, resolved_ms;
  absl::Status failed;
  for (int i = 0; i < o.warmup + o.samples && failed.ok(); ++i) {
    const EventTime deadline = base + i * std::chrono::minutes(1);
    const std::string deal_id = "D-" + std::to_string(i);
    const std::string close = Rfc3339(deadline - 30 * kDay);
    failed =
        producer->Send(t.deals.name, i % o.partitions, "lat:" + deal_id,
                       fmt::format(R"({{"tenant_id":"lat","deal_id":"{}","stage":"Closed Won",)"
                                   R"("amount_minor":100000,"currency":"USD","customer_id":"C-{}",)"
                                   R"("close_time":"{}","event_time":"{}"}})",
                                   deal_id, i, close, close));
    if (failed.ok()) failed = producer->Flush();
    // Let the pipeline take the deal in before time starts.
    std::this_thread::sleep_for(config.pipeline.batch_max_wait + std::chrono::milliseconds(200));

    // (b) watermarks pass the deadline -> OPEN.
    Clock::time_point sent = Clock::now();
    if (failed.ok()) failed = heartbeats(deadline + std::chrono::seconds(1));
    if (!failed.ok()) break;
    auto seen = watcher->WaitFor(deal_id, "OPEN", std::chrono::seconds(30));
    if (!seen.ok()) {
      failed = seen.status();
      break;
    }
    if (i >= o.warmup) open_ms.push_back(Ms(sent, *seen));

    // (a) the resolving invoice -> RESOLVED.
    const std::string issued = Rfc3339(deadline + std::chrono::milliseconds(500));
    sent = Clock::now();
    failed = producer->Send(
        t.invoices.name, i % o.partitions, "lat:INV-" + std::to_string(i),
        fmt::format(
            R"({{"tenant_id":"lat","invoice_id":"INV-{}","deal_id":"{}",)"
            R"("amount_minor":100000,"currency":"USD","issue_time":"{}","event_time":"{}"}})",
            i, deal_id, issued, issued));
    if (failed.ok()) failed = producer->Flush();
    if (!failed.ok()) break;
    seen = watcher->WaitFor(deal_id, "RESOLVED", std::chrono::seconds(30));
    if (!seen.ok()) {
      failed = seen.status();
      break;
    }
    if (i >= o.warmup) resolved_ms.push_back(Ms(sent, *seen));
  }
  stop = true;
  runner.join();
  if (!run_status.ok()) return run_status;
  if (!failed.ok()) return failed;
  return nlohmann::json{
      {"resolve", Percentiles(resolved_ms)},
      {"open_after_watermark", Percentiles(open_ms)},
      {"config",
       {{"pipeline.batch_max_records", config.pipeline.batch_max_records},
        {"pipeline.batch_max_wait", app::FormatDuration(config.pipeline.batch_max_wait)},
        {"kafka.topic_partitions", config.kafka.topic_partitions},
        {"kafka.properties", config.kafka.properties},
        {"watcher fetch.wait.max.ms", 10},
        {"producer linger.ms", 0}}}};
}

}  // namespace closeloop::bench
