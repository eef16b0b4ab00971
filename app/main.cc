// The closeloop binary: `run`, `dev-broker`, `demo`, `sample`, `report` and
// `check-config` (SPEC §10). Exit codes: 0 success, 2 usage or config error, 1 runtime failure.
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>
#include <tuple>
#include <vector>

#include "CLI/CLI.hpp"
#include "app/config.h"
#include "app/config_walk.h"
#include "app/demo.h"
#include "app/embedded_kafka.h"
#include "app/http_server.h"
#include "app/kafka_clients.h"
#include "app/pipeline.h"
#include "app/process_status.h"
#include "app/redrive.h"
#include "app/report_cli.h"
#include "app/sample_producer.h"
#include "ingest/input.h"
#include "spdlog/spdlog.h"

namespace {

// Set by SIGTERM/SIGINT. A signal handler can reach nothing but a global.
std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kUsage = 2;

std::optional<closeloop::app::Config> Load(const std::string& path, int& exit_code) {
  auto loaded = path.empty() ? closeloop::app::LoadConfigText("", "(defaults)")
                             : closeloop::app::LoadConfigFile(path);
  if (auto* err = std::get_if<closeloop::app::ConfigError>(&loaded)) {
    std::cerr << "closeloop: config refused: " << err->ToString() << "\n";
    exit_code = kUsage;
    return std::nullopt;
  }
  return std::get<closeloop::app::Config>(std::move(loaded));
}

void PrintBootstrap(const std::string& bootstrap) {
  std::cout << "bootstrap=" << bootstrap << std::endl;
}

struct RunFlags {
  std::string config_path, bootstrap, http_listen, role = "all";
  int task = -1;
  bool until_idle = false;
};

int Run(const RunFlags& flags) {
  namespace app = closeloop::app;
  int code = kOk;
  auto loaded = Load(flags.config_path, code);
  if (!loaded) return code;
  const app::Role role{.kind = flags.role == "ingest"    ? app::Role::kIngest
                               : flags.role == "matcher" ? app::Role::kMatcher
                                                         : app::Role::kAll,
                       .task = flags.task};
  if (absl::Status s = app::CheckRole(*loaded, role); !s.ok()) {
    std::cerr << "closeloop: " << s.message() << "\n";
    return kUsage;
  }
  std::optional<app::Config> config = app::ConfigForRole(*std::move(loaded), role);
  // Values librdkafka refuses only when a client is made are config errors
  // too, found before the state store or anything else is touched.
  if (absl::Status s = app::CheckClientProperties(*config); !s.ok()) {
    std::cerr << "closeloop: config refused: "
              << app::ConfigError{.file =
                                      flags.config_path.empty() ? "(defaults)" : flags.config_path,
                                  .field = "kafka.properties",
                                  .message = std::string(s.message())}
                     .ToString()
              << "\n";
    return kUsage;
  }
  // The token file is part of the config: an unreadable or empty one is a
  // config error (exit 2, SPEC §10), found before anything starts.
  std::string bearer_token;
  if (!config->http.bearer_token_file.empty()) {
    auto token = closeloop::app::ReadBearerToken(config->http.bearer_token_file);
    if (!token.ok()) {
      std::cerr << "closeloop: " << token.status().message() << "\n";
      return kUsage;
    }
    bearer_token = *std::move(token);
  }
  if (!flags.http_listen.empty()) config->http.listen = flags.http_listen;
  std::string bootstrap =
      flags.bootstrap.empty() ? config->kafka.bootstrap_servers : flags.bootstrap;
  std::unique_ptr<closeloop::app::EmbeddedKafka> embedded;
  if (bootstrap.empty() && role.kind != app::Role::kAll) {
    std::cerr << "closeloop: --role " << flags.role
              << " shares a Kafka with the other roles: give --bootstrap (or "
                 "kafka.bootstrap_servers), e.g. of `closeloop dev-broker --events-partitions "
              << config->pipeline.tasks << "`\n";
    return kUsage;
  }
  if (bootstrap.empty()) {
    auto kafka = closeloop::app::EmbeddedKafka::Start();
    if (!kafka.ok()) {
      std::cerr << "closeloop: " << kafka.status().message() << "\n";
      return kFailure;
    }
    embedded = std::move(*kafka);
    for (const std::string& t : config->topics.Names()) {
      (void)embedded->CreateTopic(t, config->kafka.topic_partitions);
    }
    bootstrap = embedded->bootstrap();
    PrintBootstrap(bootstrap);
  }
  closeloop::app::SnapshotBox snapshots;
  closeloop::app::HttpOptions http_options{
      .bearer_token = std::move(bearer_token),
      .max_request_bytes = static_cast<size_t>(config->http.max_request_bytes),
      .rate_limit_per_second = config->http.rate_limit_per_second,
      .rate_limit_per_client_per_second = config->http.rate_limit_per_client_per_second};
  auto http =
      closeloop::app::HttpServer::Start(config->http.listen, snapshots, std::move(http_options));
  if (!http.ok()) {
    std::cerr << "closeloop: " << http.status().message() << "\n";
    return kFailure;
  }
  std::cout << "http=" << (*http)->address() << std::endl;
  closeloop::app::Pipeline pipeline(*config, bootstrap, &snapshots, role);
  if (absl::Status s = pipeline.Start(g_stop); !s.ok()) {
    if (absl::IsCancelled(s)) return kOk;  // stopped while waiting for the broker
    std::cerr << "closeloop: " << s.message() << "\n";
    return kFailure;
  }
  spdlog::info("closeloop running against {}", bootstrap);
  if (absl::Status s = pipeline.Run(g_stop, flags.until_idle); !s.ok()) {
    std::cerr << "closeloop: " << s.message() << "\n";
    return kFailure;
  }
  // The benchmarks read the peak from this line: a parent's wait4 reports
  // the larger of it and the parent's own resident set at the fork.
  const int64_t peak = closeloop::app::ProcessStatusBytes("VmHWM");
  spdlog::info(
      "stopped after {} records, {} exception records published, peak resident memory {} kB",
      pipeline.stats().records, pipeline.stats().exception_records, peak < 0 ? -1 : peak / 1024);
  return kOk;
}

int DevBroker(int partitions, int brokers, int events_partitions) {
  auto kafka = closeloop::app::EmbeddedKafka::Start(brokers);
  if (!kafka.ok()) {
    std::cerr << "closeloop: " << kafka.status().message() << "\n";
    return kFailure;
  }
  for (const std::string& t : closeloop::app::TopicsConfig{}.Names()) {
    if (absl::Status s = (*kafka)->CreateTopic(t, partitions); !s.ok()) {
      std::cerr << "closeloop: " << s.message() << "\n";
      return kFailure;
    }
  }
  if (events_partitions > 0) {
    if (absl::Status s =
            (*kafka)->CreateTopic(closeloop::app::TopicsConfig{}.events, events_partitions);
        !s.ok()) {
      std::cerr << "closeloop: " << s.message() << "\n";
      return kFailure;
    }
  }
  PrintBootstrap((*kafka)->bootstrap());
  // The mock deletes what exceeds 5 MiB per partition (embedded_kafka.h),
  // without a word to the producer or the consumers: say it here, once per
  // deletion, so a test or a person sees why records never arrive.
  std::map<std::pair<std::string, int>, int64_t> starts;
  auto next_check = std::chrono::steady_clock::now();
  while (!g_stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() < next_check) continue;
    next_check = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    auto now = (*kafka)->LogStartOffsets();
    if (!now.ok()) continue;  // asked again in a second
    for (const auto& p : *now) {
      int64_t& known = starts[{p.topic, p.partition}];
      if (p.offset > known) {
        std::cerr << "closeloop dev-broker: deleted offsets " << known << ".." << p.offset - 1
                  << " of " << p.topic << " [" << p.partition
                  << "]: the embedded broker keeps at most 5 MiB per partition and deletes "
                     "the oldest records beyond it (a batch over 5 MiB that follows others "
                     "is lost with them); use a real Kafka for records that large"
                  << std::endl;
        known = p.offset;
      }
    }
  }
  return kOk;
}

