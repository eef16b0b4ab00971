#include "app/report_cli.h"

#include <httplib.h>

#include "app/report.h"

namespace closeloop::app {

int RunReportCli(const ReportCliOptions& options, std::ostream& out, std::ostream& err) {
  if (auto filters = ParseFilters(options.filters); !filters.ok()) {
    err << "closeloop report: " << filters.status().message() << "\n";
    return 2;
  }
  if (options.url.rfind("http://", 0) != 0) {
    err << "closeloop report: --url must start with http://, got " << options.url << "\n";
    return 2;
  }
  httplib::Client client(options.url);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  httplib::Params params(options.filters.begin(), options.filters.end());
  const httplib::Result res = client.Get("/v1/report", params, httplib::Headers{});
  if (!res) {
    err << "closeloop report: cannot reach the service at " << options.url << ": "
        << httplib::to_string(res.error()) << " (is `closeloop run` up, and --url right?)\n";
    return 1;
  }
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status != 200) {
    const std::string detail =
        body.is_object() && body.contains("error") && body["error"].is_string()
            ? body["error"].get<std::string>()
            : res->body;
    err << "closeloop report: the service answered " << res->status << ": " << detail << "\n";
    return 1;
  }
  if (body.is_discarded()) {
    err << "closeloop report: the service's answer is not JSON\n";
    return 1;
  }
  auto text = FormatReport(body, options.format);
  if (!text.ok()) {
    err << "closeloop report: " << text.status().message() << "\n";
    return 1;
  }
  out << *text;
  return 0;
}

}  // namespace closeloop::app
