// The HTTP guards (HttpOptions): bearer token on /v1/*, open probes,
// request size limit, rate limit; and ReadBearerToken.
#include "app/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace closeloop::app {
namespace {

using ::testing::HasSubstr;

class HttpGuards : public ::testing::Test {
 protected:
  void StartServer(HttpOptions options) {
    box_.Publish(
        std::make_shared<ServiceSnapshot>(ServiceSnapshot{.metrics_text = "m 1\n", .ready = true}));
    auto server = HttpServer::Start("127.0.0.1:0", box_, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<httplib::Client>("http://" + server_->address());
  }
  int Status(const std::string& path, const httplib::Headers& headers = {}) {
    auto res = client_->Get(path, headers);
    return res ? res->status : -1;
  }

  SnapshotBox box_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpGuards, BearerTokenGuardsV1AndLeavesProbesOpen) {
  StartServer({.bearer_token = "s3cret-token",
               .rate_limit_per_second = 0,
               .rate_limit_per_client_per_second = 0});
  EXPECT_EQ(Status("/v1/report"), 401);
  EXPECT_EQ(Status("/v1/exceptions"), 401);
  EXPECT_EQ(Status("/v1/report", {{"Authorization", "Bearer wrong"}}), 401);
  EXPECT_EQ(Status("/v1/report", {{"Authorization", "Bearer s3cret-toke"}}), 401);
  EXPECT_EQ(Status("/v1/report", {{"Authorization", "Bearer s3cret-tokenX"}}), 401);
  EXPECT_EQ(Status("/v1/report", {{"Authorization", "s3cret-token"}}), 401);
  EXPECT_EQ(Status("/v1/report", {{"Authorization", "Basic s3cret-token"}}), 401);
  EXPECT_EQ(Status("/v1/report", {{"Authorization", "Bearers3cret-token"}}), 401);
  EXPECT_EQ(Status("/v1/report", {{"Authorization", "Bearer s3cret-token"}}), 200);
  EXPECT_EQ(Status("/v1/exceptions", {{"Authorization", "Bearer s3cret-token"}}), 200);
  // RFC 7235: the scheme is case-insensitive, and spaces may be several.
  EXPECT_EQ(Status("/v1/report", {{"Authorization", "bearer s3cret-token"}}), 200);
  EXPECT_EQ(Status("/v1/report", {{"Authorization", "BEARER  s3cret-token"}}), 200);
  EXPECT_EQ(Status("/metrics"), 200);
  EXPECT_EQ(Status("/healthz"), 200);
  EXPECT_EQ(Status("/readyz"), 200);
}

// The pipeline thread makes no snapshot while a publish waits for the
// broker: /readyz must not keep saying what the last batch said.
TEST_F(HttpGuards, PublishWaitingForTheBrokerMakesReadyzNotReady) {
  StartServer({});
  const auto now = SnapshotBox::Clock::now();
  box_.SetPublishingSince(now - std::chrono::seconds(3));
  EXPECT_EQ(Status("/readyz"), 200) << "a publish under way is not yet a wait";
  box_.SetPublishingSince(now - std::chrono::seconds(12));
  auto res = client_->Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_THAT(res->body, HasSubstr("publishing to Kafka has waited 1"));
  res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body, HasSubstr("m 1\n# HELP closeloop_publish_wait_seconds"));
  EXPECT_THAT(res->body, HasSubstr("\ncloseloop_publish_wait_seconds 1"));
  box_.SetPublishingSince(std::nullopt);
  EXPECT_EQ(Status("/readyz"), 200);
  res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body, HasSubstr("\ncloseloop_publish_wait_seconds 0.000000\n"));
}

// A parameter that is not UTF-8 is a bad parameter like any other: 400
// with a JSON error, not a 500 from the JSON writer.
TEST_F(HttpGuards, ParameterThatIsNotUtf8IsA400WithAJsonError) {
  StartServer({.rate_limit_per_second = 0, .rate_limit_per_client_per_second = 0});
  for (const std::string path : {"/v1/exceptions?kind=%FF", "/v1/report?x%FF=1"}) {
    auto res = client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 400) << path;
    EXPECT_THAT(res->body, HasSubstr("\"error\"")) << path;
  }
}

