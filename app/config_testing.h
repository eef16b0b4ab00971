// Helpers shared by the config tests: load a YAML text, or expect it refused.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "app/config.h"

namespace closeloop::app {

using matcher::kDay;
using matcher::Route;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Set by CMake: __FILE__ may be relative (ccache's base_dir rewrites paths).
inline const std::filesystem::path kAppDir = CLOSELOOP_APP_DIR;

// matcher::Route has no operator==; "team -> topic" compares and prints well.
inline std::string Show(const Route& r) { return r.team + " -> " + r.topic; }

inline Config Load(std::string_view yaml) {
  auto loaded = LoadConfigText(yaml, "test.yaml");
  if (auto* error = std::get_if<ConfigError>(&loaded)) {
    ADD_FAILURE() << "refused: " << error->ToString() << "\n" << yaml;
    return Config{};
  }
  return std::get<Config>(std::move(loaded));
}

inline ConfigError Refuse(std::string_view yaml) {
  auto loaded = LoadConfigText(yaml, "test.yaml");
  if (std::holds_alternative<Config>(loaded)) {
    ADD_FAILURE() << "accepted:\n" << yaml;
    return ConfigError{};
  }
  return std::get<ConfigError>(loaded);
}

// A config the file refuses: where, which field, and part of the message.
struct Refused {
  std::string yaml;
  int line;
  int column;
  std::string field;
  std::string message;
};

inline void ExpectRefused(const std::vector<Refused>& cases) {
  for (const Refused& c : cases) {
    SCOPED_TRACE(c.yaml);
    const ConfigError e = Refuse(c.yaml);
    EXPECT_EQ(e.file, "test.yaml");
    EXPECT_EQ(e.line, c.line) << e.ToString();
    EXPECT_EQ(e.column, c.column) << e.ToString();
    EXPECT_EQ(e.field, c.field) << e.ToString();
    EXPECT_THAT(e.message, HasSubstr(c.message));
  }
}

}  // namespace closeloop::app
