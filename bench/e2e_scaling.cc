// `bench_e2e scaling`: the Pipeline as an operator runs it (`closeloop run
// --until-idle`, a child process with its own RocksDB store) on the embedded
// Kafka, fed the sample company while it runs (bench/README.md, "Scaling").
//
// The embedded Kafka keeps only about 5 MiB per partition, so a million
// deals' input (about a gigabyte of JSON) cannot be preloaded: this process
// produces it in event-time order and keeps at most `window` records ahead
// of what the child has consumed (its closeloop_events_consumed_total,
// scraped from /metrics). Once everything is produced and the child has
// consumed a record, one heartbeat per input partition with the wall-clock
// time moves every watermark to now, so the last deadlines fire and the run
// ends. With --prebuilt-deals, the store already holds that many deals at
// rest when the child starts (copies of a small company whose history ends a
// year from now, so none of their deadlines comes due), written directly and
// compacted as a long-lived store is: a measure of what millions of deals in
// state cost without feeding millions of deals through the embedded Kafka. The child's figures
// (peak RSS, CPU time) are its own: the generator, the producer and the
// broker are in this process.
#include <httplib.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/embedded_kafka.h"
#include "app/kafka_clients.h"
#include "app/sample_company.h"
#include "app/sample_producer.h"
#include "bench/e2e.h"
#include "bench/measure.h"
#include "bench/prebuilt_state.h"
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

// The child's log, read on a thread of its own: the address it serves HTTP
// on, its closing counts, and the whole log in a file.
class ChildLog {
 public:
  ChildLog(RunChild& child, const std::string& path)
      : thread_([this, &child, path] { Read(child.log, path); }) {}
  ~ChildLog() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  std::string http() {
    std::lock_guard lock(mu_);
    return http_;
  }
  std::string last_lines() {
    std::lock_guard lock(mu_);
    return tail_;
  }
  StopLine stop() {
    std::lock_guard lock(mu_);
    return stop_;
  }

 private:
  void Read(FILE* in, const std::string& path) {
    std::ofstream out(path);
    char line[8192];
    while (std::fgets(line, sizeof line, in) != nullptr) {
      out << line;
      std::lock_guard lock(mu_);
      if (std::strncmp(line, "http=", 5) == 0)
        http_ = std::string(line + 5, std::strcspn(line + 5, "\n"));
      ParseStopLine(line, stop_);
      tail_ += line;
      if (tail_.size() > 4000) tail_.erase(0, tail_.size() - 2000);
    }
  }
  std::mutex mu_;
  std::string http_, tail_;
  StopLine stop_;
  std::thread thread_;
};

// Sum of closeloop_events_consumed_total over its labels, or -1 when the
// metrics cannot be read yet.
int64_t ConsumedSoFar(const std::string& address) {
  if (address.empty()) return -1;
  httplib::Client client("http://" + address);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(5));
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) return -1;
  std::istringstream text(res->body);
  std::string line;
  double sum = 0;
  while (std::getline(text, line)) {
    if (!line.starts_with("closeloop_events_consumed_total")) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return static_cast<int64_t>(sum);
}

// The latest producer timestamp (ms since the epoch) on `topic`, from the
// last few records of each partition (the embedded Kafka may no longer hold
// the first ones).
absl::StatusOr<int64_t> LastTimestamp(const std::string& bootstrap, const std::string& topic,
                                      int partitions) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", "bench-scaling-reader", err);
  conf->set("enable.partition.eof", "true", err);
  conf->set("enable.auto.commit", "false", err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return absl::InternalError(err);
  std::vector<RdKafka::TopicPartition*> parts;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0, high = 0;
    if (consumer->query_watermark_offsets(topic, p, &low, &high, 10000) != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError("cannot query offsets of " + topic);
    }
    // Transaction markers take offsets too: go back far enough for records.
    parts.push_back(RdKafka::TopicPartition::create(topic, p, std::max(low, high - 64)));
  }
  consumer->assign(parts);
  RdKafka::TopicPartition::destroy(parts);
  int eofs = 0;
  int64_t last_ms = 0;
  const Clock::time_point start = Clock::now();
  while (eofs < partitions) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) ++eofs;
    if (m->err() == RdKafka::ERR_NO_ERROR) last_ms = std::max(last_ms, m->timestamp().timestamp);
    if (Seconds(start, Clock::now()) > 60) {
      return absl::DeadlineExceededError("reading the end of " + topic + " took over 60 s");
    }
  }
  consumer->close();
  return last_ms;
}

}  // namespace

