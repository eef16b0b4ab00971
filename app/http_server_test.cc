// The HTTP guards (HttpOptions): bearer token on /v1/*, open probes,
// request size limit, rate limit; and ReadBearerToken.
#include "app/http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <thread>
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

int PortOf(const HttpServer& server) {
  const std::string& address = server.address();
  return std::stoi(address.substr(address.rfind(':') + 1));
}

sockaddr_in Loopback(int port) {
  return {.sin_family = AF_INET,
          .sin_port = htons(static_cast<uint16_t>(port)),
          .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
}

// SIGTERM destroys the server after the pipeline has stopped: a client
// sending its request a byte at a time (each within httplib's read timeout)
// must not keep the process from exiting.
TEST(HttpEndpoints, StoppingDoesNotWaitForASlowClient) {
  SnapshotBox box;
  auto server = HttpServer::Start("127.0.0.1:0", box, {});
  ASSERT_TRUE(server.ok()) << server.status();
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const sockaddr_in to = Loopback(PortOf(**server));
  ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
  const std::string start = "GET /healthz HTTP/1.1\r\nX-Slow: ";
  ASSERT_EQ(send(fd, start.data(), start.size(), MSG_NOSIGNAL), static_cast<ssize_t>(start.size()));
  std::atomic<bool> stopped{false};
  std::thread trickle([&] {
    // A byte a second for up to 10 s, then the client gives up.
    for (int i = 0; i < 40 && !stopped.load(); ++i) {
      if (i % 4 == 0) (void)send(fd, "x", 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    shutdown(fd, SHUT_RDWR);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the request is being read
  const auto before = std::chrono::steady_clock::now();
  server->reset();
  const auto took = std::chrono::steady_clock::now() - before;
  stopped.store(true);
  trickle.join();
  close(fd);
  EXPECT_LT(took, std::chrono::seconds(3));
}

// Connections this process accepted on `port` (the server's end of each).
int AcceptedConnections(int port) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    sockaddr_in local{};
    socklen_t size = sizeof local;
    const int fd = std::stoi(entry.path().filename().string());
    int listening = 0;
    socklen_t flag_size = sizeof listening;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) == 0 &&
        local.sin_family == AF_INET && ntohs(local.sin_port) == port &&
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &flag_size) == 0 && !listening) {
      ++n;
    }
  }
  return n;
}