TEST_F(HttpGuards, WithoutTokenV1IsOpen) {
  StartServer({.rate_limit_per_second = 0, .rate_limit_per_client_per_second = 0});
  EXPECT_EQ(Status("/v1/report"), 200);
}

TEST_F(HttpGuards, EndpointsOnlyReadAndSaySo) {
  StartServer({.rate_limit_per_second = 0, .rate_limit_per_client_per_second = 0});
  for (const char* path : {"/v1/report", "/v1/exceptions", "/metrics", "/healthz", "/readyz"}) {
    SCOPED_TRACE(path);
    std::vector<httplib::Result> answers;
    answers.push_back(client_->Post(path));
    answers.push_back(client_->Post(path, "{}", "application/json"));
    answers.push_back(client_->Put(path, "x", "text/plain"));
    answers.push_back(client_->Delete(path));
    for (const httplib::Result& res : answers) {
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 405);
      EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD");
    }
    EXPECT_EQ(client_->Head(path)->status, 200);
    // RFC 9110 9.3.7: OPTIONS says which methods there are, not 404.
    auto options = client_->Options(path);
    ASSERT_TRUE(options);
    EXPECT_EQ(options->status, 204);
    EXPECT_EQ(options->get_header_value("Allow"), "GET, HEAD, OPTIONS");
  }
}

TEST_F(HttpGuards, LargeRequestBodiesAreRefused) {
  StartServer({.max_request_bytes = 1024,
               .rate_limit_per_second = 0,
               .rate_limit_per_client_per_second = 0});
  auto small = client_->Post("/healthz", std::string(512, 'x'), "text/plain");
  ASSERT_TRUE(small);
  EXPECT_NE(small->status, 413);
  auto large = client_->Post("/healthz", std::string(100 * 1024, 'x'), "text/plain");
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 413);
}

TEST_F(HttpGuards, V1IsRateLimitedProbesAreNot) {
  StartServer({.rate_limit_per_second = 3, .rate_limit_per_client_per_second = 0});
  int ok = 0, limited = 0;
  for (int i = 0; i < 10; ++i) {
    auto res = client_->Get("/v1/report");
    ASSERT_TRUE(res);
    if (res->status == 200) ++ok;
    if (res->status == 429) {
      ++limited;
      EXPECT_EQ(res->get_header_value("Retry-After"), "1");
      EXPECT_THAT(res->body, HasSubstr("(http.rate_limit_per_second)"));
    }
  }
  // Ten requests in well under a second: the bucket holds 3 (one more may
  // have refilled if the machine is very slow).
  EXPECT_GE(ok, 3);
  EXPECT_LE(ok, 5);
  EXPECT_EQ(ok + limited, 10);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Status("/healthz"), 200);
}

TEST_F(HttpGuards, OneClientIsLimitedBeforeAllClientsAre) {
  StartServer({.rate_limit_per_second = 100, .rate_limit_per_client_per_second = 2});
  int ok = 0;
  std::string refusal;
  for (int i = 0; i < 6; ++i) {
    auto res = client_->Get("/v1/report");
    ASSERT_TRUE(res);
    if (res->status == 200) ++ok;
    if (res->status == 429) refusal = res->body;
  }
  EXPECT_GE(ok, 2);
  EXPECT_LE(ok, 4);
  EXPECT_THAT(refusal, HasSubstr("rate limit exceeded for 127.0.0.1"));
  EXPECT_THAT(refusal, HasSubstr("(http.rate_limit_per_client_per_second)"));
}

// Before the first batch there is nothing to serve: 503 with the reason,
// in the content types the README gives.
TEST(HttpEndpoints, BeforeTheFirstSnapshotEveryAnswerIs503) {
  SnapshotBox box;
  auto server = HttpServer::Start("127.0.0.1:0", box, {});
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("http://" + (*server)->address());
  for (const char* path : {"/v1/report", "/v1/exceptions"}) {
    auto res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 503) << path;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
    EXPECT_EQ(nlohmann::json::parse(res->body)["error"], "no batch processed yet") << path;
  }
  for (const char* path : {"/metrics", "/readyz"}) {
    auto res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 503) << path;
    EXPECT_THAT(res->body, HasSubstr("no batch processed yet")) << path;
  }
}

