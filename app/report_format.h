// Renders the /v1/report document for people (`closeloop report`): a table,
// the JSON itself, or CSV. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace closeloop::app {

enum class ReportFormat { kTable, kJson, kCsv };
// "table", "json", "csv"; nullopt otherwise.
std::optional<ReportFormat> ReportFormatFromName(std::string_view name);

// kTable: sections BOOKS, OPEN EXCEPTIONS, RECOVERED and TOP EXCEPTIONS, money
// as "USD 12,000.00", realization below target flagged "BELOW 95%".
// kJson: the document, indented. kCsv: the same four sections as blocks, each
// a header row (first column: the section) and its rows, separated by a blank
// line; money in plain major units ("12000.00"). Returns InvalidArgument when
// the document lacks a field the format needs (a service of another version).
absl::StatusOr<std::string> FormatReport(const nlohmann::json& report, ReportFormat format);

}  // namespace closeloop::app
