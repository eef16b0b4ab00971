// `closeloop report` (SPEC §7): fetches /v1/report from a running service and
// prints it as a table, JSON or CSV. Thread-compatible.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "app/report_format.h"

namespace closeloop::app {

inline constexpr char kDefaultReportUrl[] = "http://127.0.0.1:9464";

struct ReportCliOptions {
  // Base URLs of the service: one, or every process of a deployment split
  // over processes (README "Scaling out"), whose reports are merged
  // (MergeReports). Default: empty (from config_path's http.listen, a
  // wildcard host on loopback; else kDefaultReportUrl)
  std::vector<std::string> urls;
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

// Sends "Authorization: Bearer TOKEN" (the same to every URL) when a token
// file is given (directly or through the config). Returns the exit code: 0 printed; 2 a filter, the
// config or the token file is invalid (said on `err`); 1 the service is
// unreachable, refused the token (401) or answered another error (said on
// `err`, with what to do about a 401), or the reports cannot be merged.
int RunReportCli(const ReportCliOptions& options, std::ostream& out, std::ostream& err);

}  // namespace closeloop::app
