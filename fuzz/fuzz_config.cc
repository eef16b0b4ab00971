// libFuzzer target: LoadConfigText on arbitrary text. It must return a
// Config or a ConfigError, never crash; an accepted config must print
// (FormatConfig) and the printed form must load again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "app/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;  // configs are small; keep the search on structure
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = closeloop::app::LoadConfigText(text, "fuzz.yaml");
  if (auto* config = std::get_if<closeloop::app::Config>(&loaded)) {
    std::string printed = closeloop::app::FormatConfig(*config);
    auto again = closeloop::app::LoadConfigText(printed, "printed.yaml");
    if (!std::holds_alternative<closeloop::app::Config>(again)) {
      // FormatConfig redacts secrets; "[redacted]" still loads as a string,
      // so any refusal here is a real round-trip bug.
      std::abort();
    }
  }
  return 0;
}
