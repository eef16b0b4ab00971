// `bench_e2e direct`: the Pipeline's per-record path (decode, normalize,
// Engine::Apply, then per batch the watermarks and Engine::Advance) fed from
// memory, for state sizes the embedded Kafka cannot hold (bench/README.md,
// "Scaling").
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <filesystem>

#include "app/sample_company.h"
#include "bench/e2e.h"
#include "bench/measure.h"
#include "ingest/decode.h"
#include "ingest/input.h"
#include "ingest/normalize.h"
#include "matcher/engine.h"
#include "matcher/memory_store.h"

namespace closeloop::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Record {
  ingest::DocType type;
  std::string bytes;  // canonical JSON, as `ProduceSampleCompany(json_only)` sends it
};

Record Encode(const v1::Event& e) {
  const google::protobuf::Message* m = nullptr;
  ingest::DocType type = ingest::DocType::kDeal;
  switch (e.payload_case()) {
    case v1::Event::kDeal:
      m = &e.deal();
      break;
    case v1::Event::kOrder:
      m = &e.order(), type = ingest::DocType::kOrder;
      break;
    case v1::Event::kInvoice:
      m = &e.invoice(), type = ingest::DocType::kInvoice;
      break;
    default:
      m = &e.payment(), type = ingest::DocType::kPayment;
      break;
  }
  Record r{.type = type};
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(*m, &r.bytes, options);
  return r;
}

// The store the matcher keeps its state in on this path: MemoryStore, so
// the direct figures are decode + matcher alone. The Pipeline runs measure
// the RocksDB store (bytes on disk per deal come from them).
std::unique_ptr<matcher::Store> MakeStore(const std::string& /*state_dir*/) {
  return std::make_unique<matcher::MemoryStore>();
}

}  // namespace

absl::StatusOr<nlohmann::json> RunDirectBench(const DirectOptions& o) {
  nlohmann::json out;
  const matcher::EventTime now = ingest::WallNow();
  Clock::time_point t = Clock::now();
  std::vector<Record> input;
  int64_t input_bytes = 0;
  matcher::TenantDirectory tenants;
  {
    app::SampleCompany company = app::GenerateSampleCompany(
        {.seed = o.seed, .now = now, .deals_per_tenant = o.deals_per_tenant, .bad_records = 0});
    tenants = app::SampleTenants(company);
    input.reserve(company.events.size());
    for (const v1::Event& e : company.events) {
      input.push_back(Encode(e));
      input_bytes += static_cast<int64_t>(input.back().bytes.size());
    }
  }  // the generated protos are freed; only the encoded input stays
  out["generate_seconds"] = std::chrono::duration<double>(Clock::now() - t).count();
  const int64_t deals = 2 * static_cast<int64_t>(o.deals_per_tenant);
  out["deals"] = deals;
  out["events"] = input.size();
  out["input_bytes"] = input_bytes;
  out["batch"] = o.batch;

  ResetPeakResident();
  const int64_t rss_input = ResidentBytes();
  out["rss_before_run_bytes"] = rss_input;
  const std::string state_root = FreshTempDir("closeloop-bench");
  const std::string state_dir = state_root + "/state";
  std::unique_ptr<matcher::Store> store = MakeStore(state_dir);
  matcher::Engine engine(tenants, *store);
  matcher::WatermarkSet wm;
  for (int s = 0; s < matcher::kSourceCount; ++s) {
    wm.SetPartitionCount(static_cast<matcher::Source>(s), 1);
  }
  std::vector<matcher::ExceptionRecord> records;
  int64_t published = 0;
  matcher::EventTime latest = matcher::kMinTime;
  t = Clock::now();
  const double cpu_start = CpuSeconds();
  for (size_t i = 0; i < input.size();) {
    const size_t end = std::min(input.size(), i + static_cast<size_t>(o.batch));
    for (; i < end; ++i) {
      auto decoded =
          ingest::Decode(input[i].type, ingest::Format::kAuto, input[i].bytes, std::nullopt);
      if (auto* rejection = std::get_if<ingest::Rejection>(&decoded)) {
        return absl::InternalError("record " + std::to_string(i) +
                                   " refused: " + rejection->message);
      }
      const matcher::Document doc = ingest::ToDocument(std::get<v1::Event>(decoded));
      latest = std::max(latest, std::visit([](const auto& d) { return d.event_time; }, doc));
      engine.Apply(doc, wm, records);
    }
    // The input is in event-time order, so every source is complete up to
    // the latest event time delivered: what the watermark tracker would say
    // of caught-up partitions.
    wm.AdvanceAll(latest);
    engine.Advance(wm, records);
    published += static_cast<int64_t>(records.size());
    records.clear();
  }
  wm.AdvanceAll(now);
  engine.Advance(wm, records);
  published += static_cast<int64_t>(records.size());
  const double seconds = std::chrono::duration<double>(Clock::now() - t).count();
  const double cpu_seconds = CpuSeconds() - cpu_start;
  out["cpu_seconds"] = cpu_seconds;
  out["events_per_cpu_s"] = static_cast<double>(input.size()) / cpu_seconds;
  const int64_t peak = PeakResidentBytes();
  out["seconds"] = seconds;
  out["events_per_s"] = static_cast<double>(input.size()) / seconds;
  out["mb_per_s"] = static_cast<double>(input_bytes) / 1e6 / seconds;
  out["exception_records"] = published;
  out["peak_rss_bytes"] = peak;
  out["state_rss_bytes_per_deal"] =
      static_cast<double>(peak - rss_input) / static_cast<double>(deals);
  out.update(StateDiskFigures(state_dir, deals));
  std::error_code ec;
  std::filesystem::remove_all(state_root, ec);
  return out;
}

}  // namespace closeloop::bench
