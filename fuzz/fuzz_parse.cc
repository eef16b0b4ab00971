// libFuzzer target: the small parsers, each with a round-trip check.
//   first byte % 4 == 0  ParseDuration -> FormatDuration -> ParseDuration
//                    1   ParseRatioPpm -> FormatRatioPpm -> ParseRatioPpm
//                    2   DecimalToMinor (money in major units) with 0..4 digits
//                    3   DecimalBytesToText (Kafka Connect DECIMAL bytes)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "app/config.h"
#include "ingest/map_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto d = closeloop::app::ParseDuration(text);
      if (d) {
        auto again = closeloop::app::ParseDuration(closeloop::app::FormatDuration(*d));
        if (!again || *again != *d) std::abort();
      }
      break;
    }
    case 1: {
      auto ppm = closeloop::app::ParseRatioPpm(text);
      if (ppm) {
        if (*ppm < 0 || *ppm > 1'000'000) std::abort();
        auto again = closeloop::app::ParseRatioPpm(closeloop::app::FormatRatioPpm(*ppm));
        if (!again || *again != *ppm) std::abort();
      }
      break;
    }
    case 2: {
      const int digits = (data[0] / 4) % 5;
      auto minor = closeloop::ingest::DecimalToMinor(text, digits);
      if (auto* m = std::get_if<std::string>(&minor)) {
        if (m->empty()) std::abort();  // a refusal always says why
      }
      break;
    }
    case 3: {
      const int scale = (data[0] / 4) % 20;
      (void)closeloop::ingest::DecimalBytesToText(text, scale);
      break;
    }
  }
  return 0;
}
