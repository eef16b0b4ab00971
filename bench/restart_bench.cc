// Restart bench (issue 5): time from a SIGKILL to "consuming again", by the
// number of deals in the state store. Prints the figures; asserts nothing
// but that each step worked. See bench/README.md, "Restart".
//
// State: the matcher runs once over a generated sample company (seed 42,
// --template-deals per tenant) into a recording store, which keeps every
// deal, order and invoice state, payment link, customer index entry and
// timer it ends with. For N deals, a child process writes copies of those
// records (ids suffixed "~<copy>") through state::RocksStore, committing
// every --commit-every records, and kills itself with SIGKILL right after
// its last commit: the store is left as a crash leaves it (no clean close,
// write-ahead log to replay).
//
// Restart: the embedded Kafka holds the template company on the input
// topics. For each size, in this process, the clock runs from constructing
// app::Pipeline (the moment a restarted process would get there) through
// Pipeline::Start (opening the store, creating the Kafka clients, fencing,
// recovering the outbox, subscribing) to the pipeline's "consuming:" log
// line, written when its first batch of input records is in hand. Each size
// uses a consumer group of its own, so each start includes joining a group
// (the embedded Kafka, like a real broker's default
// group.initial.rebalance.delay.ms, holds a new group's first join about
// 3 s); the 0-deal run shows that part alone.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "app/embedded_kafka.h"
#include "app/pipeline.h"
#include "app/sample_company.h"
#include "app/sample_producer.h"
#include "bench/measure.h"
#include "bench/prebuilt_state.h"
#include "ingest/input.h"
#include "ingest/normalize.h"
#include "spdlog/sinks/base_sink.h"
#include "spdlog/spdlog.h"

namespace closeloop {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Notes when the pipeline logs that it consumes.
class ConsumingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::atomic<bool> seen{false};
  Clock::time_point at;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (!seen.load() &&
        std::string_view(msg.payload.data(), msg.payload.size()).starts_with("consuming:")) {
      at = Clock::now();
      seen = true;
    }
  }
  void flush_() override {}
};

using bench::RunChild;

// Reads the child's log until its "consuming:" line; false when it ends first.
bool WaitConsuming(RunChild& c) {
  char line[4096];
  while (std::fgets(line, sizeof line, c.log) != nullptr) {
    if (std::strstr(line, " consuming: ") != nullptr) return true;
  }
  return false;
}

void End(RunChild& c, int signal) {
  kill(c.pid, signal);
  (void)bench::WaitExit(c);
}

// Reads the child's log to its end (copied to `log_path`) and returns its peak
// resident memory; -1 when it failed.
int64_t PeakRssAtExit(RunChild& c, const std::string& log_path) {
  std::ofstream log(log_path);
  char line[4096];
  bench::StopLine stop;
  while (std::fgets(line, sizeof line, c.log) != nullptr) {
    log << line;
    bench::ParseStopLine(line, stop);
  }
  const bench::ChildExit exit = bench::WaitExit(c);
  return exit.ok ? stop.peak_rss_bytes : -1;
}

struct Figures {
  int64_t deals = 0;
  double build_s = 0;
  uint64_t store_bytes = 0;
  double start_s = 0;      // Pipeline constructed -> Start returned
  double consuming_s = 0;  // Pipeline constructed -> "consuming:"
  double sigkill_s = 0;    // closeloop run: SIGKILL -> the next one's "consuming:"
  int64_t peak_rss = 0;    // closeloop run --until-idle over the store: its VmHWM
};