// The process's file descriptors are shared with RocksDB and the Kafka
// clients: a client opening idle connections faster than the workers end
// them (5 s each) must not make the server hold one per connection.
TEST(HttpEndpoints, IdleConnectionsHoldABoundedNumberOfFileDescriptors) {
  SnapshotBox box;
  auto server = HttpServer::Start("127.0.0.1:0", box, {});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = PortOf(**server);
  std::vector<int> clients;
  for (int i = 0; i < 120; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    // A connection the server leaves in its listen backlog gives up soon.
    const timeval wait{.tv_sec = 0, .tv_usec = 100'000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
    const sockaddr_in to = Loopback(port);
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    clients.push_back(fd);
  }
  int held = 0;
  for (int i = 0; i < 10 && held <= HttpServer::kMaxConnections; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    held = AcceptedConnections(port);
  }
  EXPECT_LE(held, HttpServer::kMaxConnections);
  for (int fd : clients) close(fd);
}

// GET /healthz from 127.0.0.2 (another client address than the loopback
// default) with a kubelet's 3 s timeout: whether it answered 200.
bool ProbeAnswers(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const sockaddr_in from{.sin_family = AF_INET, .sin_addr = {.s_addr = htonl(0x7f000002)}};
  const timeval wait{.tv_sec = 3, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
  const sockaddr_in to = Loopback(port);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  char answer[16] = {};
  const bool ok = bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) == 0 &&
                  connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0 &&
                  send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                      static_cast<ssize_t>(request.size()) &&
                  recv(fd, answer, sizeof answer - 1, MSG_WAITALL) > 0;
  close(fd);
  return ok && std::string_view(answer).starts_with("HTTP/1.1 200");
}

// One client (one address) holding connections open, idle or sending its
// request a byte at a time within the read timeout, must not take every
// worker: Kubernetes would kill the pod, its liveness probe unanswered, and
// Prometheus would lose its scrapes.
TEST(HttpEndpoints, ASlowClientDoesNotStarveTheProbes) {
  SnapshotBox box;
  auto server = HttpServer::Start("127.0.0.1:0", box, {});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = PortOf(**server);
  std::vector<int> slow;
  for (int i = 0; i < 2 * HttpServer::kThreads; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    const sockaddr_in to = Loopback(port);
    ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
    slow.push_back(fd);
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    for (size_t i = 0; i < slow.size(); i += 2) {
      (void)send(slow[i], "GET /v1/report HTTP/1.1\r\nX-Slow: ", 33, MSG_NOSIGNAL);
    }
    while (!done.load()) {
      for (size_t i = 0; i < slow.size(); i += 2) (void)send(slow[i], "x", 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // every worker has one
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ProbeAnswers(port)) << "probe " << i;
  done.store(true);
  trickle.join();
  for (int fd : slow) close(fd);
}

// Several client addresses (or one proxy in front of many clients) each
// sending a request a byte at a time, within the read timeout, held every
// worker for as long as they kept it up: the per-address limit does not
// help against them. A request now has HttpOptions::request_timeout to be
// read and answered; then its connection is closed and the worker freed.
TEST(HttpEndpoints, SlowRequestsFromManyAddressesAreCutOff) {
  SnapshotBox box;
  auto server = HttpServer::Start("127.0.0.1:0", box, {.request_timeout = std::chrono::seconds(1)});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = PortOf(**server);
  std::vector<int> slow;
  for (int i = 0; i < HttpServer::kThreads; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    // 127.0.0.10, .11, ...: one connection per address.
    const sockaddr_in from{.sin_family = AF_INET,
                           .sin_addr = {.s_addr = htonl(0x7f00000a + static_cast<uint32_t>(i))}};
    ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from), 0);
    const sockaddr_in to = Loopback(port);
    ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
    const std::string start = "GET /v1/report HTTP/1.1\r\nX-Slow: ";
    ASSERT_EQ(send(fd, start.data(), start.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(start.size()));
    slow.push_back(fd);
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    while (!done.load()) {
      for (int fd : slow) (void)send(fd, "x", 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // every worker has one
  EXPECT_TRUE(ProbeAnswers(port));
  // The server closed every slow connection: reading ends (no answer, or
  // the end of the stream) rather than waiting.
  for (int fd : slow) {
    const timeval wait{.tv_sec = 3, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char answer[256];
    ssize_t n = 0;
    while ((n = recv(fd, answer, sizeof answer, 0)) > 0) {
    }
    EXPECT_TRUE(n == 0 || errno == ECONNRESET) << "still open: " << std::strerror(errno);
  }
  done.store(true);
  trickle.join();
  for (int fd : slow) close(fd);
}

// httplib caps each header line (8 KiB) but not their number: one request
// sending header lines without end was read whole into memory (300 MB of
// them took 700 MB), on any path, token or not.
TEST(HttpEndpoints, ARequestHeadWithoutEndIsRefused) {
  SnapshotBox box;
  box.Publish(std::make_shared<ServiceSnapshot>(ServiceSnapshot{.ready = true}));
  auto server = HttpServer::Start("127.0.0.1:0", box, {});
  ASSERT_TRUE(server.ok()) << server.status();
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const timeval wait{.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
  const sockaddr_in to = Loopback(PortOf(**server));
  ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
  std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  std::string lines;
  for (int i = 0; i < 1000; ++i)
    lines += "X-" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
  bool sent = send(fd, head.data(), head.size(), MSG_NOSIGNAL) > 0;
  for (size_t total = 0; sent && total < (16u << 20); total += lines.size()) {
    sent = send(fd, lines.data(), lines.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(lines.size());
  }
  if (sent) (void)send(fd, "\r\n", 2, MSG_NOSIGNAL);
  char answer[16] = {};
  (void)recv(fd, answer, sizeof answer - 1, MSG_WAITALL);
  close(fd);
  EXPECT_FALSE(std::string_view(answer).starts_with("HTTP/1.1 200"))
      << "16 MiB of headers were read and answered";
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
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace closeloop::app
