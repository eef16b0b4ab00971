// `bench_e2e pipeline`: plain consumer versus closeloop's Pipeline on the same
// preloaded input (bench/README.md, "Throughput ratio").
#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>

#include "app/embedded_kafka.h"
#include "app/kafka_clients.h"
#include "app/pipeline.h"
#include "app/sample_company.h"
#include "app/sample_producer.h"
#include "bench/e2e.h"
#include "bench/measure.h"
#include "ingest/input.h"

namespace closeloop::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> InputTopics(const app::Config& config) {
  const app::TopicsConfig& t = config.topics;
  return {t.deals.name, t.orders.name, t.invoices.name, t.payments.name};
}

// Every input partition must still hold all it was given: the embedded Kafka
// drops the oldest batches of a partition beyond about 5 MiB.
absl::Status CheckRetention(RdKafka::Handle& handle, const std::vector<std::string>& topics,
                            int partitions, int64_t expected) {
  int64_t held = 0;
  for (const std::string& topic : topics) {
    for (int p = 0; p < partitions; ++p) {
      int64_t low = 0, high = 0;
      if (handle.query_watermark_offsets(topic, p, &low, &high, 10000) != RdKafka::ERR_NO_ERROR) {
        return absl::UnavailableError("cannot query offsets of " + topic);
      }
      if (low != 0) {
        return absl::FailedPreconditionError("the embedded Kafka dropped the start of " + topic +
                                             "[" + std::to_string(p) +
                                             "] (retention): use more partitions");
      }
      held += high;
    }
  }
  if (held != expected) {
    return absl::FailedPreconditionError("input topics hold " + std::to_string(held) +
                                         " records, expected " + std::to_string(expected));
  }
  return absl::OkStatus();
}

struct BaselineRun {
  int64_t records = 0;
  int64_t bytes = 0;   // keys and values
  double seconds = 0;  // assign to last record
};

// A plain librdkafka consumer with the pipeline's own consumer settings reads
// every record once, touching nothing but their sizes. Like the pipeline's
// (ingest::Input), it assigns itself every partition: neither joins a group.
absl::StatusOr<BaselineRun> RunBaseline(app::Config config, const std::string& bootstrap,
                                        int partitions, int64_t expected) {
  config.kafka.group_id = "bench-baseline";
  auto consumer = app::MakeConsumer(config, bootstrap);
  if (!consumer.ok()) return consumer.status();
  BaselineRun run;
  const Clock::time_point start = Clock::now();
  std::vector<RdKafka::TopicPartition*> assignment;
  for (const std::string& topic : InputTopics(config)) {
    for (int p = 0; p < partitions; ++p) {
      assignment.push_back(
          RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
    }
  }
  const RdKafka::ErrorCode assigned = (*consumer)->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (assigned != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("baseline: assign failed: " + RdKafka::err2str(assigned));
  }
  Clock::time_point last{};
  while (run.records < expected) {
    std::unique_ptr<RdKafka::Message> m((*consumer)->consume(100));
    if (m->err() == RdKafka::ERR_NO_ERROR) {
      ++run.records;
      run.bytes += static_cast<int64_t>(m->len() + m->key_len());
      last = Clock::now();
    }
    if (Seconds(start, Clock::now()) > 600) {
      return absl::DeadlineExceededError("baseline: read " + std::to_string(run.records) + " of " +
                                         std::to_string(expected) + " in 600 s");
    }
  }
  run.seconds = Seconds(start, last);
  (*consumer)->close();
  return run;
}

// Number of records on `topic` and the latest producer timestamp (ms since
// the epoch) among them.
absl::StatusOr<std::pair<int64_t, int64_t>> CountAndLastTimestamp(const std::string& bootstrap,
                                                                  const std::string& topic,
                                                                  int partitions) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", "bench-exceptions-reader", err);
  conf->set("enable.partition.eof", "true", err);
  conf->set("enable.auto.commit", "false", err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return absl::InternalError(err);
  std::vector<RdKafka::TopicPartition*> parts;
  for (int p = 0; p < partitions; ++p) {
    parts.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  consumer->assign(parts);
  RdKafka::TopicPartition::destroy(parts);
  std::set<int32_t> pending;
  for (int p = 0; p < partitions; ++p) pending.insert(p);
  int64_t count = 0, last_ms = 0;
  const Clock::time_point start = Clock::now();
  while (!pending.empty()) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      pending.erase(m->partition());
    } else if (m->err() == RdKafka::ERR_NO_ERROR) {
      ++count;
      last_ms = std::max(last_ms, m->timestamp().timestamp);
    }
    if (Seconds(start, Clock::now()) > 120) {
      return absl::DeadlineExceededError("reading " + topic + " back took over 120 s");
    }
  }
  consumer->close();
  return std::make_pair(count, last_ms);
}

}  // namespace