int Main(int argc, char** argv) {
  CLI::App app{"Restart time to consuming again, by deals in state"};
  std::vector<int64_t> sizes = {0, 10000, 100000};
  bool huge = false, quick = false;
  int template_deals = 500, commit_every = 20000;
  app.add_option("--deals", sizes, "Deals in state, one run each")->delimiter(',');
  app.add_flag("--huge", huge, "Also 1,000,000 deals (a few minutes to build)");
  bool ten_million = false;
  app.add_flag("--ten-million", ten_million,
               "Also 10,000,000 deals (about half an hour to build, 2 GB on disk)");
  app.add_flag("--quick", quick, "Only 0 and 2,000 deals (seconds), for the test suite");
  app.add_option("--template-deals", template_deals, "Deals per tenant of the template company");
  app.add_option("--commit-every", commit_every, "Records per commit while building state");
  std::string closeloop;
  app.add_option("--closeloop", closeloop,
                 "The closeloop binary: also time SIGKILL of `closeloop run` to its restart's "
                 "first records, in the same consumer group");
  std::string properties;
  app.add_option("--kafka-properties", properties,
                 "YAML lines under kafka.properties for --closeloop runs, e.g. "
                 "'group.instance.id: bench'");
  bool storm = false;
  app.add_flag("--storm", storm,
               "Let the --closeloop runs' watermarks follow the wall clock, so that the copies' "
               "deadlines all come due at once (fired pipeline.batch_max_timers per batch)");
  bool keep = false;
  app.add_flag("--keep", keep,
               "Keep the stores, configs and the --until-idle runs' logs (<deals>.idle.log)");
  CLI11_PARSE(app, argc, argv);
  if (quick) sizes = {0, 2000};
  if (huge) sizes.push_back(1000000);
  if (ten_million) sizes.push_back(10000000);
  spdlog::set_level(spdlog::level::warn);

  const app::SampleCompany company = app::GenerateSampleCompany(
      {.seed = 42, .now = ingest::WallNow(), .deals_per_tenant = template_deals});
  bench::RecordingStore recorded;
  bench::RecordTemplate(company, recorded);
  std::printf("template: %zu deals, %zu orders, %zu invoices, %zu timers per copy\n",
              recorded.deals.size(), recorded.orders.size(), recorded.invoices.size(),
              recorded.timers.size());

  std::string root = std::filesystem::temp_directory_path() / "closeloop-restart-bench-XXXXXX";
  if (mkdtemp(root.data()) == nullptr) {
    std::fprintf(stderr, "mkdtemp failed\n");
    return 1;
  }
  struct Remove {
    std::string dir;
    ~Remove() {
      std::error_code ignored;
      if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
    }
  } remove{keep ? "" : root};
  if (keep) std::printf("stores, configs and logs stay in %s\n", root.c_str());

  // Every store is built (and crashed) before the Kafka threads exist: fork
  // copies only the calling thread.
  std::vector<Figures> figures;
  for (int64_t n : sizes) {
    Figures f{.deals = n};
    const std::string dir = root + "/" + std::to_string(n);
    const auto began = Clock::now();
    const int status = bench::BuildState(recorded, dir, n, commit_every, bench::BuildEnd::kSigkill);
    f.build_s = Seconds(Clock::now() - began);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
      std::fprintf(stderr, "building %lld deals did not end in SIGKILL (status %d)\n",
                   static_cast<long long>(n), status);
      return 1;
    }
    f.store_bytes = static_cast<uint64_t>(bench::DirectoryBytes(dir).value_or(0));
    std::printf("state of %lld deals: built in %.1f s, %.1f MB on disk, then SIGKILL\n",
                static_cast<long long>(n), f.build_s, static_cast<double>(f.store_bytes) / 1e6);
    std::fflush(stdout);
    figures.push_back(f);
  }

  auto kafka = app::EmbeddedKafka::Start();
  if (!kafka.ok()) {
    std::fprintf(stderr, "%s\n", kafka.status().ToString().c_str());
    return 1;
  }
  auto loaded = app::LoadConfigText(company.tenants_yaml, "restart-bench");
  if (auto* err = std::get_if<app::ConfigError>(&loaded)) {
    std::fprintf(stderr, "%s\n", err->ToString().c_str());
    return 1;
  }
  app::Config base = std::get<app::Config>(std::move(loaded));
  for (const std::string& t : base.topics.Names()) {
    if (!(*kafka)->CreateTopic(t, base.kafka.topic_partitions).ok()) return 1;
  }
  if (absl::Status s = app::ProduceSampleCompany(company, base, (*kafka)->bootstrap()); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }

  auto sink = std::make_shared<ConsumingSink>();
  spdlog::default_logger()->sinks().push_back(sink);
  spdlog::set_level(spdlog::level::info);
  for (Figures& f : figures) {
    app::Config config = base;
    config.state_dir = root + "/" + std::to_string(f.deals);
    config.kafka.group_id = "restart-" + std::to_string(f.deals);
    sink->seen = false;
    std::atomic<bool> stop{false};
    absl::Status run = absl::OkStatus();
    const auto began = Clock::now();
    {
      app::Pipeline pipeline(config, (*kafka)->bootstrap());
      absl::Status s = pipeline.Start(stop);
      f.start_s = Seconds(Clock::now() - began);
      if (!s.ok()) {
        std::fprintf(stderr, "start with %lld deals: %s\n", static_cast<long long>(f.deals),
                     s.ToString().c_str());
        return 1;
      }
      std::thread worker([&] { run = pipeline.Run(stop, /*until_idle=*/false); });
      const auto limit = Clock::now() + std::chrono::seconds(120);
      while (!sink->seen.load() && Clock::now() < limit) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      stop = true;
      worker.join();
    }
    if (!sink->seen.load() || !run.ok()) {
      std::fprintf(stderr, "with %lld deals the pipeline did not consume: %s\n",
                   static_cast<long long>(f.deals), run.ToString().c_str());
      return 1;
    }
    f.consuming_s = Seconds(sink->at - began);
  }
  spdlog::default_logger()->sinks().pop_back();

  // SIGKILL of a running `closeloop run` to its restart consuming again,
  // both in one consumer group, as an operator's restart after a crash.
  for (Figures& f : figures) {
    if (closeloop.empty()) break;
    const std::string config = root + "/" + std::to_string(f.deals) + ".yaml";
    std::ofstream(config) << company.tenants_yaml << "state_dir: " << root << "/" << f.deals
                          << "\nhttp:\n  listen: 127.0.0.1:0\nkafka:\n  group_id: "
                          << "killed-" << f.deals << "\n"
                          << (properties.empty() ? "" : "  properties:\n    " + properties + "\n")
                          << "time:\n  follow_wall_clock: " << (storm ? "true" : "false") << "\n";
    // Fresh input for each of the two runs.
    (void)app::ProduceSampleCompany(company, base, (*kafka)->bootstrap());
    RunChild first = bench::SpawnRun(closeloop, config, (*kafka)->bootstrap());
    if (!WaitConsuming(first)) {
      std::fprintf(stderr, "closeloop run with %lld deals did not consume\n",
                   static_cast<long long>(f.deals));
      return 1;
    }
    (void)app::ProduceSampleCompany(company, base, (*kafka)->bootstrap());
    End(first, SIGKILL);
    const auto killed = Clock::now();
    RunChild second = bench::SpawnRun(closeloop, config, (*kafka)->bootstrap());
    if (!WaitConsuming(second)) {
      std::fprintf(stderr, "the restart with %lld deals did not consume\n",
                   static_cast<long long>(f.deals));
      return 1;
    }
    f.sigkill_s = Seconds(Clock::now() - killed);
    End(second, SIGTERM);
    // Resident memory with the deals in state: a run over one more copy of
    // the company's input, to its end (SIGTERM-free, so its closing line says its peak).
    (void)app::ProduceSampleCompany(company, base, (*kafka)->bootstrap());
    RunChild idle = bench::SpawnRun(closeloop, config, (*kafka)->bootstrap(), /*until_idle=*/true);
    f.peak_rss = PeakRssAtExit(idle, root + "/" + std::to_string(f.deals) + ".idle.log");
    if (f.peak_rss < 0) {
      std::fprintf(stderr, "closeloop run --until-idle with %lld deals failed\n",
                   static_cast<long long>(f.deals));
      return 1;
    }
  }

  std::printf("\n%12s %10s %12s %14s %18s %22s %14s\n", "deals", "store MB", "build s", "Start() s",
              "to consuming s", "SIGKILL to consuming s", "peak RSS MB");
  for (const Figures& f : figures) {
    std::printf("%12lld %10.1f %12.1f %14.3f %18.3f %22.3f %14.1f\n",
                static_cast<long long>(f.deals), static_cast<double>(f.store_bytes) / 1e6,
                f.build_s, f.start_s, f.consuming_s, f.sigkill_s,
                static_cast<double>(f.peak_rss) / 1e6);
  }
  for (const Figures& f : figures) {
    std::printf(
        "{\"deals\": %lld, \"store_bytes\": %llu, \"start_s\": %.3f, \"to_consuming_s\": "
        "%.3f, \"sigkill_to_consuming_s\": %.3f, \"peak_rss_bytes\": %lld}\n",
        static_cast<long long>(f.deals), static_cast<unsigned long long>(f.store_bytes), f.start_s,
        f.consuming_s, f.sigkill_s, static_cast<long long>(f.peak_rss));
  }
  return 0;
}

}  // namespace
}  // namespace closeloop

int main(int argc, char** argv) { return closeloop::Main(argc, argv); }
