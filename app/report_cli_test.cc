// `closeloop report` against a service whose /v1/* requires a bearer token:
// the token from --bearer-token-file or the config's http.bearer_token_file,
// and what a 401 says.
#include "app/report_cli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/http_server.h"

namespace closeloop::app {
namespace {

class ReportCliAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("closeloop_report_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    box_.Publish(std::make_shared<ServiceSnapshot>(ServiceSnapshot{.ready = true}));
    auto server = HttpServer::Start("127.0.0.1:0", box_,
                                    {.bearer_token = "s3cret-token",
                                     .rate_limit_per_second = 0,
                                     .rate_limit_per_client_per_second = 0});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
    return (dir_ / name).string();
  }
  ReportCliOptions Options() {
    return {.urls = {"http://" + server_->address()}, .format = ReportFormat::kJson};
  }
  int Run(const ReportCliOptions& options) {
    out_.str("");
    err_.str("");
    return RunReportCli(options, out_, err_);
  }

  std::filesystem::path dir_;
  SnapshotBox box_;
  std::unique_ptr<HttpServer> server_;
  std::ostringstream out_, err_;
};

TEST_F(ReportCliAuth, WithoutATokenA401SaysHowToGiveOne) {
  EXPECT_EQ(Run(Options()), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_NE(err_.str().find("requires a bearer token (401)"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("--bearer-token-file"), std::string::npos) << err_.str();
}

TEST_F(ReportCliAuth, TokenFileIsSentAndTheReportPrinted) {
  ReportCliOptions options = Options();
  options.bearer_token_file = Write("token", "s3cret-token\n");
  EXPECT_EQ(Run(options), 0) << err_.str();
  EXPECT_NE(out_.str().find("\"books\""), std::string::npos) << out_.str();
}

TEST_F(ReportCliAuth, AWrongTokenIsRefusedWithoutShowingIt) {
  ReportCliOptions options = Options();
  options.bearer_token_file = Write("token", "hunter2\n");
  EXPECT_EQ(Run(options), 1);
  EXPECT_NE(err_.str().find("refused the bearer token read from " + options.bearer_token_file),
            std::string::npos)
      << err_.str();
  EXPECT_EQ(err_.str().find("hunter2"), std::string::npos) << err_.str();
}

TEST_F(ReportCliAuth, TheConfigsTokenFileIsUsedUnlessTheFlagGivesOne) {
  const std::string token = Write("token", "s3cret-token\n");
  ReportCliOptions options = Options();
  options.config_path = Write("closeloop.yaml", "http:\n  bearer_token_file: " + token + "\n");
  EXPECT_EQ(Run(options), 0) << err_.str();
  // The flag wins over the config.
  options.bearer_token_file = Write("other", "wrong-token\n");
  EXPECT_EQ(Run(options), 1);
  EXPECT_NE(err_.str().find("(--bearer-token-file)"), std::string::npos) << err_.str();
  // A config without a token file sends none.
  options.bearer_token_file.clear();
  options.config_path = Write("open.yaml", "http:\n  listen: 127.0.0.1:9464\n");
  EXPECT_EQ(Run(options), 1);
  EXPECT_NE(err_.str().find("requires a bearer token"), std::string::npos) << err_.str();
}

TEST_F(ReportCliAuth, WithoutUrlTheConfigsListenAddressIsUsed) {
  const std::string token = Write("token", "s3cret-token\n");
  const std::string port = server_->address().substr(server_->address().rfind(':'));
  ReportCliOptions options{.format = ReportFormat::kJson};
  options.config_path = Write("closeloop.yaml", "http:\n  listen: 0.0.0.0" + port +
                                                    "\n  bearer_token_file: " + token + "\n");
  EXPECT_EQ(Run(options), 0) << err_.str();
  EXPECT_NE(out_.str().find("\"books\""), std::string::npos) << out_.str();
  // --url wins over the config: nothing listens on port 1.
  options.urls = {"http://127.0.0.1:1"};
  EXPECT_EQ(Run(options), 1);
  EXPECT_NE(err_.str().find("cannot reach the service at http://127.0.0.1:1"), std::string::npos)
      << err_.str();
  // A random port cannot be found from the config.
  options.urls.clear();
  options.config_path = Write("random.yaml", "http:\n  listen: 127.0.0.1:0\n");
  EXPECT_EQ(Run(options), 2);
  EXPECT_NE(err_.str().find("port 0"), std::string::npos) << err_.str();
}

// README: without --url, --config's http.listen is used, a wildcard host
// (IPv4 or IPv6) on loopback. Nothing listens on port 1: the error names
// the URL tried.
TEST_F(ReportCliAuth, AWildcardListenAddressIsReachedOnLoopback) {
  for (const std::string host : {"0.0.0.0", "[::]"}) {
    ReportCliOptions options{.format = ReportFormat::kJson};
    options.config_path = Write("wildcard.yaml", "http:\n  listen: \"" + host + ":1\"\n");
    EXPECT_EQ(Run(options), 1) << host << " " << err_.str();
    EXPECT_NE(err_.str().find("cannot reach the service at http://127.0.0.1:1"), std::string::npos)
        << host << " " << err_.str();
  }
}

// A URL closeloop could never reach is a usage error (exit 2), not an
// unreachable service (exit 1).
TEST_F(ReportCliAuth, MalformedUrlsAreUsageErrors) {
  for (const char* url : {"http://127.0.0.1:abc", "http://127.0.0.1:", "http://127.0.0.1:99999",
                          "http://[::1", "https://127.0.0.1:9464", "http://bad_host:80"}) {
    ReportCliOptions options = Options();
    options.urls = {url};
    EXPECT_EQ(Run(options), 2) << url;
    EXPECT_NE(err_.str().find("--url must be http://HOST or http://HOST:PORT"), std::string::npos)
        << err_.str();
  }
  for (const char* url :
       {"http://localhost", "http://[::1]", "http://[::1]:1/", "http://127.0.0.1:1"}) {
    ReportCliOptions options = Options();
    options.urls = {url};
    EXPECT_EQ(Run(options), 1) << url;  // well formed; nothing answers there
  }
}

// The same service named twice would have its money counted twice.
TEST_F(ReportCliAuth, TheSameUrlTwiceIsAUsageError) {
  ReportCliOptions options = Options();
  options.urls = {"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:1/"};
  EXPECT_EQ(Run(options), 2);
  EXPECT_NE(err_.str().find("--url http://127.0.0.1:1/ is given twice"), std::string::npos)
      << err_.str();
}

// A base URL may end with a slash, as URLs copied from a browser do: the
// service behind it is reached (httplib's client took "HOST:PORT/" for a host
// name and said the running service could not be reached).
TEST_F(ReportCliAuth, AUrlWithATrailingSlashReachesTheService) {
  ReportCliOptions options = Options();
  options.urls = {"http://" + server_->address() + "/"};
  options.bearer_token_file = Write("token", "s3cret-token\n");
  EXPECT_EQ(Run(options), 0) << err_.str();
  EXPECT_NE(out_.str().find("\"books\""), std::string::npos) << out_.str();
}

TEST_F(ReportCliAuth, BadTokenFilesAndConfigsAreUsageErrors) {
  ReportCliOptions options = Options();
  options.bearer_token_file = (dir_ / "missing").string();
  EXPECT_EQ(Run(options), 2);
  EXPECT_NE(err_.str().find("--bearer-token-file: " + options.bearer_token_file +
                            ": cannot open: No such file or directory"),
            std::string::npos)
      << err_.str();
  options.bearer_token_file = Write("empty", "\n");
  EXPECT_EQ(Run(options), 2);
  EXPECT_NE(err_.str().find("is empty"), std::string::npos) << err_.str();

  options.bearer_token_file.clear();
  options.config_path = Write("bad.yaml", "http:\n  bearer_token_fil: /x\n");
  EXPECT_EQ(Run(options), 2);
  EXPECT_NE(err_.str().find("config refused"), std::string::npos) << err_.str();
  options.config_path =
      Write("missing-token.yaml", "http:\n  bearer_token_file: " + (dir_ / "nope").string() + "\n");
  EXPECT_EQ(Run(options), 2);
  EXPECT_NE(err_.str().find("http.bearer_token_file: " + (dir_ / "nope").string() +
                            ": cannot open: No such file or directory"),
            std::string::npos)
      << err_.str();
}

TEST_F(ReportCliAuth, AnOpenServiceIgnoresNoToken) {
  // A service without a token requirement answers with or without one.
  SnapshotBox box;
  box.Publish(std::make_shared<ServiceSnapshot>(ServiceSnapshot{.ready = true}));
  auto open = HttpServer::Start(
      "127.0.0.1:0", box, {.rate_limit_per_second = 0, .rate_limit_per_client_per_second = 0});
  ASSERT_TRUE(open.ok()) << open.status();
  ReportCliOptions options = Options();
  options.urls = {"http://" + (*open)->address()};
  EXPECT_EQ(Run(options), 0) << err_.str();
}

// A service that answers but not with a report (here: no batch processed
// yet) is a failure naming its answer, not a report of nothing.
TEST_F(ReportCliAuth, AnAnswerOtherThan200IsAnErrorNamingIt) {
  SnapshotBox empty;
  auto starting = HttpServer::Start(
      "127.0.0.1:0", empty, {.rate_limit_per_second = 0, .rate_limit_per_client_per_second = 0});
  ASSERT_TRUE(starting.ok()) << starting.status();
  ReportCliOptions options = Options();
  options.urls = {"http://" + (*starting)->address()};
  EXPECT_EQ(Run(options), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_NE(err_.str().find("answered 503: no batch processed yet"), std::string::npos)
      << err_.str();
}

// A deployment split over processes: each --url is asked, the reports added up.
TEST_F(ReportCliAuth, SeveralUrlsAreAddedUp) {
  const matcher::EventTime now = matcher::EventTime(std::chrono::milliseconds(1772409600000LL));
  std::vector<SnapshotBox> boxes(2);
  std::vector<std::unique_ptr<HttpServer>> servers;
  ReportCliOptions options = Options();
  options.bearer_token_file = Write("token", "s3cret-token\n");
  options.urls.clear();
  for (int k = 0; k < 2; ++k) {
    ReportData data{.as_of = now};
    data.days[{k == 0 ? "acme" : "globex", "USD", DayOf(now)}] = {100 * (k + 1), 0, 0, 1};
    boxes[k].Publish(
        std::make_shared<ServiceSnapshot>(ServiceSnapshot{.ready = true, .report = data}));
    auto server = HttpServer::Start("127.0.0.1:0", boxes[k],
                                    {.bearer_token = "s3cret-token",
                                     .rate_limit_per_second = 0,
                                     .rate_limit_per_client_per_second = 0});
    ASSERT_TRUE(server.ok()) << server.status();
    options.urls.push_back("http://" + (*server)->address());
    servers.push_back(*std::move(server));
  }
  ASSERT_EQ(Run(options), 0) << err_.str();
  const nlohmann::json report = nlohmann::json::parse(out_.str());
  ASSERT_EQ(report["books"].size(), 2u) << out_.str();
  EXPECT_EQ(report["books"][0]["tenant"], "acme");
  EXPECT_EQ(report["books"][0]["booked_minor"], 100);
  EXPECT_EQ(report["books"][1]["tenant"], "globex");
  EXPECT_EQ(report["books"][1]["booked_minor"], 200);
  // One process down: no partial report, and the message names it.
  options.urls.push_back("http://127.0.0.1:1");
  EXPECT_EQ(Run(options), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_NE(err_.str().find("cannot reach the service at http://127.0.0.1:1"), std::string::npos)
      << err_.str();
}

}  // namespace
}  // namespace closeloop::app
