#include "app/report_cli.h"

#include <httplib.h>

#include <set>
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

// Where the service is and how to authenticate to it.
struct Target {
  std::vector<std::string> urls;
  TokenFile token;
};

// The base URL of a service listening on `listen` ("HOST:PORT"); a wildcard
// host is reached on loopback.
std::string UrlOfListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  return "http://" + host + listen.substr(colon);
}

// http://HOST[:PORT][/], HOST and PORT as http.listen takes them (port 80
// when none).
bool IsServiceUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return false;
  std::string address(url.substr(kScheme.size()));
  if (address.ends_with('/')) address.pop_back();
  const size_t colon = address.rfind(':');
  const bool has_port = colon != std::string::npos && !address.ends_with(']') &&
                        (address.front() != '[' || address.find(']') < colon);
  if (!has_port) address += ":80";
  return ParseListenAddress(address).has_value();
}

// The flags, else what the config says (http.listen, http.bearer_token_file),
// else the defaults; or an error message (exit 2).
std::variant<Target, std::string> FindTarget(const ReportCliOptions& options) {
  Target t{.urls = options.urls};
  if (!options.bearer_token_file.empty()) {
    t.token = {options.bearer_token_file, "--bearer-token-file"};
  }
  if (!options.config_path.empty()) {
    auto loaded = LoadConfigFile(options.config_path);
    if (auto* e = std::get_if<ConfigError>(&loaded)) return "config refused: " + e->ToString();
    const HttpConfig& http = std::get<Config>(loaded).http;
    if (t.urls.empty()) {
      if (http.listen.ends_with(":0")) {
        return options.config_path + ": http.listen has port 0 (a random port): pass --url";
      }
      t.urls = {UrlOfListen(http.listen)};
    }
    if (t.token.path.empty() && !http.bearer_token_file.empty()) {
      t.token = {http.bearer_token_file, options.config_path + ": http.bearer_token_file"};
    }
  }
  if (t.urls.empty()) t.urls = {kDefaultReportUrl};
  std::set<std::string_view> seen;
  for (const std::string& url : t.urls) {
    if (!IsServiceUrl(url)) {
      return "--url must be http://HOST or http://HOST:PORT (port 0-65535), got " + url;
    }
    std::string_view base = url;
    if (base.ends_with('/')) base.remove_suffix(1);
    if (!seen.insert(base).second) {
      return "--url " + url + " is given twice: its report would be added up twice";
    }
  }
  return t;
}

// GET /v1/report from one service into `report`; the exit code, with what
// went wrong said on `err`.
int Fetch(const std::string& url, const TokenFile& file, const httplib::Headers& headers,
          const httplib::Params& params, nlohmann::json& report, std::ostream& err) {
  // IsServiceUrl allows one trailing slash; httplib's client would take
  // "HOST:PORT/" for a host name.
  httplib::Client client(url.ends_with('/') ? url.substr(0, url.size() - 1) : url);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  const httplib::Result res = client.Get("/v1/report", params, headers);
  if (!res) {
    err << "closeloop report: cannot reach the service at " << url << ": "
        << httplib::to_string(res.error()) << " (is `closeloop run` up, and --url right?)\n";
    return 1;
  }
  if (res->status == 401) {
    if (file.path.empty()) {
      err << "closeloop report: the service at " << url
          << " requires a bearer token (401): pass --bearer-token-file PATH, or --config with the "
             "service's config whose http.bearer_token_file names the token's file\n";
    } else {
      err << "closeloop report: the service at " << url << " refused the bearer token read from "
          << file.path << " (" << file.source
          << ") (401): it is not the token in the service's http.bearer_token_file\n";
    }
    return 1;
  }
  report = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status != 200) {
    const std::string detail =
        report.is_object() && report.contains("error") && report["error"].is_string()
            ? report["error"].get<std::string>()
            : res->body;
    err << "closeloop report: the service at " << url << " answered " << res->status << ": "
        << detail << "\n";
    return 1;
  }
  if (report.is_discarded()) {
    err << "closeloop report: the answer of the service at " << url << " is not JSON\n";
    return 1;
  }
  return 0;
}

}  // namespace

int RunReportCli(const ReportCliOptions& options, std::ostream& out, std::ostream& err) {
  if (auto filters = ParseFilters(options.filters); !filters.ok()) {
    err << "closeloop report: " << filters.status().message() << "\n";
    return 2;
  }
  auto target = FindTarget(options);
  if (auto* message = std::get_if<std::string>(&target)) {
    err << "closeloop report: " << *message << "\n";
    return 2;
  }
  const TokenFile& file = std::get<Target>(target).token;
  httplib::Headers headers;
  if (!file.path.empty()) {
    auto token = ReadBearerToken(file.path, file.source);
    if (!token.ok()) {
      err << "closeloop report: " << token.status().message() << "\n";
      return 2;
    }
    headers.emplace("Authorization", "Bearer " + *token);
  }
  const httplib::Params params(options.filters.begin(), options.filters.end());
  std::vector<nlohmann::json> reports;
  for (const std::string& url : std::get<Target>(target).urls) {
    if (int code = Fetch(url, file, headers, params, reports.emplace_back(), err)) return code;
  }
  auto merged = MergeReports(reports);
  if (!merged.ok()) {
    err << "closeloop report: " << merged.status().message() << "\n";
    return 1;
  }
  auto text = FormatReport(*merged, options.format);
  if (!text.ok()) {
    err << "closeloop report: " << text.status().message() << "\n";
    return 1;
  }
  out << *text;
  return 0;
}

}  // namespace closeloop::app
