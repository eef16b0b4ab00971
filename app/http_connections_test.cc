// The HTTP server's connections (app/http_connections.h): a slow or idle
// client cannot keep the process from stopping, take every file descriptor
// or every worker, or have a request head read without end.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "app/http_server.h"

namespace closeloop::app {
namespace {

int PortOf(const HttpServer& server) {
  const std::string& address = server.address();
  return std::stoi(address.substr(address.rfind(':') + 1));
}

sockaddr_in Loopback(int port) {
  return {.sin_family = AF_INET,
          .sin_port = htons(static_cast<uint16_t>(port)),
          .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
}

// Sends `request` on a new connection to the server and returns all it
// answers until it closes the connection (or 3 s pass).
std::string Exchange(const HttpServer& server, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  const timeval wait{.tv_sec = 3, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  const sockaddr_in to = Loopback(PortOf(server));
  std::string answer;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, n);
  }
  close(fd);
  return answer;
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// No endpoint reads a body, and httplib reads none of a GET: one announced
// was left on the connection and read as its next request (one request
// smuggled in another's body, past a proxy that saw one). It is refused
// unread now and the connection closed, whatever follows on it.
TEST(HttpEndpoints, ABodyIsRefusedUnreadAndItsConnectionClosed) {
  SnapshotBox box;
  box.Publish(std::make_shared<ServiceSnapshot>(ServiceSnapshot{.ready = true}));
  auto server = HttpServer::Start("127.0.0.1:0", box, {.max_request_bytes = 1024});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string smuggled = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string get_with_body =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled.size()) +
      "\r\n\r\n" + smuggled;
  std::string answer = Exchange(**server, get_with_body);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_EQ(Count(answer, "HTTP/1.1 "), 1u) << answer;
  answer =
      Exchange(**server, "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                             std::to_string(smuggled.size()) + "\r\n" + smuggled + "\r\n0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer;
  EXPECT_EQ(Count(answer, "HTTP/1.1 "), 1u) << answer;
  // Beyond http.max_request_bytes: 413, whatever the method.
  answer = Exchange(**server, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                                  std::string(5000, 'x'));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413")) << answer;
  EXPECT_EQ(Count(answer, "HTTP/1.1 "), 1u) << answer;
  answer = Exchange(**server, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                  std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 405")) << answer;
  EXPECT_EQ(Count(answer, "HTTP/1.1 "), 1u) << answer;
  // Without a body, a GET keeps its connection for the next request.
  answer = Exchange(**server, std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") +
                                  "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(Count(answer, "HTTP/1.1 200"), 2u) << answer;
}

// A POST announcing no body has none (RFC 9112 6.3), as curl -X POST sends
// it: 405 at once, not a 400 after httplib waited for a body until its read
// timeout (5 s; Exchange waits 3). Another path gets 404 the same way.
TEST(HttpEndpoints, AMethodNoEndpointTakesIsRefusedAtOnce) {
  SnapshotBox box;
  box.Publish(std::make_shared<ServiceSnapshot>(ServiceSnapshot{.ready = true}));
  auto server = HttpServer::Start("127.0.0.1:0", box, {});
  ASSERT_TRUE(server.ok()) << server.status();
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    const std::string answer =
        Exchange(**server, std::string(method) +
                               " /v1/report HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 405")) << method << ": " << answer;
    EXPECT_NE(answer.find("Allow: GET, HEAD"), std::string::npos) << answer;
  }
  const std::string other =
      Exchange(**server, "POST /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(other.starts_with("HTTP/1.1 404")) << other;
}

// The line and headers get kMaxRequestHeadBytes, not that plus the largest
// body: 100 KiB of headers (each line under httplib's 8 KiB) is refused.
TEST(HttpEndpoints, TheHeadBudgetIsTheHeadsAlone) {
  SnapshotBox box;
  box.Publish(std::make_shared<ServiceSnapshot>(ServiceSnapshot{.ready = true}));
  auto server = HttpServer::Start("127.0.0.1:0", box, {});
  ASSERT_TRUE(server.ok()) << server.status();
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  for (int i = 0; i < 15; ++i)
    request += "X-" + std::to_string(i) + ": " + std::string(7000, 'v') + "\r\n";
  const std::string answer = Exchange(**server, request + "\r\n");
  EXPECT_FALSE(answer.starts_with("HTTP/1.1 200")) << answer;
  // Under the budget it is served.
  std::string small = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  for (int i = 0; i < 8; ++i)
    small += "X-" + std::to_string(i) + ": " + std::string(7000, 'v') + "\r\n";
  EXPECT_TRUE(Exchange(**server, small + "\r\n").starts_with("HTTP/1.1 200"));
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

}  // namespace
}  // namespace closeloop::app
