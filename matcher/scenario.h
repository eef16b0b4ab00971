// Data-driven matcher scenarios, in the spirit of DuckDB's sqllogictest: a
// small line-oriented file of tenant settings, documents and watermark
// advances, each followed by the exception records it must produce. The
// format is described in matcher/scenarios/README.md. Parser and runner use
// the standard library only. Values and free functions; not thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "matcher/engine.h"
#include "matcher/figures.h"
#include "matcher/lifecycle.h"
#include "matcher/state.h"
#include "matcher/tenant.h"
#include "matcher/types.h"

namespace closeloop::matcher::scenario {

// Raises the watermark of every source in `sources` to `time`.
struct WatermarkStep {
  SourceSet sources = 0;
  EventTime time;
};

// One attribute an `expect` line checks: `key=value`, or for text
// `key~substring`. Values are kept in the canonical form Field() prints.
struct Check {
  std::string key;
  bool substring = false;
  std::string value;
};

// `expect KIND ID STATE [RESOLUTION] key=value...` matches the next record
// emitted; `expect nothing` asserts that none is pending.
struct ExpectStep {
  bool nothing = false;
  std::vector<Check> checks;
};

// `figures TENANT DEAL key=value...` checks the books figures last reported
// for the deal (Engine::TakeFiguresChanges); `figures TENANT DEAL none` that
// none were ever reported.
struct FiguresStep {
  TenantId tenant;
  DealId deal;
  bool none = false;
  std::vector<Check> checks;
};

// `command TENANT ACK|SNOOZE|DISMISS EXCEPTION_ID key=value...` applies a
// person's command (its echo is a record like any other); `refused=WHY`
// expects it refused for that reason instead.
struct CommandStep {
  Command command;
  std::optional<CommandRejection::Why> refused;  // nullopt: applied
};

struct Step {
  int line = 0;
  std::string text;  // the line as written, for messages
  std::variant<Document, WatermarkStep, ExpectStep, FiguresStep, CommandStep> what;
};

struct Scenario {
  std::string path;
  std::string purpose;    // the first comment line that is not a marker
  std::string known_bug;  // the sentence after "# KNOWN-BUG:", if any
  TenantDirectory tenants;
  std::set<ExceptionKind> ignored;  // records of these kinds are dropped
  std::vector<Step> steps;
};

struct ParseResult {
  Scenario scenario;
  std::string error;  // "path:line: what is wrong"; empty on success
  bool ok() const { return error.empty(); }
};

// Parses the text of a scenario file; `path` only names it in messages.
ParseResult Parse(const std::string& path, const std::string& text);
// Reads and parses the file at `path`.
ParseResult ParseFile(const std::string& path);

// Runs the scenario against a fresh Engine over a MemoryStore, with one
// partition per source. Returns an empty string when every expectation held,
// else a message naming the file and line, with the records involved printed
// in full.
std::string RunScenario(const Scenario& scenario, EngineOptions options = {});

// The record as an `expect` line would state it, every attribute included.
std::string Describe(const ExceptionRecord& record);

// The attribute `key` of `record` in the canonical form Check values are kept
// in; nullopt when `key` names no attribute.
std::optional<std::string> Field(const ExceptionRecord& record, const std::string& key);

// The attribute `key` of a deal's figures, like Field; nullopt when `key`
// names no attribute. Keys: booked (true/false), booked_amount, billed,
// collected, currency, closed, first_billed, first_collected ("none" when
// unset).
std::optional<std::string> FiguresField(const DealFigures& figures, const std::string& key);
// The figures as a `figures` line would state them.
std::string Describe(const DealFigures& figures);

// Canonical time text: "2026-01-31" at UTC midnight, else RFC 3339 in UTC.
std::string FormatTime(EventTime t);
// Parses "YYYY-MM-DD" (UTC midnight) or RFC 3339 ("2026-01-31T12:00:00Z",
// fractions and offsets allowed). Returns false when malformed.
bool ParseTime(const std::string& text, EventTime* out);

}  // namespace closeloop::matcher::scenario
