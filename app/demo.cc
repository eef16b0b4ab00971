#include "app/demo.h"

#include <google/protobuf/util/json_util.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <thread>

#include "app/embedded_kafka.h"
#include "app/kafka_clients.h"
#include "app/pipeline.h"
#include "app/report.h"
#include "app/report_format.h"
#include "app/sample_company.h"
#include "app/sample_producer.h"
#include "app/topic_reader.h"
#include "closeloop/v1/exception.pb.h"
#include "ingest/dead_letter.h"
#include "ingest/input.h"
#include "matcher/money.h"
#include "spdlog/fmt/fmt.h"

namespace closeloop::app {
namespace {

std::string KindKey(const std::string& tenant, const std::string& kind,
                    const std::string& subject) {
  return tenant + "/" + kind + "/" + subject;
}

}  // namespace

int RunDemo(const DemoOptions& options, const std::atomic<bool>& stop, std::ostream& out) {
  auto kafka = EmbeddedKafka::Start();
  if (!kafka.ok()) {
    out << "demo: " << kafka.status().message() << "\n";
    return 1;
  }
  const SampleCompany company =
      GenerateSampleCompany({.seed = options.seed,
                             .now = ingest::WallNow(),
                             .deals_per_tenant = options.deals_per_tenant});
  auto loaded = LoadConfigText(company.tenants_yaml + "time:\n  idle_after: 1s\n", "demo-config");
  if (auto* err = std::get_if<ConfigError>(&loaded)) {
    out << "demo: " << err->ToString() << "\n";
    return 1;
  }
  Config config = std::get<Config>(std::move(loaded));
  // The demo's state lives and dies with it.
  std::string state_dir =
      (std::filesystem::temp_directory_path() / "closeloop-demo-XXXXXX").string();
  if (mkdtemp(state_dir.data()) == nullptr) {
    out << "demo: cannot create a state directory under " << state_dir << "\n";
    return 1;
  }
  config.state_dir = state_dir;
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_state{state_dir};
  const std::string& bootstrap = (*kafka)->bootstrap();
  for (const std::string& t : config.topics.Names()) {
    if (absl::Status s = (*kafka)->CreateTopic(t, config.kafka.topic_partitions); !s.ok()) {
      out << "demo: " << s.message() << "\n";
      return 1;
    }
  }
  out << "Embedded Kafka at " << bootstrap << "\n";

  // Produce the company's history as its systems would have.
  if (absl::Status s = ProduceSampleCompany(company, config, bootstrap); !s.ok()) {
    out << "demo: " << s.message() << "\n";
    return 1;
  }
  out << "Produced " << company.events.size() << " events of two tenants ("
      << options.deals_per_tenant << " deals each) and " << company.bad_records.size()
      << " bad records\n";

  Pipeline pipeline(config, bootstrap);
  absl::Status ran = pipeline.Start(stop);
  if (ran.ok()) ran = pipeline.Run(stop, /*until_idle=*/true);
  if (!ran.ok() && !absl::IsCancelled(ran)) {
    out << "demo: " << ran.message() << "\n";
    return 1;
  }
  // A summary of part of the company would count what was not read yet as
  // missed. Stopped on request: exit 0, as `closeloop run` does.
  if (stop.load()) {
    out << "demo: stopped before the pipeline had read everything; no summary\n";
    return 0;
  }
  const PipelineStats& stats = pipeline.stats();
  // The CFO's view, as `closeloop report` prints it from a running service.
  const ReportData report =
      SnapshotOf(pipeline.books(), ingest::WallNow(), config.report.trailing_period);
  if (auto table = FormatReport(BuildReport(report, {}), ReportFormat::kTable); table.ok()) {
    out << *table << "\n";
  }
  out << "Pipeline read " << stats.records << " records: " << stats.events << " valid, "
      << stats.records - stats.events << " to " << config.topics.dlq << "; published "
      << stats.exception_records << " exception records\n\n";

  // Read back what a Slack bot would read, and fold it by exception id.
  auto records = ReadTopic(bootstrap, config.topics.exceptions);
  auto letters = ReadTopic(bootstrap, config.topics.dlq);
  if (!records.ok() || !letters.ok()) {
    out << "demo: could not read the output topics\n";
    return 1;
  }
  std::map<std::string, v1::ExceptionRecord> latest;
  for (const TopicRecord& r : *records) {
    v1::ExceptionRecord rec;
    if (!google::protobuf::util::JsonStringToMessage(r.value, &rec).ok()) continue;
    auto& slot = latest[rec.exception_id()];
    if (rec.sequence() > slot.sequence()) slot = rec;
  }
  struct Sum {
    int count = 0;
    std::map<std::string, int64_t> amount;  // by currency
  };
  std::map<std::pair<std::string, std::string>, Sum> open;  // (kind, team)
  std::map<std::string, int64_t> found;                     // tenant/kind/subject -> amount
  int resolved = 0;
  for (const auto& [id, rec] : latest) {
    if (rec.state() == v1::ExceptionRecord::RESOLVED) {
      ++resolved;
      continue;
    }
    const std::string kind = v1::ExceptionRecord::Kind_Name(rec.kind());
    Sum& s = open[{kind, rec.team()}];
    ++s.count;
    s.amount[rec.currency()] += rec.amount_at_risk_minor();
    const std::string subject = SubjectOf(rec);
    found[KindKey(rec.tenant_id(), kind, subject)] = rec.amount_at_risk_minor();
  }
  out << "Open exceptions by kind and team:\n";
  out << fmt::format("  {:<16} {:<12} {:>5}  {}\n", "kind", "team", "count", "amount at risk");
  for (const auto& [key, s] : open) {
    std::string amounts;
    for (const auto& [currency, minor] : s.amount) {
      amounts += (amounts.empty() ? "" : " + ") + matcher::FormatMoney(minor, currency);
    }
    out << fmt::format("  {:<16} {:<12} {:>5}  {}\n", key.first, key.second, s.count, amounts);
  }
  out << "  (" << resolved << " more exceptions opened and were resolved along the way)\n\n";

  int matched = 0, wrong_amount = 0;
  for (const PlantedProblem& p : company.planted) {
    auto it = found.find(KindKey(p.tenant, matcher::KindName(p.kind), p.subject_id));
    if (it == found.end()) continue;
    it->second == p.amount_at_risk_minor ? ++matched : ++wrong_amount;
  }
  const int unexpected = static_cast<int>(found.size()) - matched - wrong_amount;
  out << "Planted problems found with the exact amount: " << matched << " of "
      << company.planted.size() << " (wrong amount: " << wrong_amount
      << ", not planted but raised: " << unexpected << ")\n";

  std::map<std::string, int> reasons;
  for (const TopicRecord& r : *letters) {
    if (std::string reason = r.Header(ingest::kHeaderReason); !reason.empty()) ++reasons[reason];
  }
  std::map<std::string, int> planted_reasons;
  for (const BadRecord& bad : company.bad_records) ++planted_reasons[bad.reason];
  out << "Dead letters on " << config.topics.dlq << ":";
  for (const auto& [reason, n] : reasons) out << " " << reason << "=" << n;
  out << (reasons == planted_reasons ? " (each bad record with its expected reason)"
                                     : " (NOT the reasons planted)");
  out << "\n\nInspect the topics with kcat while the embedded Kafka runs (closeloop demo "
         "--keep-running):\n"
      << "  kcat -b " << bootstrap << " -C -t " << config.topics.exceptions << " -e -f '%k %s\\n'\n"
      << "  kcat -b " << bootstrap << " -C -t " << config.topics.dlq << " -e -f '%h %s\\n'\n";
  out.flush();
  if (options.keep_running) {
    out << "Embedded Kafka keeps running at " << bootstrap << "; Ctrl-C to stop.\n";
    out.flush();
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const bool ok = matched == static_cast<int>(company.planted.size()) && wrong_amount == 0 &&
                  unexpected == 0 && reasons == planted_reasons;
  return ok ? 0 : 1;
}

}  // namespace closeloop::app