int CheckConfig(const std::string& path) {
  int code = kOk;
  auto config = Load(path, code);
  if (!config) return code;
  std::cout << closeloop::app::FormatConfig(*config);
  return kOk;
}

}  // namespace

struct SampleFlags {
  std::string bootstrap;
  int deals = 150;
  uint32_t seed = 42;
  bool no_bad_records = false;
  bool json_only = false;
  std::string config_out, planted_out;
};

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) std::cerr << "closeloop: cannot write " << path << "\n";
  return static_cast<bool>(f);
}

// Produces a generated sample company onto a running Kafka, and writes the
// config of its tenants and the problems planted in it.
int Sample(const SampleFlags& flags) {
  namespace app = closeloop::app;
  const app::SampleCompany company =
      app::GenerateSampleCompany({.seed = flags.seed,
                                  .now = closeloop::ingest::WallNow(),
                                  .deals_per_tenant = flags.deals,
                                  .bad_records = flags.no_bad_records ? 0 : 6});
  const std::string config_text = company.tenants_yaml + "time:\n  idle_after: 1s\n";
  auto loaded = app::LoadConfigText(config_text, "sample-config");
  if (auto* err = std::get_if<app::ConfigError>(&loaded)) {
    std::cerr << "closeloop: " << err->ToString() << "\n";
    return kFailure;
  }
  if (!flags.config_out.empty() && !WriteFile(flags.config_out, config_text)) return kFailure;
  if (!flags.planted_out.empty() &&
      !WriteFile(flags.planted_out, app::PlantedAsJsonLines(company))) {
    return kFailure;
  }
  if (absl::Status s = app::ProduceSampleCompany(company, std::get<app::Config>(loaded),
                                                 flags.bootstrap, {.json_only = flags.json_only});
      !s.ok()) {
    std::cerr << "closeloop: " << s.message() << "\n";
    return kFailure;
  }
  std::cout << "produced " << company.events.size() << " events and " << company.bad_records.size()
            << " bad records to " << flags.bootstrap << std::endl;
  return kOk;
}

