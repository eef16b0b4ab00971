// `closeloop report` (SPEC §7): fetches /v1/report from a running service and
// prints it as a table, JSON or CSV. Thread-compatible.
#pragma once

#include <map>
#include <ostream>
#include <string>

#include "app/report_format.h"

namespace closeloop::app {

struct ReportCliOptions {
  // Base URL of the service. Default: http://127.0.0.1:9464
  std::string url = "http://127.0.0.1:9464";
  // /v1/report query parameters: tenant, kind, team, closed_since, min_amount.
  std::map<std::string, std::string> filters;
  ReportFormat format = ReportFormat::kTable;
};

// Returns the exit code: 0 printed; 2 a filter is invalid (said on `err`);
// 1 the service is unreachable or answered an error (said on `err`).
int RunReportCli(const ReportCliOptions& options, std::ostream& out, std::ostream& err);

}  // namespace closeloop::app