// A second service given the address another one listens on must not start:
// httplib's default SO_REUSEPORT let both listen, and the kernel then spread
// the connections (scrapes, reports) over the two processes.
TEST(HttpEndpoints, AnAddressAnotherServerListensOnIsRefused) {
  SnapshotBox box;
  auto first = HttpServer::Start("127.0.0.1:0", box, {});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = HttpServer::Start((*first)->address(), box, {});
  ASSERT_FALSE(second.ok()) << "a second server listens on " << (*first)->address();
  EXPECT_THAT(second.status().message(), HasSubstr((*first)->address()));
}

TEST_F(HttpGuards, ReadyzSaysWhyTheLastBatchWasNotReady) {
  StartServer({});
  box_.Publish(std::make_shared<ServiceSnapshot>(
      ServiceSnapshot{.ready = false, .not_ready_reason = "lag 5000 > http.ready_max_lag"}));
  auto res = client_->Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "not ready: lag 5000 > http.ready_max_lag\n");
}

TEST_F(HttpGuards, AnswersCarryTheirContentTypes) {
  StartServer({.rate_limit_per_second = 0, .rate_limit_per_client_per_second = 0});
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  res = client_->Get("/v1/report");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_TRUE(nlohmann::json::parse(res->body).contains("books")) << res->body;
}

// A filter given twice is ambiguous: 400 naming it, not one of the two.
TEST_F(HttpGuards, AParameterGivenTwiceIsA400) {
  StartServer({.rate_limit_per_second = 0, .rate_limit_per_client_per_second = 0});
  for (const char* path :
       {"/v1/report?tenant=acme&tenant=globex", "/v1/exceptions?kind=UNPAID&kind=ORPHAN_ORDER"}) {
    auto res = client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 400) << path;
    EXPECT_THAT(res->body, HasSubstr("given more than once")) << path;
  }
}

// `limit` is /v1/exceptions' alone: a bad one is a 400 naming it, and the
// report, which lists its ten largest per currency, refuses it as unknown.
TEST_F(HttpGuards, OnlyTheExceptionsListTakesALimit) {
  StartServer({.rate_limit_per_second = 0, .rate_limit_per_client_per_second = 0});
  auto res = client_->Get("/v1/exceptions?limit=5&kind=UNPAID");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(nlohmann::json::parse(res->body)["total"], 0) << res->body;
  for (const char* path : {"/v1/exceptions?limit=0", "/v1/report?limit=5"}) {
    res = client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 400) << path;
    EXPECT_THAT(res->body, HasSubstr("limit")) << path;
  }
}

// RFC 6750: a 401 says which scheme it wants.
TEST_F(HttpGuards, A401AsksForABearerToken) {
  StartServer({.bearer_token = "s3cret-token",
               .rate_limit_per_second = 0,
               .rate_limit_per_client_per_second = 0});
  auto res = client_->Get("/v1/report");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
}

using Verdict = RateLimiter::Verdict;
const auto kT0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);

