// Decoder benchmarks (Google Benchmark): records and megabytes per second
// through ingest::Decode (decode, validate, fill defaults) for each wire
// format, on the sample company's documents (a realistic mix of deals,
// orders, invoices and payments). Prints figures; asserts nothing. See
// bench/README.md.
#include <benchmark/benchmark.h>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "app/sample_company.h"
#include "ingest/decode.h"

namespace closeloop {
namespace {

using ingest::DocType;
using ingest::Format;

struct Record {
  DocType type;
  std::string bytes;
};

const google::protobuf::Message& PayloadOf(const v1::Event& e, DocType& type) {
  switch (e.payload_case()) {
    case v1::Event::kDeal:
      type = DocType::kDeal;
      return e.deal();
    case v1::Event::kOrder:
      type = DocType::kOrder;
      return e.order();
    case v1::Event::kInvoice:
      type = DocType::kInvoice;
      return e.invoice();
    default:
      type = DocType::kPayment;
      return e.payment();
  }
}

// The company's documents encoded in `format` (kJson: snake_case proto3 JSON
// as the sample producer writes it; kConfluent: magic byte, schema id and the
// one-byte message index [0] before the Protobuf bytes). Made once.
const std::vector<Record>& RecordsIn(Format format) {
  static std::map<Format, std::vector<Record>> cache;
  auto [it, fresh] = cache.try_emplace(format);
  if (fresh) {
    const app::SampleCompany company = app::GenerateSampleCompany(
        {.seed = 42,
         .now = matcher::EventTime(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23)),
         .deals_per_tenant = 2000,
         .bad_records = 0});
    for (const v1::Event& e : company.events) {
      Record r;
      const google::protobuf::Message& m = PayloadOf(e, r.type);
      if (format == Format::kJson) {
        google::protobuf::util::JsonPrintOptions options;
        options.preserve_proto_field_names = true;
        (void)google::protobuf::util::MessageToJsonString(m, &r.bytes, options);
      } else {
        if (format == Format::kConfluent) r.bytes.assign("\x00\x00\x00\x00\x2a\x00", 6);
        r.bytes += m.SerializeAsString();
      }
      it->second.push_back(std::move(r));
    }
  }
  return it->second;
}

void DecodeRecords(benchmark::State& state, Format format, Format topic_format) {
  const std::vector<Record>& records = RecordsIn(format);
  int64_t bytes = 0;
  for (const Record& r : records) bytes += static_cast<int64_t>(r.bytes.size());
  for (auto _ : state) {
    for (const Record& r : records) {
      auto decoded = ingest::Decode(r.type, topic_format, r.bytes, std::nullopt);
      if (std::holds_alternative<ingest::Rejection>(decoded)) {
        state.SkipWithError(std::get<ingest::Rejection>(decoded).message.c_str());
        return;
      }
      benchmark::DoNotOptimize(decoded);
    }
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["records/s"] =
      benchmark::Counter(n * static_cast<double>(records.size()), benchmark::Counter::kIsRate);
  state.counters["MB/s"] =
      benchmark::Counter(n * static_cast<double>(bytes) / 1e6, benchmark::Counter::kIsRate);
  state.counters["bytes/record"] = static_cast<double>(bytes) / static_cast<double>(records.size());
}

BENCHMARK_CAPTURE(DecodeRecords, json, Format::kJson, Format::kJson)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(DecodeRecords, json_auto, Format::kJson, Format::kAuto)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(DecodeRecords, protobuf, Format::kProtobuf, Format::kProtobuf)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(DecodeRecords, confluent, Format::kConfluent, Format::kConfluent)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace closeloop

BENCHMARK_MAIN();
