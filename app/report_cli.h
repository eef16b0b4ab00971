// `closeloop report` (SPEC §7): fetches /v1/report from a running service and
// prints it as a table, JSON or CSV. Thread-compatible.
#pragma once

#include <map>
#include <ostream>
#include <string>

#include "app/report_format.h"

namespace closeloop::app {

inline constexpr char kDefaultReportUrl[] = "http://127.0.0.1:9464";

struct ReportCliOptions {
  // Base URL of the service. Default: "" (from config_path's http.listen,
  // a wildcard host on loopback; else kDefaultReportUrl)
  std::string url;
  // A file holding the bearer token the service's /v1/* requires (the file
  // its http.bearer_token_file names, or a copy). The token is read from a
  // file, never taken on the command line, where `ps` would show it.
  // Default: "" (config_path's http.bearer_token_file, else no token)
  std::string bearer_token_file;
  // The service's YAML config: where the service listens (http.listen, when
  // url is empty) and, when bearer_token_file is empty, the file its
  // http.bearer_token_file names. Nothing else in it is used. Default: ""
  std::string config_path;
  // /v1/report query parameters: tenant, kind, team, closed_since, min_amount.
  std::map<std::string, std::string> filters;
  ReportFormat format = ReportFormat::kTable;
};

// Sends "Authorization: Bearer TOKEN" when a token file is given (directly or
// through the config). Returns the exit code: 0 printed; 2 a filter, the
// config or the token file is invalid (said on `err`); 1 the service is
// unreachable, refused the token (401) or answered another error (said on
// `err`, with what to do about a 401).
int RunReportCli(const ReportCliOptions& options, std::ostream& out, std::ostream& err);

}  // namespace closeloop::app
