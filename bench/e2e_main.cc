// bench_e2e: one end-to-end benchmark per process (so that peak memory is
// the run's own). Writes one JSON object to --out (or stdout); exits 1 with a
// message when the run went wrong. bench/run_all.py drives it.
#include <fstream>
#include <iostream>

#include "CLI/CLI.hpp"
#include "bench/e2e.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  using namespace closeloop::bench;
  CLI::App app("closeloop end-to-end benchmarks (bench/README.md)");
  app.require_subcommand(1);
  std::string out_path;
  app.add_option("--out", out_path, "write the JSON figures here (default: stdout)");

  PipelineOptions pipeline;
  CLI::App* p = app.add_subcommand("pipeline", "plain consumer vs Pipeline on preloaded Kafka");
  p->add_option("--deals-per-tenant", pipeline.deals_per_tenant)->capture_default_str();
  p->add_option("--partitions", pipeline.partitions)->capture_default_str();
  p->add_option("--seed", pipeline.seed)->capture_default_str();
  p->add_option("--idle-after", pipeline.idle_after)->capture_default_str();
  p->add_option("--extra-yaml", pipeline.extra_yaml, "config YAML appended");
  bool no_baseline = false;
  p->add_flag("--no-baseline", no_baseline, "skip the plain consumer");

  ScalingOptions scaling;
  CLI::App* sc = app.add_subcommand("scaling", "closeloop run fed while it runs, by deals");
  sc->add_option("--closeloop", scaling.closeloop, "the closeloop binary")->required();
  sc->add_option("--deals-per-tenant", scaling.deals_per_tenant)->capture_default_str();
  sc->add_option("--partitions", scaling.partitions)->capture_default_str();
  sc->add_option("--window", scaling.window, "records produced ahead of the pipeline, at most")
      ->capture_default_str();
  sc->add_option("--seed", scaling.seed)->capture_default_str();
  sc->add_option("--extra-yaml", scaling.extra_yaml, "config YAML appended");
  sc->add_option("--prebuilt-deals", scaling.prebuilt_deals,
                 "deals at rest in the store before the run, written directly")
      ->capture_default_str();

  LatencyOptions latency;
  CLI::App* l = app.add_subcommand("latency", "detection latency of the live Pipeline");
  l->add_option("--samples", latency.samples)->capture_default_str();
  l->add_option("--warmup", latency.warmup)->capture_default_str();
  l->add_option("--partitions", latency.partitions)->capture_default_str();
  l->add_option("--pipeline-fetch-wait-ms", latency.fetch_wait_max_ms,
                "kafka.properties fetch.wait.max.ms of the pipeline");
  l->add_option("--extra-yaml", latency.extra_yaml, "config YAML appended");

  CLI11_PARSE(app, argc, argv);
  // Logs go to stderr; stdout may carry the figures.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bench"));
  spdlog::set_level(spdlog::level::warn);
  pipeline.baseline = !no_baseline;

  absl::StatusOr<nlohmann::json> figures;
  if (p->parsed()) {
    figures = RunPipelineBench(pipeline);
  } else if (sc->parsed()) {
    figures = RunScalingBench(scaling);
  } else {
    figures = RunLatencyBench(latency);
  }
  if (!figures.ok()) {
    std::cerr << "bench_e2e: " << figures.status().message() << "\n";
    return 1;
  }
  if (out_path.empty()) {
    std::cout << figures->dump(2) << "\n";
  } else {
    std::ofstream(out_path) << figures->dump(2) << "\n";
  }
  return 0;
}
