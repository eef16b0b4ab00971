#include "app/report_cli.h"

#include <httplib.h>

#include <string>
#include <variant>

#include "app/config.h"
#include "app/http_server.h"
#include "app/report.h"

namespace closeloop::app {
namespace {

// Where the token comes from: the flag's file, else the config's
// http.bearer_token_file. Empty `source` when there is none.
struct TokenFile {
  std::string path;
  std::string source;  // "--bearer-token-file" or "<config>: http.bearer_token_file"
};

// The token file to use, or an error message (exit 2).
std::variant<TokenFile, std::string> FindTokenFile(const ReportCliOptions& options) {
  if (!options.bearer_token_file.empty()) {
    return TokenFile{options.bearer_token_file, "--bearer-token-file"};
  }
  if (options.config_path.empty()) return TokenFile{};
  auto loaded = LoadConfigFile(options.config_path);
  if (auto* e = std::get_if<ConfigError>(&loaded)) return "config refused: " + e->ToString();
  const std::string& path = std::get<Config>(loaded).http.bearer_token_file;
  if (path.empty()) return TokenFile{};
  return TokenFile{path, options.config_path + ": http.bearer_token_file"};
}

}  // namespace

int RunReportCli(const ReportCliOptions& options, std::ostream& out, std::ostream& err) {
  if (auto filters = ParseFilters(options.filters); !filters.ok()) {
    err << "closeloop report: " << filters.status().message() << "\n";
    return 2;
  }
  if (options.url.rfind("http://", 0) != 0) {
    err << "closeloop report: --url must start with http://, got " << options.url << "\n";
    return 2;
  }
  auto token_file = FindTokenFile(options);
  if (auto* message = std::get_if<std::string>(&token_file)) {
    err << "closeloop report: " << *message << "\n";
    return 2;
  }
  const TokenFile& file = std::get<TokenFile>(token_file);
  httplib::Headers headers;
  if (!file.path.empty()) {
    auto token = ReadBearerToken(file.path, file.source);
    if (!token.ok()) {
      err << "closeloop report: " << token.status().message() << "\n";
      return 2;
    }
    headers.emplace("Authorization", "Bearer " + *token);
  }
  httplib::Client client(options.url);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  httplib::Params params(options.filters.begin(), options.filters.end());
  const httplib::Result res = client.Get("/v1/report", params, headers);
  if (!res) {
    err << "closeloop report: cannot reach the service at " << options.url << ": "
        << httplib::to_string(res.error()) << " (is `closeloop run` up, and --url right?)\n";
    return 1;
  }
  if (res->status == 401) {
    if (file.path.empty()) {
      err << "closeloop report: the service at " << options.url
          << " requires a bearer token (401): pass --bearer-token-file PATH, or --config with the "
             "service's config whose http.bearer_token_file names the token's file\n";
    } else {
      err << "closeloop report: the service at " << options.url
          << " refused the bearer token read from " << file.path << " (" << file.source
          << ") (401): it is not the token in the service's http.bearer_token_file\n";
    }
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