int main(int argc, char** argv) {
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  // Every line reaches a pipe or file at once (containers, supervisors, tests
  // waiting for a line), not when the stdio buffer fills.
  spdlog::flush_on(spdlog::level::info);

  CLI::App app{"closeloop: finds revenue leakage between CRM, ERP, billing and payments"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  // Options of the top level may also follow the subcommand.
  app.fallthrough();

  RunFlags run_flags;
  CLI::App* run = app.add_subcommand("run", "Run the service");
  run->add_option("--config", run_flags.config_path, "YAML config file (defaults when omitted)")
      ->check(CLI::ExistingFile);
  const CLI::Validator bootstrap_list(closeloop::app::CheckBootstrapFlag, "HOST:PORT[,...]");
  run->add_option("--bootstrap", run_flags.bootstrap,
                  "Kafka bootstrap servers HOST:PORT (overrides config)")
      ->check(bootstrap_list);
  run->add_option(
         "--http-listen", run_flags.http_listen,
         "HOST:PORT of the HTTP endpoints (overrides http.listen; port 0 picks a free one)")
      ->check(CLI::Validator(
          [](const std::string& text) {
            return closeloop::app::ParseListenAddress(text)
                       ? std::string()
                       : std::string("expected ") + closeloop::app::kListenAddressForm +
                             ", got \"" + text + "\"";
          },
          "HOST:PORT"));
  run->add_option("--role", run_flags.role,
                  "all: read the inputs and match (pipeline.tasks 1); with pipeline.tasks > 1, "
                  "ingest: re-key the inputs onto topics.events, or matcher: match one partition "
                  "of it (README \"Scaling out\")")
      ->check(CLI::IsMember({"all", "ingest", "matcher"}))
      ->capture_default_str();
  auto* task = run->add_option("--task", run_flags.task,
                               "With --role matcher: the partition of topics.events to match, "
                               "0 to pipeline.tasks - 1")
                   // pipeline.tasks is at most 1024; CheckRole holds it to the config's.
                   ->check(CLI::Range(0, 1023));
  run->add_flag("--until-idle", run_flags.until_idle,
                "Exit 0 once every input is read, its exceptions are published and the "
                "watermarks have reached the start time (a catch-up or replay run)");

  int partitions = 3, brokers = 1;
  CLI::App* dev = app.add_subcommand("dev-broker", "Run the embedded Kafka alone until SIGTERM");
  dev->add_option("--partitions", partitions, "Partitions of the standard topics")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  int events_partitions = 0;
  dev->add_option("--events-partitions", events_partitions,
                  "Also create topics.events's default topic with this many partitions (one per "
                  "matcher task; 0: not created)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  dev->add_option("--brokers", brokers, "Brokers in the cluster")
      ->check(CLI::Range(1, 5))
      ->capture_default_str();

  closeloop::app::DemoOptions demo_options;
  CLI::App* demo = app.add_subcommand("demo", "A tour on the embedded Kafka with a sample company");
  demo->add_option("--deals", demo_options.deals_per_tenant, "Deals per tenant")
      ->check(CLI::Range(10, 20000))
      ->capture_default_str();
  demo->add_option("--seed", demo_options.seed, "Seed of the sample company")
      ->capture_default_str();
  demo->add_flag("--keep-running", demo_options.keep_running,
                 "Keep the embedded Kafka up after the summary, for kcat");

  SampleFlags sample_flags;
  CLI::App* sample = app.add_subcommand(
      "sample", "Produce a generated sample company (with planted leakage) onto a running Kafka");
  sample->add_option("--bootstrap", sample_flags.bootstrap, "Kafka bootstrap servers HOST:PORT")
      ->required()
      ->check(bootstrap_list);
  sample->add_option("--deals", sample_flags.deals, "Deals per tenant")
      ->check(CLI::Range(10, 1000000))
      ->capture_default_str();
  sample->add_option("--seed", sample_flags.seed, "Seed of the sample company")
      ->capture_default_str();
  sample->add_flag("--no-bad-records", sample_flags.no_bad_records,
                   "Leave out the planted bad records");
  sample->add_flag("--json-only", sample_flags.json_only,
                   "Canonical snake_case JSON only (no camelCase, no Protobuf)");
  // An empty path given would write nothing and say nothing.
  const CLI::Validator path(
      [](const std::string& text) { return text.empty() ? "must not be empty" : ""; }, "PATH");
  sample
      ->add_option("--config-out", sample_flags.config_out,
                   "Write the sample tenants' config (for closeloop run --config) here")
      ->check(path);
  sample
      ->add_option("--planted-out", sample_flags.planted_out,
                   "Write the planted problems here, one JSON object per line")
      ->check(path);
  closeloop::app::ReportCliOptions report_options;
  std::string report_format = "table";
  CLI::App* report = app.add_subcommand(
      "report", "Print the books and open exceptions of a running service (GET /v1/report)");
  report->add_option("--url", report_options.urls,
                     std::string("Base URL of the service; repeat it for each process of a "
                                 "deployment split over processes, whose reports are added up "
                                 "(default: from --config's http.listen, else ") +
                         closeloop::app::kDefaultReportUrl + ")");
  report->add_option("--bearer-token-file", report_options.bearer_token_file,
                     "File holding the bearer token the service's /v1/* requires "
                     "(never the token itself on the command line)");
  report
      ->add_option("--config", report_options.config_path,
                   "The service's YAML config: where it listens (http.listen, unless --url "
                   "is given) and its token's file (http.bearer_token_file, unless "
                   "--bearer-token-file is given)")
      ->check(CLI::ExistingFile);
  for (const auto& [flag, param, help] :
       std::vector<std::tuple<const char*, const char*, const char*>>{
           {"--tenant", "tenant", "Only this tenant"},
           {"--kind", "kind", "Only exceptions of this kind, e.g. UNPAID"},
           {"--team", "team", "Only exceptions routed to this team"},
           {"--closed-since", "closed_since",
            "Deal figures of deals closed on or after YYYY-MM-DD"},
           {"--min-amount", "min_amount",
            "Only exceptions with at least this amount at risk, e.g. 1000.00"}}) {
    report->add_option_function<std::string>(
        flag,
        [&report_options, p = std::string(param)](const std::string& v) {
          report_options.filters[p] = v;
        },
        help);
  }
  report->add_option("--format", report_format, "table|json|csv")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();

  closeloop::app::RedriveOptions redrive_options;
  CLI::App* redrive = app.add_subcommand(
      "redrive",
      "Send dead letters back to the topic they were read from, once what refused them is fixed");
  redrive->add_option("--bootstrap", redrive_options.bootstrap, "Kafka bootstrap servers HOST:PORT")
      ->required()
      ->check(bootstrap_list);
  redrive
      ->add_option("--config", redrive_options.config_path,
                   "The service's YAML config: its DLQ (topics.dlq) and kafka.properties")
      ->check(CLI::ExistingFile);
  redrive
      ->add_option("--reason", redrive_options.reasons,
                   "Send the dead letters of this closeloop.reason, e.g. unknown_exception "
                   "(repeat for more)")
      ->required()
      ->check(CLI::Validator(
          [](const std::string& reason) {
            return closeloop::app::IsDeadLetterReason(reason)
                       ? std::string()
                       : "not a closeloop.reason: \"" + reason +
                             "\"; one of: " + closeloop::app::DeadLetterReasons();
          },
          "REASON"));
  redrive
      ->add_option("--topic", redrive_options.topics,
                   "Only dead letters read from this topic (repeat for more; default: every)")
      ->check(CLI::Validator(
          [](const std::string& topic) {
            return closeloop::app::config_walk::IsTopicName(topic)
                       ? std::string()
                       : "not a Kafka topic name: \"" + topic + "\"";
          },
          "TOPIC"));
  redrive->add_flag("--dry-run", redrive_options.dry_run, "Count and list; send nothing");

  std::string check_path;
  CLI::App* check =
      app.add_subcommand("check-config", "Validate a config and print the effective one");
  check->add_option("file", check_path, "YAML config file")->required()->check(CLI::ExistingFile);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    // Show the usage of the subcommand that was being parsed, if any.
    const std::vector<CLI::App*> chosen = app.get_subcommands();
    std::cerr << "\n" << (chosen.empty() ? app.help() : chosen.back()->help());
    return kUsage;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (*run) {
    if ((run_flags.role == "matcher") != (task->count() > 0)) {
      std::cerr << "closeloop: --task goes with --role matcher, and --role matcher needs it\n\n"
                << run->help();
      return kUsage;
    }
    return Run(run_flags);
  }
  if (*dev) return DevBroker(partitions, brokers, events_partitions);
  if (*demo) return closeloop::app::RunDemo(demo_options, g_stop, std::cout);
  if (*sample) return Sample(sample_flags);
  if (*check) return CheckConfig(check_path);
  if (*redrive) return closeloop::app::RunRedrive(redrive_options, std::cout, std::cerr);
  if (*report) {
    report_options.format = *closeloop::app::ReportFormatFromName(report_format);
    const int code = closeloop::app::RunReportCli(report_options, std::cout, std::cerr);
    if (code == kUsage) std::cerr << "\n" << report->help();
    return code;
  }
  return kUsage;
}