absl::StatusOr<Json> RunPipelineBench(const PipelineOptions& o) {
  Json out;
  Clock::time_point t = Clock::now();
  app::SampleCompany company = app::GenerateSampleCompany({.seed = o.seed,
                                                           .now = ingest::WallNow(),
                                                           .deals_per_tenant = o.deals_per_tenant,
                                                           .bad_records = 0});
  const auto events = static_cast<int64_t>(company.events.size());
  std::map<std::string, int64_t> per_kind;
  for (const v1::Event& e : company.events) ++per_kind[app::TopicKindOf(e)];
  out["generate_seconds"] = Seconds(t, Clock::now());
  const int64_t deals = 2 * static_cast<int64_t>(o.deals_per_tenant);
  out["deals"] = deals;
  out["input"] = per_kind;
  out["events"] = events;
  out["partitions"] = o.partitions;

  // Where a persistent state store would keep its files (today: none).
  const std::string state_root = FreshTempDir("closeloop-bench");
  const std::string state_dir = state_root + "/state";
  const std::string yaml =
      // The bench creates the topics on the embedded Kafka itself (the
      // pipeline would wait 10 s on its CreateTopics).
      company.tenants_yaml +
      "kafka:\n  create_topics: false\n  topic_partitions: " + std::to_string(o.partitions) +
      "\nstate_dir: " + state_dir + "\ntime:\n  idle_after: " + o.idle_after + "\n" + o.extra_yaml;
  auto loaded = app::LoadConfigText(yaml, "bench-config");
  if (auto* err = std::get_if<app::ConfigError>(&loaded)) {
    return absl::InvalidArgumentError(err->ToString());
  }
  const app::Config config = std::get<app::Config>(std::move(loaded));
  out["config"] = {{"pipeline.batch_max_records", config.pipeline.batch_max_records},
                   {"pipeline.batch_max_wait", app::FormatDuration(config.pipeline.batch_max_wait)},
                   {"time.idle_after", app::FormatDuration(config.time.idle_after)},
                   {"kafka.topic_partitions", config.kafka.topic_partitions},
                   {"kafka.properties", config.kafka.properties}};

  auto kafka = app::EmbeddedKafka::Start();
  if (!kafka.ok()) return kafka.status();
  const std::string& bootstrap = (*kafka)->bootstrap();
  for (const std::string& topic : config.topics.Names()) {
    if (absl::Status s = (*kafka)->CreateTopic(topic, o.partitions); !s.ok()) return s;
  }
  t = Clock::now();
  if (absl::Status s = app::ProduceSampleCompany(company, config, bootstrap,
                                                 {.json_only = true, .include_bad_records = false});
      !s.ok()) {
    return s;
  }
  out["produce_seconds"] = Seconds(t, Clock::now());
  company.events = {};  // the broker holds the input now
  {
    auto probe = app::MakeProducer(config, bootstrap);
    if (!probe.ok()) return probe.status();
    if (absl::Status s = CheckRetention(**probe, InputTopics(config), o.partitions, events);
        !s.ok()) {
      return s;
    }
  }

  double baseline_rate = 0;
  int64_t input_bytes = 0;
  if (o.baseline) {
    auto base = RunBaseline(config, bootstrap, o.partitions, events);
    if (!base.ok()) return base.status();
    input_bytes = base->bytes;
    baseline_rate = static_cast<double>(events) / base->seconds;
    out["input_bytes"] = input_bytes;
    out["baseline"] = {{"seconds", base->seconds},
                       {"records_per_s", baseline_rate},
                       {"mb_per_s", static_cast<double>(input_bytes) / 1e6 / base->seconds}};
  }

  ResetPeakResident();
  out["rss_before_pipeline_bytes"] = ResidentBytes();
  app::Pipeline pipeline(config, bootstrap);
  t = Clock::now();
  std::atomic<bool> stop{false};
  if (absl::Status s = pipeline.Start(stop); !s.ok()) return s;
  const int64_t run_start_ms = WallMs();
  const Clock::time_point run_start = Clock::now();
  out["pipeline_start_seconds"] = Seconds(t, run_start);
  const double cpu_start = CpuSeconds();
  if (absl::Status s = pipeline.Run(stop, /*until_idle=*/true); !s.ok()) return s;
  // Every thread of the process: the pipeline's, librdkafka's and the
  // embedded broker's.
  out["pipeline_process_cpu_seconds"] = CpuSeconds() - cpu_start;
  const double run_seconds = Seconds(run_start, Clock::now());
  out["peak_rss_bytes"] = PeakResidentBytes();
  const app::PipelineStats& stats = pipeline.stats();
  if (stats.records != events || stats.events != events) {
    return absl::InternalError("the pipeline consumed " + std::to_string(stats.records) +
                               " records (" + std::to_string(stats.events) + " valid) of " +
                               std::to_string(events));
  }
  auto published =
      CountAndLastTimestamp(bootstrap, config.topics.exceptions, config.kafka.topic_partitions);
  if (!published.ok()) return published.status();
  if (published->first < stats.exception_records) {
    return absl::InternalError("exceptions topic holds " + std::to_string(published->first) +
                               " records, the pipeline published " +
                               std::to_string(stats.exception_records));
  }
  // From the first poll to the last exception record handed to the broker.
  // The end includes time.idle_after: the last deadlines fire only once every
  // caught-up partition has idled and its watermark reached the wall clock.
  const double seconds = static_cast<double>(published->second - run_start_ms) / 1000.0;
  const double rate = static_cast<double>(events) / seconds;
  Json p = {{"seconds_to_last_exception", seconds},
            {"seconds_until_run_returned", run_seconds},
            {"records_per_s", rate},
            {"exception_records", stats.exception_records}};
  if (input_bytes > 0) p["mb_per_s"] = static_cast<double>(input_bytes) / 1e6 / seconds;
  out["pipeline"] = p;
  if (o.baseline) out["ratio"] = rate / baseline_rate;
  out.update(StateDiskFigures(state_dir, deals));
  std::error_code ec;
  std::filesystem::remove_all(state_root, ec);
  return out;
}

}  // namespace closeloop::bench