TEST(RateLimiter, RefillsAtTheConfiguredRate) {
  RateLimiter limiter(2);
  EXPECT_EQ(limiter.Take("a", kT0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.Take("b", kT0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.Take("c", kT0), Verdict::kTotalLimited);
  EXPECT_EQ(limiter.Take("a", kT0 + std::chrono::milliseconds(400)), Verdict::kTotalLimited);
  EXPECT_EQ(limiter.Take("a", kT0 + std::chrono::milliseconds(600)), Verdict::kAdmitted);
  // A long pause does not bank more than one second's worth.
  const auto t1 = kT0 + std::chrono::seconds(60);
  EXPECT_EQ(limiter.Take("a", t1), Verdict::kAdmitted);
  EXPECT_EQ(limiter.Take("a", t1), Verdict::kAdmitted);
  EXPECT_EQ(limiter.Take("a", t1), Verdict::kTotalLimited);
  EXPECT_EQ(limiter.clients(), 0u);  // no per-client limit, no buckets
  RateLimiter unlimited(0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(unlimited.Take("a", kT0), Verdict::kAdmitted);
}

TEST(RateLimiter, OneClientInALoopLeavesTheOthersTheirShare) {
  RateLimiter limiter(10, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("10.0.0.1", kT0), Verdict::kAdmitted);
  // The loop goes on; its refusals take nothing from the total.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Take("10.0.0.1", kT0), Verdict::kClientLimited);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("10.0.0.2", kT0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.Take("10.0.0.2", kT0), Verdict::kClientLimited);
  // Together they still meet the total: 6 taken, 4 left for a third and fourth.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("10.0.0.3", kT0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.Take("10.0.0.4", kT0), Verdict::kAdmitted);
  // A request the total refuses leaves the client's token.
  EXPECT_EQ(limiter.Take("10.0.0.4", kT0), Verdict::kTotalLimited);
  EXPECT_EQ(limiter.Take("10.0.0.4", kT0 + std::chrono::milliseconds(100)), Verdict::kAdmitted);
  EXPECT_EQ(limiter.Take("10.0.0.4", kT0 + std::chrono::milliseconds(200)), Verdict::kAdmitted);
  EXPECT_EQ(limiter.Take("10.0.0.4", kT0 + std::chrono::milliseconds(200)),
            Verdict::kClientLimited);
}

TEST(RateLimiter, ClientBucketsAreBoundedAndIdleOnesDropped) {
  RateLimiter limiter(0, 1);
  const size_t max = RateLimiter::kMaxClients;
  for (size_t i = 0; i < max; ++i) {
    ASSERT_EQ(limiter.Take("c" + std::to_string(i), kT0), Verdict::kAdmitted);
  }
  EXPECT_EQ(limiter.clients(), max);
  // Every bucket is busy: new addresses share one bucket.
  EXPECT_EQ(limiter.Take("new1", kT0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.Take("new2", kT0), Verdict::kClientLimited);
  EXPECT_EQ(limiter.clients(), max);
  // A second later they are all full again and dropped for the newcomer.
  EXPECT_EQ(limiter.Take("new2", kT0 + std::chrono::seconds(1)), Verdict::kAdmitted);
  EXPECT_EQ(limiter.clients(), 1u);
}

TEST(ReadBearerToken, TrimsTrailingWhitespaceAndRefusesBadFiles) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("closeloop_token_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir / name) << content;
    return (dir / name).string();
  };
  auto ok = ReadBearerToken(write("ok", "abc123\n"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "abc123");
  auto crlf = ReadBearerToken(write("crlf", "abc123\r\n\t "));  // any trailing whitespace
  ASSERT_TRUE(crlf.ok()) << crlf.status();
  EXPECT_EQ(*crlf, "abc123");
  EXPECT_EQ(ReadBearerToken(write("del",
                                  "abc\x7f"
                                  "123\n"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadBearerToken(write("empty", " \n")).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto spaced = ReadBearerToken(write("spaced", "abc hunter2\n"));
  EXPECT_EQ(spaced.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(spaced.status().message()).find("hunter2"), std::string::npos);
  EXPECT_EQ(ReadBearerToken((dir / "missing").string()).status().code(),
            absl::StatusCode::kNotFound);
  // A directory (std::ifstream opens one, then throws from the read) and a
  // file that never ends are refused, not a crash.
  auto directory = ReadBearerToken(dir.string());
  EXPECT_EQ(directory.status().message(),
            "http.bearer_token_file: " + dir.string() + ": cannot read: Is a directory");
  auto endless = ReadBearerToken("/dev/zero");
  EXPECT_EQ(
      endless.status().message(),
      "http.bearer_token_file: /dev/zero: holds more than 65536 bytes; is it the right file?");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace closeloop::app
