// libFuzzer target: ingest::Decode on arbitrary bytes in one wire format
// (CLOSELOOP_FUZZ_FORMAT, set per target in fuzz/CMakeLists.txt). The first
// byte picks the document type so one corpus covers all five; the rest is
// the record. With CLOSELOOP_FUZZ_COMMANDS the whole input is a command
// record (the closeloop.commands topic). Decode must return an Event or a Rejection, never crash,
// and an accepted Event must carry a payload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "ingest/decode.h"

using closeloop::ingest::DocType;
using closeloop::ingest::Format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef CLOSELOOP_FUZZ_COMMANDS
  // Command records only (closeloop.commands): every byte is the record.
  const DocType type = DocType::kCommand;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
#else
  if (size == 0) return 0;
  static constexpr DocType kTypes[] = {DocType::kDeal, DocType::kOrder, DocType::kInvoice,
                                       DocType::kPayment, DocType::kCommand};
  const DocType type = kTypes[data[0] % 5];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
#endif
  closeloop::ingest::Limits limits;
  limits.max_record_bytes = 64 * 1024;
  auto result = closeloop::ingest::Decode(type, Format::CLOSELOOP_FUZZ_FORMAT, bytes,
                                          1'700'000'000'000, limits);
  if (auto* event = std::get_if<closeloop::v1::Event>(&result)) {
    if (!event->has_deal() && !event->has_order() && !event->has_invoice() &&
        !event->has_payment() && !event->has_command()) {
      std::abort();  // accepted without a payload
    }
    // An accepted event must serialize (the pipeline stores it).
    std::string out;
    if (!event->SerializeToString(&out)) std::abort();
  } else {
    const auto& rejection = std::get<closeloop::ingest::Rejection>(result);
    if (closeloop::ingest::ReasonName(rejection.reason) == nullptr) std::abort();
  }
  return 0;
}
