// libFuzzer target: a source adapter (CLOSELOOP_FUZZ_FORMAT: kDebezium or
// kSalesforceCdc) with the mappings of a fixture config
// (CLOSELOOP_FUZZ_CONFIG). One input is a sequence of records separated by
// 0x1E, each "KEY\0VALUE" (no \0: no key; empty: a tombstone), fed in order
// to fresh adapters sharing one fresh cache, so partial updates and deletes
// meet the rows earlier records left. The first byte picks the document
// type. Adapt must yield Events or Rejections, never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <variant>
#include <vector>

#include "app/config.h"
#include "ingest/adapter.h"

namespace {

using closeloop::ingest::DocType;

struct Setup {
  std::vector<std::pair<DocType, closeloop::ingest::Mapping>> mappings;
};

const Setup& GetSetup() {
  static const Setup setup = [] {
    std::ifstream in(CLOSELOOP_FUZZ_CONFIG);
    std::stringstream text;
    text << in.rdbuf();
    auto loaded = closeloop::app::LoadConfigText(text.str(), CLOSELOOP_FUZZ_CONFIG);
    if (!std::holds_alternative<closeloop::app::Config>(loaded)) std::abort();
    const auto& topics = std::get<closeloop::app::Config>(loaded).topics;
    Setup s;
    const std::pair<DocType, const closeloop::app::InputTopic*> roles[] = {
        {DocType::kDeal, &topics.deals},
        {DocType::kOrder, &topics.orders},
        {DocType::kInvoice, &topics.invoices},
        {DocType::kPayment, &topics.payments}};
    for (const auto& [type, topic] : roles) {
      if (topic->format == closeloop::ingest::Format::CLOSELOOP_FUZZ_FORMAT && topic->mapping) {
        s.mappings.emplace_back(type, *topic->mapping);
      }
    }
    if (s.mappings.empty()) std::abort();  // the fixture has no topic in this format
    return s;
  }();
  return setup;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Setup& setup = GetSetup();
  const auto& [type, mapping] = setup.mappings[data[0] % setup.mappings.size()];
  closeloop::ingest::Limits limits;
  limits.max_record_bytes = 64 * 1024;
  closeloop::ingest::MemoryRecordCache cache;
  auto adapter = closeloop::ingest::MakeAdapter(closeloop::ingest::Format::CLOSELOOP_FUZZ_FORMAT,
                                                type, mapping, limits, cache);
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<closeloop::ingest::Adapted> out;
  while (true) {
    size_t end = rest.find('\x1e');
    std::string_view record = rest.substr(0, end);
    std::optional<std::string_view> key;
    std::string_view value = record;
    if (size_t nul = record.find('\0'); nul != std::string_view::npos) {
      key = record.substr(0, nul);
      value = record.substr(nul + 1);
    }
    out.clear();
    adapter->Adapt({.topic = "fuzz",
                    .key = key,
                    .value = value,
                    .tombstone = value.empty(),
                    .kafka_timestamp_ms = 1'700'000'000'000},
                   out);
    for (const auto& a : out) {
      if (const auto* event = std::get_if<closeloop::v1::Event>(&a)) {
        std::string bytes;
        if (!event->SerializeToString(&bytes)) std::abort();
      }
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return 0;
}
