// The end-to-end benchmarks behind `bench_e2e` (bench/README.md): each mode
// runs once in a fresh process and returns its figures as one JSON object,
// which bench/run_all.py collects. Modes measure; they assert nothing about
// speed, but fail (non-OK status) when the run itself went wrong, e.g. the
// pipeline did not consume every record or the broker dropped input.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/config.h"
#include "matcher/types.h"
#include "nlohmann/json.hpp"

namespace closeloop::bench {

// `pipeline`: the sample company (JSON only) preloaded into the embedded
// Kafka, read once by a plain librdkafka consumer (the baseline) and once by
// closeloop's real Pipeline.
struct PipelineOptions {
  uint32_t seed = 42;
  // Deals per tenant (two tenants). Default: 25000
  int deals_per_tenant = 25000;
  // Partitions of each input topic. The embedded Kafka keeps about 5 MiB per
  // partition, so larger inputs need more. Default: 16
  int partitions = 16;
  // Also run the plain consumer first. Default: true
  bool baseline = true;
  // time.idle_after of the run: the last deadlines fire once every caught-up
  // partition has idled this long. Default: 200ms
  std::string idle_after = "200ms";
  // Extra config YAML appended (not `time:`, `kafka:` or `state_dir:`), e.g.
  // "pipeline:\n  batch_max_wait: 20ms\n".
  std::string extra_yaml;
};
absl::StatusOr<nlohmann::json> RunPipelineBench(const PipelineOptions& options);

// `latency`: the Pipeline running live on the embedded Kafka; a separate
// consumer times (a) a resolving invoice to the RESOLVED record and (b)
// watermarks passing a deadline to the OPEN record.
struct LatencyOptions {
  // Measured samples of each kind (after `warmup` unmeasured ones). Default: 200
  int samples = 200;
  int warmup = 3;
  // Partitions of each input topic. Default: 3 (config default)
  int partitions = 3;
  // kafka.properties fetch.wait.max.ms of the pipeline's consumer, when set.
  // The embedded Kafka answers an empty fetch only after this wait, even when
  // data arrives meanwhile (a real broker answers at once). Default: unset
  // (librdkafka's 500 ms)
  std::optional<int> fetch_wait_max_ms;
  // Extra config YAML (not `defaults:`, `kafka:` or `time:`), e.g.
  // "pipeline:\n  batch_max_wait: 20ms\n".
  std::string extra_yaml;
};
absl::StatusOr<nlohmann::json> RunLatencyBench(const LatencyOptions& options);

// `scaling`: the Pipeline as a `closeloop run --until-idle` child process on
// the embedded Kafka, fed the sample company while it runs (the embedded
// Kafka keeps only about 5 MiB per partition, far less than a million deals'
// input): its rate, CPU time, peak resident memory and state on disk.
struct ScalingOptions {
  // The closeloop binary. Required.
  std::string closeloop;
  uint32_t seed = 42;
  // Deals per tenant (two tenants). Default: 5000
  int deals_per_tenant = 5000;
  // Partitions of each topic. Default: 16
  int partitions = 16;
  // Input records produced ahead of what the pipeline has consumed, at most.
  // Default: 100000
  int64_t window = 100000;
  // Extra config YAML appended (not `time:`, `kafka:`, `http:` or
  // `state_dir:`).
  std::string extra_yaml;
  // Deals already at rest in the store when the run starts, written directly
  // (bench/prebuilt_state.h) rather than fed through Kafka. Default: 0
  int64_t prebuilt_deals = 0;
};
absl::StatusOr<nlohmann::json> RunScalingBench(const ScalingOptions& options);

// One heartbeat document (tenant `hb`, never near a deadline) for one input
// topic: producing one to every partition of every input topic moves every
// source's watermark to its event time.
struct Heartbeat {
  const std::string* topic;
  std::string key;
  std::string value;  // JSON
};
// The four heartbeats (deal, order, invoice, payment) for `partition`.
std::vector<Heartbeat> HeartbeatDocs(const app::TopicsConfig& topics, int partition,
                                     matcher::EventTime at);

// p50, p99 and max of `ms` (sorted in place), in milliseconds.
nlohmann::json Percentiles(std::vector<double>& ms);

}  // namespace closeloop::bench