absl::StatusOr<Json> RunScalingBench(const ScalingOptions& o) {
  if (o.closeloop.empty()) return absl::InvalidArgumentError("scaling: --closeloop is required");
  Json out;
  Clock::time_point t = Clock::now();
  app::SampleCompany company = app::GenerateSampleCompany({.seed = o.seed,
                                                           .now = ingest::WallNow(),
                                                           .deals_per_tenant = o.deals_per_tenant,
                                                           .bad_records = 0});
  const auto events = static_cast<int64_t>(company.events.size());
  const int64_t deals = 2 * static_cast<int64_t>(o.deals_per_tenant) + o.prebuilt_deals;
  out["generate_seconds"] = Seconds(t, Clock::now());
  out["deals"] = deals;
  out["events"] = events;
  out["partitions"] = o.partitions;
  out["window"] = o.window;

  const std::string root = FreshTempDir("closeloop-scaling");
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_root{root};
  const std::string state_dir = root + "/state";
  // idle_after 1d: only records move the watermarks during the run (a
  // partition the producer has not refilled yet must not jump to now), and
  // the closing heartbeats move them to now.
  const std::string yaml =
      company.tenants_yaml +
      "kafka:\n  create_topics: false\n  topic_partitions: " + std::to_string(o.partitions) +
      "\nstate_dir: " + state_dir + "\nhttp:\n  listen: 127.0.0.1:0\ntime:\n  idle_after: 1d\n" +
      o.extra_yaml;
  auto loaded = app::LoadConfigText(yaml, "bench-scaling-config");
  if (auto* err = std::get_if<app::ConfigError>(&loaded)) {
    return absl::InvalidArgumentError(err->ToString());
  }
  const app::Config config = std::get<app::Config>(std::move(loaded));
  const std::string config_path = root + "/closeloop.yaml";
  std::ofstream(config_path) << yaml;
  out["config"] = {{"pipeline.batch_max_records", config.pipeline.batch_max_records},
                   {"pipeline.batch_max_wait", app::FormatDuration(config.pipeline.batch_max_wait)},
                   {"store.block_cache_mb", config.store.block_cache_mb},
                   {"store.write_buffer_mb", config.store.write_buffer_mb},
                   {"store.state_cache_entries", config.store.state_cache_entries}};

  if (o.prebuilt_deals > 0) {
    // Before any thread of this process exists: BuildState forks.
    t = Clock::now();
    RecordingStore recorded;
    RecordTemplate(app::GenerateSampleCompany({.seed = o.seed,
                                               .now = ingest::WallNow() + 365 * matcher::kDay,
                                               .deals_per_tenant = 500,
                                               .bad_records = 0}),
                   recorded);
    const int status = BuildState(recorded, state_dir, o.prebuilt_deals, /*commit_every=*/20000,
                                  BuildEnd::kCompactAndExit);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return absl::InternalError("building the prebuilt deals' state failed (status " +
                                 std::to_string(status) + ")");
    }
    out["prebuilt_deals"] = o.prebuilt_deals;
    out["prebuild_seconds"] = Seconds(t, Clock::now());
    out["prebuilt_disk_bytes"] = DirectoryBytes(state_dir).value_or(0);
  }

  auto kafka = app::EmbeddedKafka::Start();
  if (!kafka.ok()) return kafka.status();
  const std::string& bootstrap = (*kafka)->bootstrap();
  for (const std::string& topic : config.topics.Names()) {
    if (absl::Status s = (*kafka)->CreateTopic(topic, o.partitions); !s.ok()) return s;
  }

  const int64_t started_ms = WallMs();
  const Clock::time_point started = Clock::now();
  RunChild child = SpawnRun(o.closeloop, config_path, bootstrap, /*until_idle=*/true);
  if (child.log == nullptr) return absl::InternalError("cannot start " + o.closeloop);
  ChildLog log(child, root + "/run.log");

  // Every 5 s: seconds since the start, the child's resident bytes and the
  // records it has consumed, to show where its memory grows.
  Json samples = Json::array();
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling.load()) {
      for (int i = 0; i < 50 && sampling.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      const int64_t rss = ResidentBytesOf(child.pid);
      if (rss > 0) {
        samples.push_back({Seconds(started, Clock::now()), rss, ConsumedSoFar(log.http())});
      }
    }
  });
  struct StopSampler {
    std::atomic<bool>& on;
    std::thread& thread;
    ~StopSampler() {
      on = false;
      if (thread.joinable()) thread.join();
    }
  } stop_sampler{sampling, sampler};

  // Producing waits whenever it is `window` records ahead of the pipeline.
  int64_t waits = 0;
  auto wait_until_consumed = [&](int64_t at_least) -> absl::Status {
    for (;;) {
      const int64_t consumed = ConsumedSoFar(log.http());
      if (consumed >= 0 && consumed >= at_least) return absl::OkStatus();
      siginfo_t info{};
      if (waitid(P_PID, child.pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0) {
        return absl::InternalError("closeloop run ended while the input was produced:\n" +
                                   log.last_lines());
      }
      ++waits;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  app::ProduceOptions produce{.json_only = true, .include_bad_records = false};
  produce.pace = [&](int64_t sent) { return wait_until_consumed(sent - o.window); };
  produce.pace_every = 2000;
  absl::Status produced = app::ProduceSampleCompany(company, config, bootstrap, produce);
  company = {};
  // The closing heartbeats must come after the run's start: --until-idle
  // waits for watermarks at its start, and idle_after 1d never moves them
  // there. A small company can be produced before the child has started
  // (bench_quick's run then waited for good); a record consumed is after.
  if (produced.ok()) produced = wait_until_consumed(1);
  if (produced.ok()) {
    auto producer = app::MakeProducer(config, bootstrap);
    if (!producer.ok()) return producer.status();
    const matcher::EventTime now = ingest::WallNow();
    for (int p = 0; p < o.partitions && produced.ok(); ++p) {
      for (const Heartbeat& hb : HeartbeatDocs(config.topics, p, now)) {
        if ((*producer)->produce(*hb.topic, p, RdKafka::Producer::RK_MSG_COPY,
                                 const_cast<char*>(hb.value.data()), hb.value.size(), hb.key.data(),
                                 hb.key.size(), 0, nullptr) != RdKafka::ERR_NO_ERROR) {
          produced = absl::UnavailableError("cannot produce the closing heartbeats");
        }
      }
    }
    if (produced.ok() && (*producer)->flush(30000) != RdKafka::ERR_NO_ERROR) {
      produced = absl::UnavailableError("the closing heartbeats were not acknowledged");
    }
  }
  out["producer_waits"] = waits;
  if (!produced.ok()) {
    kill(child.pid, SIGKILL);
    log.Join();
    (void)WaitExit(child);
    return produced;
  }
  log.Join();  // the child's output ends when it exits
  sampling = false;
  sampler.join();
  const ChildExit exit = WaitExit(child);
  out["rss_samples"] = {{"columns", {"seconds", "rss_bytes", "consumed"}}, {"rows", samples}};
  const double run_seconds = Seconds(started, Clock::now());
  if (!exit.ok) {
    return absl::InternalError("closeloop run failed:\n" + log.last_lines());
  }
  const int64_t expected = events + 4LL * o.partitions;  // and the heartbeats
  const StopLine stop = log.stop();
  if (stop.records != expected) {
    return absl::InternalError("closeloop run consumed " + std::to_string(stop.records) +
                               " records of " + std::to_string(expected) +
                               " (did the embedded Kafka drop input?)\n" + log.last_lines());
  }
  auto last_ms = LastTimestamp(bootstrap, config.topics.exceptions, o.partitions);
  if (!last_ms.ok()) return last_ms.status();
  // From starting the child to its last exception record handed to the
  // broker: the store's opening, every record and the deadlines the closing
  // heartbeats fire.
  const double seconds = static_cast<double>(*last_ms - started_ms) / 1000.0;
  out["seconds_to_last_exception"] = seconds;
  out["seconds_until_exit"] = run_seconds;
  out["events_per_s"] = static_cast<double>(events) / seconds;
  out["cpu_seconds"] = exit.cpu_seconds;
  out["events_per_cpu_s"] = static_cast<double>(events) / exit.cpu_seconds;
  out["peak_rss_bytes"] = stop.peak_rss_bytes;
  out["exception_records"] = stop.exception_records;
  out.update(StateDiskFigures(state_dir, deals));
  return out;
}

}  // namespace closeloop::bench
